"""Which period an observation counts in is decided by its day in the MSP's zone, the zone periods are bounded in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from mappings.enums import BillingPeriod
from mappings.measure import Observation, counts_in, measure
from mappings.periods import period_containing

# Monday 30 November to Sunday 6 December 2026, and the week before it.
WEEK_49 = period_containing(BillingPeriod.WEEKLY, date(2026, 12, 2))
WEEK_48 = period_containing(BillingPeriod.WEEKLY, date(2026, 11, 25))


def _seen(at: datetime, quantity: str) -> Observation:
    return Observation(
        source="axcient",
        vendor_customer="Contoso",
        metric="axcient_gb",
        period_key="2026-11",
        quantity=Decimal(quantity),
        unit="GB",
        observed_at=at,
        complete=True,
        inputs={},
    )


def test_the_weeks_are_the_ones_the_test_means() -> None:
    assert WEEK_49.start == date(2026, 11, 30)
    assert WEEK_48.end == date(2026, 11, 29)


def test_a_poll_at_noon_in_kiritimati_on_monday_counts_in_mondays_week_not_in_utcs_sunday() -> None:
    # 22:00 UTC on Sunday 29 November is 12:00 on Monday 30 November in Kiritimati (UTC+14).
    poll = _seen(datetime(2026, 11, 29, 22, 0, tzinfo=UTC), "40")
    assert counts_in(poll, WEEK_49, "Pacific/Kiritimati")
    assert not counts_in(poll, WEEK_48, "Pacific/Kiritimati")
    assert counts_in(poll, WEEK_48, "UTC")
    assert not counts_in(poll, WEEK_49, "UTC")


def test_the_weeks_measure_takes_the_polls_of_its_own_days_in_the_msps_zone() -> None:
    polls = [
        _seen(datetime(2026, 11, 29, 22, 0, tzinfo=UTC), "40"),  # Monday in Kiritimati
        _seen(datetime(2026, 11, 29, 8, 0, tzinfo=UTC), "90"),  # Sunday in Kiritimati: the week before
    ]
    for how in ("peak", "last", "average"):
        measured = measure(how, polls, WEEK_49, "Pacific/Kiritimati")
        assert measured is not None
        assert measured.quantity == Decimal(40), how
    assert measure("peak", polls, WEEK_49, "UTC") is None
