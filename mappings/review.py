"""The review step: which computed lines are surprising enough that a person must approve them before they push."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mappings.enums import Unit

# Far above what one customer's line plausibly bills, low enough that a unit slip (MB counted as GB, a size in
# bytes, every tenant's users under one customer) lands past it: such a line waits for a person instead of an invoice.
DEFAULT_MAX_QUANTITY: dict[str, Decimal] = {
    Unit.GB: Decimal(100_000),
    Unit.DEVICE: Decimal(5_000),
    Unit.USER: Decimal(10_000),
}

Ceiling = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class ReviewSettings(BaseModel):
    """When a line is held for approval instead of pushed (`[review]` in the TOML file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_change_percent: Decimal = Field(
        default=Decimal(50),
        ge=0,
        allow_inf_nan=False,
        description="Hold a line whose quantity moved more than this against the last push",
    )
    hold_new_lines: bool = Field(default=False, description="Hold the first line ever computed for a contract")
    hold_drop_to_zero: bool = Field(
        default=True,
        description="Hold a quantity of zero that no earlier push backs: a fall to zero, or a first line of zero",
    )
    max_quantity: dict[str, Ceiling] = Field(
        default_factory=lambda: dict(DEFAULT_MAX_QUANTITY),
        description="Per unit (GB, device, user): hold a line whose quantity first goes over this",
    )

    @field_validator("max_quantity")
    @classmethod
    def _over_the_defaults(cls, given: dict[str, Decimal]) -> dict[str, Decimal]:
        # Naming one unit's ceiling must not drop the others'; a known unit is matched whatever its case.
        known = {unit.casefold(): unit for unit in DEFAULT_MAX_QUANTITY}
        return {**DEFAULT_MAX_QUANTITY, **{known.get(unit.casefold(), unit): value for unit, value in given.items()}}

    def ceiling(self, unit: str | None) -> Decimal | None:
        """The most a line of `unit` may bill unseen; told no unit, the most generous ceiling of all."""
        if unit is None:
            return max(self.max_quantity.values(), default=None)
        return self.max_quantity.get(unit)


def hold_reason(
    settings: ReviewSettings,
    quantity: Decimal,
    previous: Decimal | None,
    *,
    approved: Decimal | None = None,
    unit: str | None = None,
) -> str | None:
    """Why this quantity needs a person's approval, or None. `previous` is the last quantity pushed for the
    same customer, contract and metric (this period's, else the latest earlier period's); `approved` is the quantity
    a person accepted for this line, a baseline as good as a push: usage that keeps growing a little after the
    approval (backup GB) would otherwise be held again on every sync, and the approved jump never pushed.
    `unit` (the line's) picks the ceiling of `review.max_quantity`."""
    if approved is not None and (approved == quantity or hold_reason(settings, quantity, approved, unit=unit) is None):
        return None
    over = _over_ceiling(settings, quantity, previous, unit)
    if over is not None:
        return over
    if previous is None:
        if quantity == 0 and settings.hold_drop_to_zero:
            # An empty account list or a first poll of a new tenant reads as 0: billed unseen, it bills nothing.
            return "first line for this contract and metric is 0"
        return "first line for this contract and metric" if settings.hold_new_lines else None
    if previous > 0 and quantity == 0:
        return f"dropped to 0 from {previous}" if settings.hold_drop_to_zero else None
    if previous == 0:
        # Any rise from zero is an unbounded change, over every max_change_percent.
        return f"rose from 0 to {quantity}" if quantity > 0 else None
    change = (quantity - previous) / previous * 100
    if abs(change) > settings.max_change_percent:
        return f"changed {change:+.0f}% ({previous} -> {quantity}), over review.max_change_percent"
    return None


def _over_ceiling(
    settings: ReviewSettings, quantity: Decimal, previous: Decimal | None, unit: str | None
) -> str | None:
    """Held when the quantity first crosses its unit's ceiling; a baseline already over it was seen by a person."""
    ceiling = settings.ceiling(unit)
    if ceiling is None or quantity <= ceiling or (previous is not None and previous > ceiling):
        return None
    if unit is None:
        return f"{quantity} is over review.max_quantity ({ceiling}, the largest of any unit): implausible, check it"
    return f"{quantity} {unit} is over review.max_quantity.{unit} ({ceiling}): implausible, check it"
