"""Printing results for people (rich tables) and for machines (JSON on stdout)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector.core.errors import ParameterError
from connector.core.files import write_private
from connector.core.redact import redact

# No emoji codes: a name such as ":smile: Ltd" prints as written, and printing never loads rich's emoji table (a
# lazy import that fails where memory has run out, so the message saying so could not be printed).
stdout = Console(highlight=False, soft_wrap=True, emoji=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
# Piped into a file or a CI log, rich would assume 80 columns and wrap every table cell; a log has room.
if not stdout.is_terminal and "COLUMNS" not in os.environ:
    stdout.width = 160


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # A string keeps the exact digits ("3.50", "600"): a JSON number is a float to most readers (3.5, 0.13000001).
        return format(value, "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def plain_number(value: Decimal | None) -> str:
    """A quantity as people write it: 600, not 600.0 or 6E+2."""
    return "" if value is None else format(value.normalize(), "f")


def to_json(data: Any) -> str:
    return redact(json.dumps(data, indent=2, default=_plain, ensure_ascii=False))


def print_json(data: Any) -> None:
    """JSON for machines on stdout, nothing else on that stream."""
    print(to_json(data))


def write_file(path: Path, text: str, option: str) -> None:
    """What a command was asked to put in a file (`--output`, `--report`): written whole, owner-only, never through a
    symbolic link; a file that cannot be written is an error naming the option."""
    try:
        write_private(path, text)
    except OSError as error:
        raise ParameterError(f"{option} {path}: cannot write: {error.strerror or error}", param=option) from None


def print_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Sequence[str] = ()
) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        # Text, not markup: vendor names and messages such as "[altaro] is not enabled" must print as they are.
        table.add_row(*(Text(redact("" if cell is None else str(cell))) for cell in row))
    stdout.print(table)
