"""The fallback invoice date of every period kind: a day of the month for a month or longer, days after the end for
weekly and twice-monthly periods, so no period counts as invoiced the moment it ends; judged in the MSP's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.core.errors import ConfigError
from connector.wiring import settings_from_data
from mappings.calendar import BillingCalendar, Mode
from mappings.enums import BillingPeriod
from mappings.periods import on_demand_period, parse_period_key, period_containing


@pytest.mark.parametrize(
    ("key", "invoice_day", "after_days", "expected"),
    [
        ("2026-11", 10, 3, date(2026, 12, 10)),
        ("2026-01", 31, 3, date(2026, 2, 28)),  # February has no 31st: its last day
        ("2026-Q4", 10, 3, date(2027, 1, 10)),
        ("2026-Q3", 5, 3, date(2026, 10, 5)),
        ("2026-S1", 10, 3, date(2026, 7, 10)),
        ("2026", 10, 3, date(2027, 1, 10)),
        # Shorter than a month: days after the last day, whatever invoice_day says.
        ("2026-W48", 10, 3, date(2026, 12, 2)),  # Monday 23 to Sunday 29 November
        ("2026-W48", 1, 0, date(2026, 11, 29)),
        ("2026-11-H1", 10, 3, date(2026, 11, 18)),
        ("2026-11-H2", 10, 6, date(2026, 12, 6)),
        ("2026-W53", 10, 3, date(2027, 1, 6)),  # ISO week 53 of 2026 ends on Sunday 3 January 2027
    ],
)
def test_the_fallback_date_of_each_period_kind_in_arrears(
    key: str, invoice_day: int, after_days: int, expected: date
) -> None:
    calendar = BillingCalendar(invoice_day=invoice_day, invoice_after_days=after_days)
    assert calendar.invoice_date(parse_period_key(key)) == expected


def test_an_on_demand_range_ending_mid_month_waits_for_the_next_invoice_day() -> None:
    period = on_demand_period(date(2026, 11, 1), date(2026, 11, 20))
    assert BillingCalendar(invoice_day=10).invoice_date(period) == date(2026, 12, 10)
    assert BillingCalendar(invoice_day=25).invoice_date(period) == date(2026, 11, 25)


@pytest.mark.parametrize(
    ("key", "after_days", "expected"),
    [
        ("2026-W49", 3, date(2026, 12, 3)),  # Monday 30 November + 3
        ("2026-W49", 6, date(2026, 12, 6)),  # its last day at most: the invoice bills the period it opens
        ("2026-12-H2", 3, date(2026, 12, 19)),
        ("2026-Q4", 3, date(2026, 10, 10)),
    ],
)
def test_the_fallback_date_in_advance_falls_inside_the_period(key: str, after_days: int, expected: date) -> None:
    calendar = BillingCalendar(mode=Mode.ADVANCE, invoice_after_days=after_days)
    period = parse_period_key(key)
    assert calendar.invoice_date(period) == expected and period.contains(expected)


@pytest.mark.parametrize(
    ("zone", "last_open", "first_moved"),
    [
        # W48 ends on Sunday 29 November; with 3 days it counts as invoiced from Thursday 3 December, local midnight.
        ("UTC", datetime(2026, 12, 2, 23, 59, tzinfo=UTC), datetime(2026, 12, 3, 0, 0, tzinfo=UTC)),
        # UTC+14: 3 December begins at 10:00 UTC on the 2nd.
        ("Pacific/Kiritimati", datetime(2026, 12, 2, 9, 59, tzinfo=UTC), datetime(2026, 12, 2, 10, 0, tzinfo=UTC)),
        # UTC-10: 3 December begins at 10:00 UTC on the 3rd.
        ("America/Adak", datetime(2026, 12, 3, 9, 59, tzinfo=UTC), datetime(2026, 12, 3, 10, 0, tzinfo=UTC)),
    ],
)
def test_a_weekly_contract_keeps_its_ended_week_until_the_days_after_pass_in_the_msp_zone(
    zone: str, last_open: datetime, first_moved: datetime
) -> None:
    calendar = BillingCalendar(timezone=zone, invoice_after_days=3)
    week_48 = parse_period_key("2026-W48")
    assert calendar.open_period(BillingPeriod.WEEKLY, last_open).key == "2026-W48"
    assert not calendar.invoiced(week_48, last_open)
    assert calendar.awaiting_invoice(BillingPeriod.WEEKLY, last_open) == week_48
    assert calendar.open_period(BillingPeriod.WEEKLY, first_moved).key == "2026-W49"
    assert calendar.invoiced(week_48, first_moved)
    assert calendar.awaiting_invoice(BillingPeriod.WEEKLY, first_moved) is None


@pytest.mark.parametrize(
    ("zone", "last_open", "first_moved"),
    [
        # H2 of November ends on the 30th; with 3 days it moves on at local midnight starting 4 December.
        ("Pacific/Kiritimati", datetime(2026, 12, 3, 9, 59, tzinfo=UTC), datetime(2026, 12, 3, 10, 0, tzinfo=UTC)),
        ("America/Adak", datetime(2026, 12, 4, 9, 59, tzinfo=UTC), datetime(2026, 12, 4, 10, 0, tzinfo=UTC)),
    ],
)
def test_a_twice_monthly_contract_is_not_invoiced_the_day_its_half_ends(
    zone: str, last_open: datetime, first_moved: datetime
) -> None:
    calendar = BillingCalendar(timezone=zone, invoice_after_days=3)
    ended = datetime(2026, 12, 1, 12, tzinfo=UTC)  # the 1st everywhere on earth: November's H2 has just ended
    assert calendar.open_period(BillingPeriod.BI_WEEKLY, ended).key == "2026-11-H2"
    assert calendar.open_period(BillingPeriod.BI_WEEKLY, last_open).key == "2026-11-H2"
    assert calendar.open_period(BillingPeriod.BI_WEEKLY, first_moved).key == "2026-12-H1"


def test_a_quarter_is_not_invoiced_on_the_day_it_ends_but_on_the_invoice_day_after() -> None:
    calendar = BillingCalendar(timezone="Pacific/Kiritimati", invoice_day=10)
    # 1 January 2027 in Kiritimati: Q4 has ended and waits for its invoice.
    assert calendar.open_period(BillingPeriod.QUARTERLY, datetime(2026, 12, 31, 12, tzinfo=UTC)).key == "2026-Q4"
    # 10 January there still; 11 January from 10:00 UTC on the 10th.
    assert calendar.open_period(BillingPeriod.QUARTERLY, datetime(2027, 1, 10, 9, 59, tzinfo=UTC)).key == "2026-Q4"
    assert calendar.open_period(BillingPeriod.QUARTERLY, datetime(2027, 1, 10, 10, 0, tzinfo=UTC)).key == "2027-Q1"


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    kind=st.sampled_from([BillingPeriod.WEEKLY, BillingPeriod.BI_WEEKLY]),
    after_days=st.integers(min_value=0, max_value=6),
)
def test_a_short_period_always_counts_as_invoiced_after_it_ends_and_before_the_next_one_does(
    day: date, kind: BillingPeriod, after_days: int
) -> None:
    """Never invoiced the day it ends, and invoiced before the next period ends: a contract always moves on."""
    calendar = BillingCalendar(invoice_after_days=after_days)
    period = period_containing(kind, day)
    following = period_containing(kind, period.end + timedelta(days=1))
    assert period.end <= calendar.invoice_date(period) < following.end


@pytest.mark.parametrize("after_days", [-1, 7])
def test_invoice_after_days_out_of_range_is_refused(after_days: int) -> None:
    with pytest.raises(ConfigError, match="invoice_after_days"):
        settings_from_data({"billing": {"invoice_after_days": after_days}})


def test_invoice_after_days_reaches_the_calendar() -> None:
    settings = settings_from_data({"billing": {"invoice_after_days": 5}})
    assert settings.billing.calendar().invoice_after_days == 5
