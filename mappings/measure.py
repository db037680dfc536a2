"""Which observations a billing period counts and the quantity they measure: pure functions over observation history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mappings.periods import Period

RULES = {
    "peak": "peak of the period's complete observations",
    "last": "last of the period's complete observations",
    "average": "average of the period's complete observations",
}


@dataclass(frozen=True)
class Observation:
    """One measured quantity for one vendor customer, as a source saw it at `observed_at`."""

    source: str
    vendor_customer: str
    metric: str
    period_key: str
    quantity: Decimal
    unit: str
    observed_at: datetime
    complete: bool
    inputs: dict[str, Any]
    product: str = ""
    fetch_id: int | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class Measured:
    """The quantity a period bills and what explains it."""

    quantity: Decimal
    explanation: dict[str, Any]


def month_bounds(period_key: str) -> tuple[date, date] | None:
    """First and last day of a `YYYY-MM` vendor period, or None for any other key."""
    try:
        first = datetime.strptime(period_key, "%Y-%m").date()
    except ValueError:
        return None
    following = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    return first, following - timedelta(days=1)


def vendor_period_overlaps(period_key: str, period: Period) -> bool:
    """Whether a vendor period (a month `YYYY-MM`) touches the billing period; any other key is taken to touch it."""
    month = month_bounds(period_key)
    return month is None or period.overlaps(*month)


def counts_in(observation: Observation, period: Period, timezone: str = "UTC") -> bool:
    """Whether an observation belongs to the billing period, its day taken in the MSP's zone (the periods' own)."""
    month = month_bounds(observation.period_key)
    # A poll at noon in Kiritimati is the day before in UTC: a week bounded in the MSP's zone must date it there.
    seen_on = observation.observed_at.astimezone(ZoneInfo(timezone)).date()
    if month is None:
        return period.contains(seen_on)
    if not period.overlaps(*month):
        return False
    # A billing period shorter than the vendor's month takes only what was observed inside it.
    whole_month_inside = period.start <= month[0] and month[1] <= period.end
    return whole_month_inside or period.contains(seen_on)


def peak(observations: Iterable[Observation], period: Period, timezone: str = "UTC") -> Measured | None:
    """The period's quantity: the peak of its complete observations, or None when nothing complete was observed.

    Vendors bill the highest usage seen in their month, so several polls in a month bill their maximum; a quarterly
    or yearly line bills the highest monthly peak inside it.
    """
    counted = [o for o in observations if o.complete and counts_in(o, period, timezone)]
    # Observations recorded before sources' numbers were guarded may hold a NaN (comparing it raises) or a negative
    # (a credit): never billable, and one must not stop every later sync.
    candidates = [o for o in counted if o.quantity.is_finite() and o.quantity >= 0]
    if not candidates:
        return None
    top = max(candidates, key=lambda o: (o.quantity, o.observed_at))
    refused = len(counted) - len(candidates)
    return Measured(
        top.quantity,
        {
            **({"observations_refused": refused} if refused else {}),
            "peak_observed_at": top.observed_at.isoformat(),
            "peak_vendor_period": top.period_key,
            "observations_considered": len(candidates),
            "fetch_id": top.fetch_id,
            "explanation": top.inputs.get("metric", {}),
        },
    )


def measure(how: str, observations: Iterable[Observation], period: Period, timezone: str = "UTC") -> Measured | None:
    """The period's quantity by the line's measure: peak (what vendors bill), last, or average of complete ones."""
    if how == "peak":
        return peak(observations, period, timezone)
    counted = [o for o in observations if o.complete and counts_in(o, period, timezone) and o.quantity.is_finite()]
    counted = sorted((o for o in counted if o.quantity >= 0), key=lambda o: o.observed_at)
    if not counted:
        return None
    quantity = counted[-1].quantity if how == "last" else sum((o.quantity for o in counted), Decimal(0)) / len(counted)
    return Measured(
        quantity,
        {
            "measure": how,
            "last_observed_at": counted[-1].observed_at.isoformat(),
            "observations_considered": len(counted),
            "fetch_id": counted[-1].fetch_id,
            "explanation": counted[-1].inputs.get("metric", {}),
        },
    )


@dataclass(frozen=True)
class Coverage:
    """How many days of a billing period the observations speak for."""

    observed: int
    days: int

    @property
    def partial(self) -> bool:
        return self.observed < self.days

    def describe(self) -> str:
        return f"observed {self.observed} of {self.days} days"


def coverage(observations: Iterable[Observation], period: Period, timezone: str) -> Coverage:
    """The days of the period the complete observations cover, each day in the MSP's zone.

    A day never covered (the connector installed mid-month, an outage over the month's end) may have held a higher
    usage than any seen: the line must say so rather than pass for the whole period.
    """
    zone = ZoneInfo(timezone)
    covered: set[date] = set()
    for observation in observations:
        if not (observation.complete and counts_in(observation, period, timezone)):
            continue
        seen = observation.observed_at.astimezone(zone).date()
        month = month_bounds(observation.period_key)
        # In the MSP's zone, the one a snapshot's month is keyed in: a snapshot late on the 30th there is November's
        # own, not a row of November seen after it ended.
        if month is not None and seen > month[1]:
            # A vendor row of a month seen after that month ended is the vendor's own account of all of it (Altaro's
            # report keeps past months); a snapshot (a portal without history) speaks only for the day it was taken.
            first, last = max(month[0], period.start), min(month[1], period.end)
            covered.update(first + timedelta(days=n) for n in range((last - first).days + 1))
        elif period.contains(seen):
            covered.add(seen)
    return Coverage(len(covered), (period.end - period.start).days + 1)
