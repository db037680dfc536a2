"""Billing periods: keys, bounds, month ends, leap years, ISO week-years, tiling and round trips."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.enums import BillingPeriod
from mappings.periods import (
    CALENDAR_KINDS,
    Period,
    on_demand_period,
    parse_period_key,
    period_containing,
)

W = BillingPeriod.WEEKLY
H = BillingPeriod.BI_WEEKLY
M = BillingPeriod.MONTHLY
Q = BillingPeriod.QUARTERLY
S = BillingPeriod.TWICE_A_YEAR
Y = BillingPeriod.YEARLY
EOC = BillingPeriod.END_OF_CONTRACT_DURATION
OD = BillingPeriod.ON_DEMAND


@pytest.mark.parametrize(
    ("kind", "day", "key", "start", "end"),
    [
        # Monthly: month ends and February in leap and common years.
        (M, date(2026, 11, 17), "2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        (M, date(2026, 1, 31), "2026-01", date(2026, 1, 1), date(2026, 1, 31)),
        (M, date(2026, 2, 28), "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        (M, date(2028, 2, 28), "2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        (M, date(2028, 2, 29), "2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        (M, date(2100, 2, 15), "2100-02", date(2100, 2, 1), date(2100, 2, 28)),  # not a leap year
        (M, date(2000, 2, 15), "2000-02", date(2000, 2, 1), date(2000, 2, 29)),  # a leap year
        (M, date(2026, 12, 31), "2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        # BiWeekly = twice a month: 1st-15th and 16th-last day.
        (H, date(2026, 11, 1), "2026-11-H1", date(2026, 11, 1), date(2026, 11, 15)),
        (H, date(2026, 11, 15), "2026-11-H1", date(2026, 11, 1), date(2026, 11, 15)),
        (H, date(2026, 11, 16), "2026-11-H2", date(2026, 11, 16), date(2026, 11, 30)),
        (H, date(2026, 12, 31), "2026-12-H2", date(2026, 12, 16), date(2026, 12, 31)),
        (H, date(2026, 2, 28), "2026-02-H2", date(2026, 2, 16), date(2026, 2, 28)),
        (H, date(2028, 2, 29), "2028-02-H2", date(2028, 2, 16), date(2028, 2, 29)),
        (H, date(2028, 2, 16), "2028-02-H2", date(2028, 2, 16), date(2028, 2, 29)),
        # Weekly: ISO weeks, Monday-Sunday, keyed by the ISO year.
        (W, date(2026, 11, 16), "2026-W47", date(2026, 11, 16), date(2026, 11, 22)),
        (W, date(2026, 11, 22), "2026-W47", date(2026, 11, 16), date(2026, 11, 22)),
        (W, date(2027, 1, 1), "2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
        (W, date(2027, 1, 4), "2027-W01", date(2027, 1, 4), date(2027, 1, 10)),
        (W, date(2024, 12, 30), "2025-W01", date(2024, 12, 30), date(2025, 1, 5)),
        (W, date(2021, 1, 3), "2020-W53", date(2020, 12, 28), date(2021, 1, 3)),
        (W, date(2028, 2, 29), "2028-W09", date(2028, 2, 28), date(2028, 3, 5)),
        # Quarterly.
        (Q, date(2026, 1, 1), "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        (Q, date(2026, 6, 30), "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        (Q, date(2026, 8, 15), "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        (Q, date(2026, 12, 31), "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        # Twice a year.
        (S, date(2026, 6, 30), "2026-S1", date(2026, 1, 1), date(2026, 6, 30)),
        (S, date(2026, 7, 1), "2026-S2", date(2026, 7, 1), date(2026, 12, 31)),
        # Yearly: the calendar year, not the ISO year.
        (Y, date(2027, 1, 1), "2027", date(2027, 1, 1), date(2027, 12, 31)),
        (Y, date(2026, 12, 31), "2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_period_containing(kind: BillingPeriod, day: date, key: str, start: date, end: date) -> None:
    period = period_containing(kind, day)
    assert period == Period(kind, key, start, end)
    assert period.contains(day)
    assert parse_period_key(key) == period


def test_on_demand_is_exactly_the_range_asked_for() -> None:
    period = on_demand_period(date(2026, 11, 3), date(2026, 11, 20))
    assert period == Period(OD, "2026-11-03..2026-11-20", date(2026, 11, 3), date(2026, 11, 20))
    assert parse_period_key("2026-11-03..2026-11-20") == period
    # A single day is a valid range.
    assert parse_period_key("2028-02-29..2028-02-29").start == date(2028, 2, 29)


def test_on_demand_has_no_automatic_period() -> None:
    for kind in (OD, EOC):
        with pytest.raises(ValueError, match=kind.value):
            period_containing(kind, date(2026, 11, 3))


@pytest.mark.parametrize(
    "key",
    [
        "",
        "2026-13",
        "2026-00",
        "2026-1",
        "26-11",
        "2026-11-H3",
        "2026-11-H0",
        "2026-H1",
        "2026-W54",
        "2026-W00",
        "2025-W53",  # 2025 has 52 ISO weeks
        "2026-Q0",
        "2026-Q5",
        "2026-S3",
        "0000",
        "2026-11-20..2026-11-01",
        "2026-02-30..2026-03-01",
        "2026-11-1..2026-11-20",
        "Contract",
        "monthly",
        "\uff12\uff10\uff12\uff16",  # full-width digits are not a second spelling of 2026
        "2026 ",
    ],
)
def test_parse_period_key_refuses_nonsense(key: str) -> None:
    with pytest.raises(ValueError, match="period key"):
        parse_period_key(key)


def test_a_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Period(M, "2026-11", date(2026, 11, 30), date(2026, 11, 1))


def test_overlaps_counts_touching_days() -> None:
    november = parse_period_key("2026-11")
    assert november.overlaps(date(2026, 10, 1), date(2026, 11, 1))
    assert november.overlaps(date(2026, 11, 30), date(2027, 1, 1))
    assert not november.overlaps(date(2026, 10, 1), date(2026, 10, 31))
    assert not november.overlaps(date(2026, 12, 1), date(2026, 12, 1))


days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
calendar_kinds = st.sampled_from(CALENDAR_KINDS)


@given(kind=calendar_kinds, day=days)
def test_every_day_is_in_the_period_its_key_names(kind: BillingPeriod, day: date) -> None:
    period = period_containing(kind, day)
    assert period.contains(day)
    assert parse_period_key(period.key) == period
    # The period is the same whichever of its days asks for it.
    assert period_containing(kind, period.start) == period
    assert period_containing(kind, period.end) == period
    # Its neighbours are other periods: the bounds are really the edges.
    assert not period_containing(kind, period.start - timedelta(days=1)).contains(period.start)
    assert not period_containing(kind, period.end + timedelta(days=1)).contains(period.end)


@given(kind=calendar_kinds, day=days)
def test_periods_have_the_right_shape(kind: BillingPeriod, day: date) -> None:
    period = period_containing(kind, day)
    length = (period.end - period.start).days + 1
    if kind is W:
        assert period.start.isoweekday() == 1 and length == 7
        assert period.key == f"{day.isocalendar().year:04d}-W{day.isocalendar().week:02d}"
    elif kind is H:
        assert period.start.day in (1, 16) and 13 <= length <= 16
    else:
        months = {M: 1, Q: 3, S: 6, Y: 12}[kind]
        assert period.start.day == 1 and (period.start.month - 1) % months == 0
        assert (period.end + timedelta(days=1)).day == 1
        assert period.end.month - period.start.month + 1 == months


@given(kind=calendar_kinds, first=days, span=st.integers(min_value=0, max_value=800))
def test_periods_tile_a_range_without_gaps_or_overlaps(kind: BillingPeriod, first: date, span: int) -> None:
    last = first + timedelta(days=span)
    periods = [period_containing(kind, first)]
    while periods[-1].end < last:
        periods.append(period_containing(kind, periods[-1].end + timedelta(days=1)))
    assert periods[0].start <= first <= periods[0].end
    assert periods[-1].start <= last <= periods[-1].end
    for before, after in pairwise(periods):
        assert after.start == before.end + timedelta(days=1)
    assert len({p.key for p in periods}) == len(periods)
    # Each day of the range lies in exactly one period.
    day = first
    while day <= last:
        assert sum(p.contains(day) for p in periods) == 1
        day += timedelta(days=7 if span > 120 else 1)


@given(first=days, span=st.integers(min_value=0, max_value=4000))
def test_on_demand_keys_round_trip(first: date, span: int) -> None:
    period = on_demand_period(first, first + timedelta(days=span))
    assert parse_period_key(period.key) == period
