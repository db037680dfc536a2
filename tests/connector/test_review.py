"""Which computed quantities are held for a person's approval."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from connector.review import ReviewSettings, hold_reason

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
