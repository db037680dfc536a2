"""The period a new contract starts in: the one running in the MSP's zone, never an ended one still to invoice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.calendar import BillingCalendar, Mode
from mappings.enums import BillingPeriod
from mappings.periods import CALENDAR_KINDS

AUCKLAND = BillingCalendar(timezone="Pacific/Auckland")


@pytest.mark.parametrize(
    ("calendar", "kind", "now", "expected"),
    [
        # 7 December in arrears: November stays open for its invoice (day 10), but a new contract owes none of it.
        (BillingCalendar(), BillingPeriod.MONTHLY, datetime(2026, 12, 7, 10, tzinfo=UTC), "2026-12"),
        (BillingCalendar(), BillingPeriod.MONTHLY, datetime(2026, 12, 12, 10, tzinfo=UTC), "2026-12"),
        (BillingCalendar(mode=Mode.ADVANCE), BillingPeriod.MONTHLY, datetime(2026, 12, 7, tzinfo=UTC), "2026-12"),
        (BillingCalendar(), BillingPeriod.QUARTERLY, datetime(2027, 1, 4, tzinfo=UTC), "2027-Q1"),
        (BillingCalendar(), BillingPeriod.WEEKLY, datetime(2026, 12, 1, tzinfo=UTC), "2026-W49"),
        # Already 1 December in Auckland: the MSP's midnight, not UTC's.
        (AUCKLAND, BillingPeriod.MONTHLY, datetime(2026, 11, 30, 12, tzinfo=UTC), "2026-12"),
    ],
)
def test_a_new_contract_starts_in_the_running_period(
    calendar: BillingCalendar, kind: BillingPeriod, now: datetime, expected: str
) -> None:
    assert calendar.start_period(kind, now).key == expected


def test_a_later_start_date_starts_in_its_own_period() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    calendar = BillingCalendar()
    assert calendar.start_period(BillingPeriod.MONTHLY, now, date(2027, 2, 15)).key == "2027-02"
    # A start date already past starts nothing earlier than the running period.
    assert calendar.start_period(BillingPeriod.MONTHLY, now, date(2026, 3, 1)).key == "2026-12"


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(CALENDAR_KINDS),
    st.sampled_from(list(Mode)),
    st.sampled_from(["UTC", "Pacific/Auckland", "America/Los_Angeles"]),
    st.integers(min_value=1, max_value=28),
)
def test_a_new_contract_never_starts_in_an_ended_period(
    now: datetime, kind: BillingPeriod, mode: Mode, zone: str, invoice_day: int
) -> None:
    calendar = BillingCalendar(mode=mode, timezone=zone, invoice_day=invoice_day)
    start = calendar.start_period(kind, now)
    assert start.contains(calendar.today(now))
    # Never before the period the contracts bill now: in arrears that one may be a period that has ended.
    assert start.start >= calendar.open_period(kind, now).start
