"""Billing periods: which period a day falls in, its stable key, and the way back from a key to the period."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from mappings.enums import BillingPeriod

# Periods a calendar alone defines; the other two need a contract or a caller to say where they start and end.
CALENDAR_KINDS = (
    BillingPeriod.WEEKLY,
    BillingPeriod.BI_WEEKLY,
    BillingPeriod.MONTHLY,
    BillingPeriod.QUARTERLY,
    BillingPeriod.TWICE_A_YEAR,
    BillingPeriod.YEARLY,
)

# [0-9], not \d: \d also matches other scripts' digits, which would make two spellings of one key.
_KEY_PATTERNS: tuple[tuple[BillingPeriod, re.Pattern[str]], ...] = (
    (BillingPeriod.YEARLY, re.compile(r"(?P<year>[0-9]{4})")),
    (BillingPeriod.MONTHLY, re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})")),
    (BillingPeriod.BI_WEEKLY, re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-H(?P<half>[12])")),
    (BillingPeriod.WEEKLY, re.compile(r"(?P<year>[0-9]{4})-W(?P<week>[0-9]{2})")),
    (BillingPeriod.QUARTERLY, re.compile(r"(?P<year>[0-9]{4})-Q(?P<quarter>[1-4])")),
    (BillingPeriod.TWICE_A_YEAR, re.compile(r"(?P<year>[0-9]{4})-S(?P<half>[12])")),
    (
        BillingPeriod.ON_DEMAND,
        re.compile(r"(?P<first>[0-9]{4}-[0-9]{2}-[0-9]{2})\.\.(?P<last>[0-9]{4}-[0-9]{2}-[0-9]{2})"),
    ),
)

# Kinds made of whole months: the months in one period, and its key from the year and its number (n) in the year.
_MONTH_RUNS: dict[BillingPeriod, tuple[int, str]] = {
    BillingPeriod.MONTHLY: (1, "{year:04d}-{n:02d}"),
    BillingPeriod.QUARTERLY: (3, "{year:04d}-Q{n}"),
    BillingPeriod.TWICE_A_YEAR: (6, "{year:04d}-S{n}"),
    BillingPeriod.YEARLY: (12, "{year:04d}"),
}


@dataclass(frozen=True, slots=True)
class Period:
    """One billing period: both ends are billed days (end inclusive)."""

    kind: BillingPeriod
    key: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period {self.key} ends ({self.end}) before it starts ({self.start})")

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def overlaps(self, first_day: date, last_day: date) -> bool:
        """Whether any day of [first_day, last_day] is in this period."""
        return self.start <= last_day and first_day <= self.end


def _last_day_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def on_demand_period(first_day: date, last_day: date) -> Period:
    """The OnDemand period the caller asks for: exactly [first_day, last_day]."""
    key = f"{first_day.isoformat()}..{last_day.isoformat()}"
    return Period(BillingPeriod.ON_DEMAND, key, first_day, last_day)


def period_containing(kind: BillingPeriod, day: date) -> Period:
    """The period of `kind` that `day` falls in; only calendar kinds have one (CALENDAR_KINDS)."""
    kind = BillingPeriod(kind)
    year, month = day.year, day.month
    if kind in _MONTH_RUNS:
        months, key = _MONTH_RUNS[kind]
        n = (month - 1) // months + 1
        first = months * (n - 1) + 1
        start, end = date(year, first, 1), _last_day_of_month(year, first + months - 1)
        return Period(kind, key.format(year=year, n=n), start, end)
    if kind is BillingPeriod.BI_WEEKLY:
        # Twice a month (the UI's "Bi-monthly"): the 1st-15th, then the 16th to the month's last day.
        if day.day <= 15:
            return Period(kind, f"{year:04d}-{month:02d}-H1", date(year, month, 1), date(year, month, 15))
        last_day = _last_day_of_month(year, month)
        return Period(kind, f"{year:04d}-{month:02d}-H2", date(year, month, 16), last_day)
    if kind is BillingPeriod.WEEKLY:
        # The key uses the ISO year, not the calendar year: 2027-01-01 is a Friday of 2026-W53.
        iso = day.isocalendar()
        start = day - timedelta(days=iso.weekday - 1)
        try:
            end = start + timedelta(days=6)
        except OverflowError:
            raise ValueError(f"the week of {day} ends after the last representable date") from None
        return Period(kind, f"{iso.year:04d}-W{iso.week:02d}", start, end)
    # OnDemand and EndOfContractDuration: guessing a range from one day would bill a period nobody asked for.
    raise ValueError(
        f"{kind.value} has no calendar periods: ask for a range with on_demand_period(first_day, last_day) "
        "or a key 'YYYY-MM-DD..YYYY-MM-DD'"
    )


def parse_period_key(key: str) -> Period:
    for kind, pattern in _KEY_PATTERNS:
        match = pattern.fullmatch(key)
        if match is None:
            continue
        try:
            period = _period_from_match(kind, match)
        except (ValueError, OverflowError) as error:
            raise ValueError(f"invalid period key {key!r}: {error}") from None
        # Keys are identities in the store: a second spelling of one period would bill it twice.
        if period.key != key:
            raise ValueError(f"invalid period key {key!r}: the canonical key is {period.key!r}")
        return period
    raise ValueError(
        f"unrecognised period key {key!r}: expected one of 2026, 2026-11, 2026-11-H1, 2026-W47, 2026-Q4, "
        "2026-S2 or 2026-11-01..2026-11-30"
    )


def _period_from_match(kind: BillingPeriod, match: re.Match[str]) -> Period:
    parts = match.groupdict()
    if kind is BillingPeriod.ON_DEMAND:
        first_day, last_day = date.fromisoformat(parts["first"]), date.fromisoformat(parts["last"])
        if last_day < first_day:
            raise ValueError(f"the range ends ({last_day}) before it starts ({first_day})")
        return on_demand_period(first_day, last_day)
    year = int(parts["year"])
    if kind is BillingPeriod.WEEKLY:
        # fromisocalendar refuses week 53 in a 52-week ISO year.
        return period_containing(kind, date.fromisocalendar(year, int(parts["week"]), 1))
    if kind is BillingPeriod.BI_WEEKLY:
        return period_containing(kind, date(year, int(parts["month"]), 1 if parts["half"] == "1" else 16))
    # A run of whole months, numbered in its year by its month, quarter or half (a year is its own first).
    n = int(parts.get("month") or parts.get("quarter") or parts.get("half") or 1)
    return period_containing(kind, date(year, _MONTH_RUNS[kind][0] * (n - 1) + 1, 1))
