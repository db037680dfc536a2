"""Which computed quantities are held for a person's approval."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from mappings.review import ReviewSettings, hold_reason

DEFAULT = ReviewSettings()


@pytest.mark.parametrize(
    ("settings", "quantity", "previous", "approved", "held_because"),
    [
        (DEFAULT, D(10), None, None, None),
        (ReviewSettings(hold_new_lines=True), D(10), None, None, "first line"),
        (DEFAULT, D(15), D(10), None, None),
        (DEFAULT, D(16), D(10), None, "changed +60%"),
        (DEFAULT, D(4), D(10), None, "changed -60%"),
        (DEFAULT, D(0), D(10), None, "dropped to 0 from 10"),
        (ReviewSettings(hold_drop_to_zero=False), D(0), D(10), None, None),
        (DEFAULT, D(3), D(0), None, "rose from 0 to 3"),
        (DEFAULT, D(0), D(0), None, None),
        (DEFAULT, D(40), D(10), D(40), None),
        (DEFAULT, D(41), D(10), D(40), None),
        (DEFAULT, D(61), D(10), D(40), "changed +510%"),
        (DEFAULT, D(0), D(10), D(40), "dropped to 0 from 10"),
        (ReviewSettings(max_change_percent=D(500)), D(40), D(10), None, None),
        (ReviewSettings(max_change_percent=D(500)), D(40), D(0), None, "rose from 0 to 40"),
        # A first line of zero: nothing pushed before backs it, any more than a drop to zero.
        (DEFAULT, D(0), None, None, "first line for this contract and metric is 0"),
        (ReviewSettings(hold_drop_to_zero=False), D(0), None, None, None),
        (DEFAULT, D(0), None, D(0), None),
    ],
)
def test_hold_reason(
    settings: ReviewSettings, quantity: D, previous: D | None, approved: D | None, held_because: str | None
) -> None:
    reason = hold_reason(settings, quantity, previous, approved=approved)
    if held_because is None:
        assert reason is None
    else:
        assert reason is not None and held_because in reason


@pytest.mark.parametrize(
    ("quantity", "unit", "previous", "approved", "held_because"),
    [
        (D(100_000), "GB", None, None, None),
        (D("100000.01"), "GB", None, None, "over review.max_quantity.GB (100000)"),
        (D(5_001), "device", D(5_000), None, "over review.max_quantity.device (5000)"),
        (D(10_001), "user", D(9_000), None, "over review.max_quantity.user (10000)"),
        (D(10_000), "user", D(9_000), None, None),
        # Once a person approved (or pushed) a quantity over the ceiling, the ceiling is crossed: the change rules
        # decide from there, or every sync of a genuinely big customer would be held again.
        (D(150_100), "GB", D(10), D(150_000), None),
        (D(150_100), "GB", D(150_000), None, None),
        # A unit with no ceiling of its own has none.
        (D(10**9), "hour", D(10**9), None, None),
        # Told no unit, the most generous ceiling still holds what no unit would allow.
        (D(10**9), None, D(10), None, "over review.max_quantity (100000"),
    ],
)
def test_a_quantity_over_its_unit_s_ceiling_is_held(
    quantity: D, unit: str | None, previous: D | None, approved: D | None, held_because: str | None
) -> None:
    reason = hold_reason(DEFAULT, quantity, previous, approved=approved, unit=unit)
    if held_because is None:
        assert reason is None
    else:
        assert reason is not None and held_because in reason


def test_ceilings_are_configured_per_unit_and_keep_the_defaults_not_named() -> None:
    settings = ReviewSettings.model_validate({"max_quantity": {"GB": "250000"}})
    assert settings.max_quantity == {"GB": D(250_000), "device": D(5_000), "user": D(10_000)}
    assert hold_reason(settings, D(200_000), None, unit="GB") is None


@pytest.mark.parametrize(
    "bad",
    [
        {"max_quantity": {"GB": "-1"}},
        {"max_quantity": {"GB": "0"}},
        {"max_quantity": {"GB": "NaN"}},
        {"max_quantity": {"GB": "Infinity"}},
        {"max_change_percent": "NaN"},
        {"max_change_percent": "-Infinity"},
    ],
)
def test_review_numbers_must_be_finite_and_in_range(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ReviewSettings.model_validate(bad)


def test_a_unit_is_matched_whatever_its_case() -> None:
    assert ReviewSettings.model_validate({"max_quantity": {"gb": 5}}).max_quantity["GB"] == D(5)
