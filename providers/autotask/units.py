"""How a line's measured quantity becomes the whole units Autotask bills: an adjustment's change is a whole number,
so a quantity in GB is rounded once, by the line's `round` option, before it is priced (the amount is what Autotask
invoices), and `explain` says how."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

ROUNDINGS = {"up": ROUND_CEILING, "nearest": ROUND_HALF_UP}


def billed_units(options: Mapping[str, Any], quantity: Decimal) -> tuple[Decimal, str]:
    """The whole units a measured quantity bills ("up", the default, or "nearest": half a unit goes up), and the
    words `explain` shows for it."""
    how = str(options.get("round") or "up")
    units = quantity.to_integral_value(ROUNDINGS.get(how, ROUND_CEILING))
    if units == quantity:
        return units, f"{units} whole units, as measured"
    return units, f"{quantity} measured, rounded {how} to {units} whole units (Autotask bills whole units)"
