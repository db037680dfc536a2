"""The note the connector keeps in the PSA beside a quantity: which line item, period and quantity it came from.

Every PSA keeps it where the PSA returns it with the quantity (a custom value of the contract, a custom field of the
agreement addition), written with every push and read back before the next one: it is what lets a rerun after a crash
recognise its own earlier write, and an operator see in the PSA why a contract holds its quantity.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from mappings.lines import Line, LineIdentity


def record_text(line: Line) -> str:
    """The record of a pushed line."""
    # JSON, not a delimited string: customer and contract names may hold any character.
    data = {"period": line.period_key, "quantity": str(line.quantity), "line": list(line.identity)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def parse_record(text: str | None) -> tuple[LineIdentity, Decimal] | None:
    """The line and quantity a record names, or None when it is empty or holds something the connector did not write."""
    if not text:
        return None
    try:
        data = json.loads(text)
        parts = [str(part) for part in data["line"]]
        if len(parts) != 4 or str(data["period"]) != parts[2]:
            return None
        return LineIdentity(*parts), Decimal(str(data["quantity"]))
    except (ValueError, KeyError, TypeError, InvalidOperation):
        return None


def is_later(period_key: str, than: str) -> bool:
    """True when `period_key` is a later period of the same kind as `than` (two months, two quarters, not a mix)."""
    return _shape(period_key) == _shape(than) and period_key > than


def _shape(period_key: str) -> str:
    # "2026-11" -> "9999-99", "2026-Q4" -> "9999-Q9": keys compare as text only when their shapes agree.
    return "".join("9" if c.isdigit() else c for c in period_key)
