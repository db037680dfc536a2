"""Observing: a source's usage report becomes observation history, the only input billing reads."""

from __future__ import annotations

import providers
from connector.interfaces.usage import UsageReport, refuse_bad_numbers
from connector.store import Store
from mappings.measure import Observation


def observe(store: Store, report: UsageReport, *, run_id: int | None = None) -> None:
    """Store one observation per customer, metric and product, with the inputs that explain it.

    Every number first crosses the boundary guard (`refuse_bad_numbers`): a customer with a NaN, a negative or an
    absurd quantity is marked incomplete here, and the engine blocks only that customer's lines. A report replayed
    from the fetch ledger whose observations are stored already adds nothing and is skipped.
    """
    refuse_bad_numbers(report)
    fetch_id = report.fetch_ids[-1] if report.fetch_ids else None
    if report.replayed and fetch_id is not None and store.observations.from_fetch(report.source, fetch_id):
        return
    store.observations.record(
        [
            Observation(
                source=report.source,
                vendor_customer=usage.vendor_customer,
                metric=metric,
                product=product,
                period_key=usage.period_key,
                quantity=quantity,
                unit=_unit(metric),
                observed_at=report.observed_at,
                complete=usage.complete,
                inputs={"metric": usage.inputs.get(metric, {}), "problems": usage.problems},
                fetch_id=fetch_id,
                run_id=run_id,
            )
            for usage in report.customers
            for (metric, product), quantity in usage.quantities.items()
        ]
    )


def _unit(metric: str) -> str:
    spec = providers.metric(metric)
    if spec is None:
        # A source reporting a metric it never declared is a bug in that provider, not bad vendor data.
        raise ValueError(f"metric {metric!r} is not declared by its provider in the registry")
    return spec.unit
