"""The note the connector keeps on a contract: which period, quantity and line item its Quantity came from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from connector.plan import Identity, PlannedLine


@dataclass(frozen=True)
class LineRecord:
    """Written to a contract custom value after every push; read back before the next one.

    It is what lets a rerun after a crash recognise its own earlier write, and an operator see in Atera why the
    contract holds its quantity.
    """

    period_key: str
    quantity: Decimal
    identity: Identity

    @classmethod
    def of(cls, line: PlannedLine) -> LineRecord:
        return cls(line.period_key, line.quantity, line.identity)

    @property
    def metric(self) -> str:
        return self.identity[3]

    def to_text(self) -> str:
        # JSON, not a delimited string: customer and contract names may hold any character.
        data = {"period": self.period_key, "quantity": str(self.quantity), "line": list(self.identity)}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str | None) -> LineRecord | None:
        """The record in a custom value, or None when it is empty or holds something the connector did not write."""
        if not text:
            return None
        try:
            data = json.loads(text)
            identity = tuple(str(part) for part in data["line"])
            if len(identity) != 4:
                return None
            return cls(
                str(data["period"]),
                Decimal(str(data["quantity"])),
                (identity[0], identity[1], identity[2], identity[3]),
            )
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return None

    def matches(self, other: LineRecord) -> bool:
        # Decimal equality, so "42" and "42.00" are the same quantity.
        return (self.period_key, self.identity) == (
            other.period_key,
            other.identity,
        ) and self.quantity == other.quantity

    def is_later_than(self, period_key: str) -> bool:
        """True when this record is for a later period of the same kind (two months, two quarters, not a mix)."""
        return _shape(self.period_key) == _shape(period_key) and self.period_key > period_key


def _shape(period_key: str) -> str:
    # "2026-11" -> "9999-99", "2026-Q4" -> "9999-Q9": keys compare as text only when their shapes agree.
    return "".join("9" if c.isdigit() else c for c in period_key)
