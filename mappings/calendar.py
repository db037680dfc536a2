"""The billing calendar: which period each contract bills now, in the MSP's time zone, and when a period is invoiced."""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from mappings.enums import BillingPeriod
from mappings.lines import Line, LineStatus, StoredLine
from mappings.measure import Observation, coverage
from mappings.periods import CALENDAR_KINDS, Period, parse_period_key, period_containing

# One example key per kind, for the message that refuses a --period of the wrong kind.
KEY_FORMS = {
    BillingPeriod.WEEKLY: "2026-W47",
    BillingPeriod.BI_WEEKLY: "2026-11-H1 / 2026-11-H2",
    BillingPeriod.MONTHLY: "2026-11",
    BillingPeriod.QUARTERLY: "2026-Q4",
    BillingPeriod.TWICE_A_YEAR: "2026-S2",
    BillingPeriod.YEARLY: "2026",
    BillingPeriod.ON_DEMAND: "2026-11-01..2026-11-30",
}


# The fallback: a period counts as invoiced once this day of the next month has passed even if no invoice was seen
# (invoices generated outside the PSA, or under another contract name). Late, because the invoices are the signal and
# moving on too early puts the next period's first figure on a contract the period's invoice has not read yet.
DEFAULT_INVOICE_DAY = 10
# Periods shorter than a month cannot take a day of the month as their fallback (a week may end after the 10th and the
# next 10th is weeks away, or before it and count as invoiced at once): they count as invoiced this many days after
# they end. At most 6, so a week is invoiced before the next one ends and a contract always moves on.
DEFAULT_INVOICE_AFTER_DAYS = 3
MAX_INVOICE_AFTER_DAYS = 6
SHORT_KINDS = (BillingPeriod.WEEKLY, BillingPeriod.BI_WEEKLY)

NO_INVOICES: frozenset[date] = frozenset()


class Mode(StrEnum):
    """Arrears: a period's quantity is its final usage, invoiced after it ends. Advance: the running figure."""

    ARREARS = "arrears"
    ADVANCE = "advance"


@dataclass(frozen=True)
class BillingCalendar:
    """How the MSP bills: the mode, the zone its periods are bounded in, and the day a period counts as invoiced.

    The PSA's invoices decide first: a contract's period is invoiced once an invoice of that contract bills it (the
    first days of those periods are `invoiced`, per contract, read once per run). `invoice_day` is the fallback.
    """

    mode: Mode = Mode.ARREARS
    timezone: str = "UTC"
    invoice_day: int = DEFAULT_INVOICE_DAY
    invoice_after_days: int = DEFAULT_INVOICE_AFTER_DAYS

    def today(self, now: datetime) -> date:
        """The MSP's date at `now`: a period ends at the MSP's midnight, not the server's nor UTC's."""
        aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        return aware.astimezone(ZoneInfo(self.timezone)).date()

    def invoice_date(self, period: Period) -> date:
        """The day the period's invoices are generated, by the fallback; the period counts as invoiced after it.

        Weekly and twice-monthly periods: `invoice_after_days` after the period ends (in advance, after it starts,
        within it). Longer ones: the first `invoice_day` on or after the day after the period ends (in arrears), or on
        or after its first day (in advance: the invoice bills the period it opens); a month without that day takes
        its last day.
        """
        if period.kind in SHORT_KINDS:
            if self.mode is Mode.ADVANCE:
                return min(period.start + timedelta(days=self.invoice_after_days), period.end)
            return period.end + timedelta(days=self.invoice_after_days)
        anchor = period.start if self.mode is Mode.ADVANCE else period.end + timedelta(days=1)
        return _day_on_or_after(anchor, self.invoice_day)

    def invoiced(self, period: Period, now: datetime, invoiced: Collection[date] = NO_INVOICES) -> bool:
        """Whether the period counts as invoiced for a contract: an invoice of the contract bills it (`invoiced`
        holds the first days of the periods its invoices bill), or else the fallback day has passed (MSP's zone)."""
        return period.start in invoiced or self.today(now) > self.invoice_date(period)

    def open_period(self, kind: BillingPeriod, now: datetime, invoiced: Collection[date] = NO_INVOICES) -> Period:
        """The period a contract of this kind bills now (`invoiced`: the periods its invoices bill, see `invoiced`).

        In arrears the period just ended stays on the contract until it is invoiced: its final usage is what the
        invoice must read. In advance the contract always carries the current period's running figure.
        """
        current = period_containing(kind, self.today(now))
        if self.mode is Mode.ADVANCE:
            return current
        previous = period_containing(kind, current.start - timedelta(days=1))
        return current if self.invoiced(previous, now, invoiced) else previous

    def start_period(self, kind: BillingPeriod, now: datetime, start_date: date | None = None) -> Period:
        """The period a new contract starts in: the one running now in the MSP's zone (or the one a later
        `start_date` falls in). The sync bills a line with nothing staged from it, and onboarding dates the contract
        from it. In arrears an ended period stays open for its invoice, but a contract new since owes nothing of it:
        dated back into it, that period's invoicing run would bill the customer with the next period's quantity.
        """
        current = period_containing(kind, self.today(now))
        if start_date is not None and start_date > current.end:
            return period_containing(kind, start_date)
        return current

    def awaiting_invoice(self, kind: BillingPeriod, now: datetime) -> Period | None:
        """The ended period whose invoice only the PSA can tell of now (in arrears, before the fallback day), else
        None: then no invoice needs reading to know which period a contract of this kind carries."""
        carried = self.open_period(kind, now)
        return carried if carried.end < self.today(now) else None

    def moved_on(self, period_key: str, now: datetime, invoiced: Collection[date] = NO_INVOICES) -> bool:
        """Whether a period is invoiced and its contract carries a later one: a push now would overwrite the next
        period's quantity, so what it still owes is billed by hand. A key no calendar bounds never moves on."""
        try:
            period = parse_period_key(period_key)
        except ValueError:
            return False
        if period.kind not in CALENDAR_KINDS:
            return False
        open_now = self.open_period(period.kind, now, invoiced)
        return self.invoiced(period, now, invoiced) and period.end < open_now.start

    def partial_coverage(self, observations: Sequence[Observation], period: Period, now: datetime) -> str | None:
        """For a period that has ended, what its observations cover when they miss some of its days, else None.

        A running period is not yet judged: the days still to come will be polled.
        """
        if period.end >= self.today(now):
            return None
        covered = coverage(observations, period, self.timezone)
        return f"partial coverage: {covered.describe()}" if covered.partial else None

    def closed_period(self, kind: BillingPeriod, now: datetime, invoiced: Collection[date] = NO_INVOICES) -> Period:
        """The period before the open one: closed, so a change to it is a correction, never a push."""
        return period_containing(kind, self.open_period(kind, now, invoiced).start - timedelta(days=1))


def _day_on_or_after(anchor: date, day: int) -> date:
    """The first `day` of a month on or after `anchor` (a month too short for it takes its last day)."""
    last = calendar.monthrange(anchor.year, anchor.month)[1]
    candidate = date(anchor.year, anchor.month, min(day, last))
    if candidate >= anchor:
        return candidate
    year, month = (anchor.year + 1, 1) if anchor.month == 12 else (anchor.year, anchor.month + 1)
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Invoiced:
    """What the PSA's invoices say, read once per run: per (PSA customer, contract), names compared ignoring case,
    the first day of every period an invoice of that contract bills."""

    starts: Mapping[tuple[str, str], frozenset[date]] = field(default_factory=dict)

    @staticmethod
    def key(psa_customer: str, contract: str) -> tuple[str, str]:
        return psa_customer.strip().casefold(), contract.strip().casefold()

    def of(self, psa_customer: str, contract: str) -> frozenset[date]:
        return self.starts.get(self.key(psa_customer, contract), NO_INVOICES)


def requested_period(key: str, kinds: set[BillingPeriod], today: date) -> Period:
    """The period a `--period` key names, if it is one the mapped lines bill and has started; ValueError if not."""
    forms = "accepted: " + (
        ", ".join(KEY_FORMS[kind] for kind in KEY_FORMS if kind in kinds) or "none (no line is mapped)"
    )
    try:
        period = parse_period_key(key)
    except ValueError as error:
        raise ValueError(f"{error}; {forms}") from None
    if period.kind not in kinds:
        raise ValueError(f"{key!r} is a {period.kind.value} period, but no mapped line bills such periods; {forms}")
    if period.start > today:
        raise ValueError(f"{key!r} has not started yet (today is {today}); {forms}")
    return period


def coverage_hold(line: Line, existing: StoredLine | None) -> str | None:
    """Why a line of an ended period observed only in part waits for a person, until one has decided on it.

    Held even when the PSA holds the quantity already (the invoice would read it): an approval or a discard of
    this very quantity is the decision, so the same line is not held again on every run.
    """
    partial = line.inputs.get("observations", {}).get("coverage")
    partial = str(partial) if partial else None
    if not partial or existing is None:
        return partial
    decided = existing.approved_quantity == line.quantity or (
        existing.status is LineStatus.DISCARDED and existing.line.quantity == line.quantity
    )
    return None if decided else partial
