"""`connector reconcile`: a period's pushed lines against the invoices the PSA generated from them, and the
corrections recorded for the period (what the invoices missed, to bill by hand)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import providers
from connector.core.config import Settings
from connector.core.errors import ConfigError, ConnectorError, Status
from connector.store import Store
from connector.sync import corrections
from mappings.billing import price
from providers.spec import BuildContext, Reconciled


@dataclass(frozen=True)
class Reconciliation:
    """A period's pushed lines against the invoices the PSA (`psa`, as people name it) dated from `start` to `end`."""

    psa: str
    period: str
    start: date
    end: date
    lines: Sequence[Reconciled]

    @property
    def status(self) -> Status:
        return Status.DIFFERS if any(r.mismatch for r in self.lines) else Status.OK

    def rows(self) -> list[dict[str, Any]]:
        """One row per line; what was pushed is priced by the one money function, as the push priced it."""
        return [
            {
                "id": r.stored.id,
                "psa_customer": r.stored.line.psa_customer,
                "contract": r.stored.line.contract,
                "period": r.stored.line.period_key,
                "pushed_quantity": r.stored.line.quantity,
                "pushed_amount": price(r.stored.line.quantity, r.stored.line.rate),
                "invoiced_quantity": r.invoiced_quantity,
                "invoiced_amount": r.invoiced_amount,
                "invoices": list(r.invoice_numbers),
                "status": r.status,
                "why": r.reason,
            }
            for r in self.lines
        ]

    def differences(self) -> list[str]:
        """Each line the PSA invoiced (or will invoice) otherwise than pushed, said in one sentence with its fix."""
        return [
            f"{r.stored.line.psa_customer} / {r.stored.line.contract} / {r.stored.line.period_key}: pushed "
            f"{r.stored.line.quantity}, {self.psa} "
            + (
                f"invoiced {r.invoiced_quantity} (invoice {', '.join(map(str, r.invoice_numbers))})"
                if r.invoice_numbers
                else "has not invoiced it"
            )
            + (f"; {r.reason}" if r.reason else "")
            for r in self.lines
            if r.mismatch
        ]


def reconcile(
    settings: Settings, store: Store, period: str, grace_days: int = 45, *, today: date | None = None
) -> Reconciliation:
    """Check every line pushed for `period` against the PSA's invoices dated from the period's first day to its last
    day plus `grace_days` (invoices go out after the period)."""
    # A line recorded as a correction since is reconciled as it was pushed: that is what the invoice read.
    pushed = corrections.pushed_lines(store, period)
    if not pushed:
        raise ConnectorError(f"no pushed lines for period {period!r}; `connector explain CUSTOMER` lists periods")
    bounds = [day for s in pushed for day in (s.line.period_start, s.line.period_end) if day is not None]
    start = min(bounds, default=today or date.today())
    end = max(bounds, default=start) + timedelta(days=grace_days)
    psa = providers.psa(settings)
    reconcile = psa.load().reconcile if psa is not None else None
    if psa is None or reconcile is None:
        raise ConfigError("no registered PSA can reconcile pushed lines against its invoices")
    section = psa.enabled_section(settings)
    # The MSP's zone: the PSA's dates are read as its days, the days the pushed periods are in.
    context = BuildContext(
        settings.http, store.ledger, timezone=settings.billing.timezone, billing_mode=settings.billing.mode
    )
    found = reconcile(section, context, pushed, start, end)
    return Reconciliation(psa.title, period, start, end, found)


@dataclass(frozen=True)
class PeriodCheck:
    """What `connector reconcile` reports: the pushed lines against the invoices, and the corrections recorded for the
    period (rows of `corrections.rows`)."""

    reconciliation: Reconciliation
    owed: list[dict[str, Any]]


def reconcile_period(settings: Settings, period: str, grace_days: int = 45) -> PeriodCheck:
    """`reconcile` on the store, with the period's recorded corrections."""
    with Store.open(settings.store.path) as store:
        result = reconcile(settings, store, period, grace_days)
        owed = corrections.rows(corrections.recorded(store, period))
    return PeriodCheck(result, owed)
