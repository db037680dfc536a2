"""Printing results for people (rich tables) and for machines (JSON on stdout)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table

from connector.redact import redact

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Integral quantities print as integers; others keep their exact digits, never float noise.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(data: Any) -> str:
    return redact(json.dumps(data, indent=2, default=_plain, ensure_ascii=False))


def print_json(data: Any) -> None:
    """JSON for machines on stdout, nothing else on that stream."""
    print(to_json(data))


def print_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Sequence[str] = ()
) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        table.add_row(*(redact("" if cell is None else str(cell)) for cell in row))
    stdout.print(table)
