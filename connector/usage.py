"""What every usage source hands the engine: per-customer quantities for a period, with problems said out loud."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from connector.store import Store
from mappings.customer import Metric
from mappings.measure import Observation


@dataclass
class CustomerUsage:
    """One vendor customer's measured quantities in one period (`period_key`, e.g. the month `2026-11`).

    `quantities` maps (metric, product) to a quantity; product "" means all products or plans together.
    `complete` is False when anything behind the numbers failed: such a customer's lines must not be pushed.
    `inputs` explains each metric (which accounts, which objects) and is stored with the observation.
    """

    source: str
    vendor_customer: str
    period_key: str
    quantities: dict[tuple[Metric, str], Decimal] = field(default_factory=dict)
    complete: bool = True
    problems: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)

    def fail(self, problem: str) -> None:
        """Mark the customer's usage incomplete, keeping the reason for the run report."""
        self.complete = False
        self.problems.append(problem)


@dataclass
class UsageReport:
    """Everything one source saw in one collection. `problems` are source-wide: none of its usage is billable."""

    source: str
    observed_at: datetime
    customers: list[CustomerUsage] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fetch_ids: list[int] = field(default_factory=list)
    from_cache: bool = False

    @property
    def complete(self) -> bool:
        return not self.problems and all(c.complete for c in self.customers)

    def customer(self, vendor_customer: str) -> CustomerUsage | None:
        wanted = vendor_customer.casefold()
        return next((c for c in self.customers if c.vendor_customer.casefold() == wanted), None)

    def customer_periods(self, vendor_customer: str) -> list[CustomerUsage]:
        """Every period of one customer in this report (a report with a Month column may carry several)."""
        wanted = vendor_customer.casefold()
        return [c for c in self.customers if c.vendor_customer.casefold() == wanted]


class UsageSource(Protocol):
    """A vendor adapter the engine polls."""

    name: str

    def collect(self, *, run_id: int | None = None) -> UsageReport: ...


def record_report(store: Store, report: UsageReport, *, run_id: int | None = None) -> None:
    """Store one observation per customer, metric and product, with the inputs that explain it."""
    fetch_id = report.fetch_ids[-1] if report.fetch_ids else None
    store.observations.record(
        [
            Observation(
                source=report.source,
                vendor_customer=usage.vendor_customer,
                metric=metric.value,
                product=product,
                period_key=usage.period_key,
                quantity=quantity,
                unit=metric.unit.value,
                observed_at=report.observed_at,
                complete=usage.complete,
                inputs={"metric": usage.inputs.get(metric.value, {}), "problems": usage.problems},
                fetch_id=fetch_id,
                run_id=run_id,
            )
            for usage in report.customers
            for (metric, product), quantity in usage.quantities.items()
        ]
    )


def peak_observation(
    store: Store, source: str, vendor_customer: str, metric: Metric, period_key: str, product: str = ""
) -> Observation | None:
    """The highest complete observation of a period (vendors bill the period's peak); None when there is none."""
    candidates = [
        o
        for o in store.observations.query(
            source, vendor_customer=vendor_customer, metric=metric.value, period_key=period_key, product=product
        )
        if o.complete
    ]
    return max(candidates, key=lambda o: (o.quantity, o.observed_at), default=None)


def _month_bounds(period_key: str) -> tuple[date, date] | None:
    """First and last day of a `YYYY-MM` observation period, or None for any other key."""
    try:
        first = datetime.strptime(period_key, "%Y-%m").date()
    except ValueError:
        return None
    following = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    return first, following - timedelta(days=1)


def vendor_period_overlaps(period_key: str, start: date, end: date) -> bool:
    """Whether a vendor period (a month `YYYY-MM`) touches [start, end]; any other key is taken to touch it."""
    month = _month_bounds(period_key)
    return month is None or (month[0] <= end and start <= month[1])


def _observation_in(observation: Observation, start: date, end: date) -> bool:
    month = _month_bounds(observation.period_key)
    seen_on = observation.observed_at.date()
    if month is None:
        return start <= seen_on <= end
    if month[1] < start or month[0] > end:
        return False
    # A billing period shorter than the vendor's month takes only what was observed inside it.
    whole_month_inside = start <= month[0] and month[1] <= end
    return whole_month_inside or start <= seen_on <= end


def billed_quantity(
    store: Store,
    source: str,
    vendor_customer: str,
    metric: Metric,
    start: date,
    end: date,
    *,
    product: str = "",
) -> tuple[Decimal, dict[str, Any]] | None:
    """The quantity to bill for a period: the peak of its complete observations, with what explains it.

    Vendors bill the highest usage seen in their month, so several polls in a month bill their maximum; a
    quarterly or yearly line bills the highest monthly peak inside it. None when nothing complete was observed.
    """
    candidates = [
        o
        for o in store.observations.query(source, vendor_customer=vendor_customer, metric=metric.value, product=product)
        if o.complete and _observation_in(o, start, end)
    ]
    if not candidates:
        return None
    peak = max(candidates, key=lambda o: (o.quantity, o.observed_at))
    return peak.quantity, {
        "peak_observed_at": peak.observed_at.isoformat(),
        "peak_vendor_period": peak.period_key,
        "observations_considered": len(candidates),
        "fetch_id": peak.fetch_id,
        "explanation": peak.inputs.get("metric", {}),
    }
