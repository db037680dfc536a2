"""The review step: which computed lines are surprising enough that a person must approve them before they push."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ReviewSettings(BaseModel):
    """When a line is held for approval instead of pushed (`[review]` in the TOML file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_change_percent: Decimal = Field(
        default=Decimal(50), ge=0, description="Hold a line whose quantity moved more than this against the last push"
    )
    hold_new_lines: bool = Field(default=False, description="Hold the first line ever computed for a contract")
    hold_drop_to_zero: bool = Field(
        default=True,
        description="Hold a quantity of zero that no earlier push backs: a fall to zero, or a first line of zero",
    )


def hold_reason(
    settings: ReviewSettings,
    quantity: Decimal,
    previous: Decimal | None,
    *,
    approved: Decimal | None = None,
) -> str | None:
    """Why this quantity needs a person's approval, or None. `previous` is the last quantity pushed for the
    same customer, contract and metric (this period's, else the latest earlier period's); `approved` is the quantity
    a person accepted for this line, a baseline as good as a push: usage that keeps growing a little after the
    approval (backup GB) would otherwise be held again on every sync, and the approved jump never pushed."""
    if approved is not None and (approved == quantity or hold_reason(settings, quantity, approved) is None):
        return None
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
