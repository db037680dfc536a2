"""The billing calendar in a run: the one read of the PSA's invoices, and from it the period each line bills.

In arrears a contract keeps its ended period until the PSA shows that period's invoice for it (or the fallback
`invoice_day` passes): read once per run, and only while an ended period still waits for its invoice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from connector.config import Settings
from connector.errors import ConnectorError, ParameterError
from connector.psa_truth import contract_ref
from connector.report import RunReport
from connector.store import Store
from connector.usage import InvoicingSink, Sink
from mappings.calendar import BillingCalendar, Invoiced, requested_period
from mappings.customer import CustomerMapping, LineMapping
from mappings.lines import LineIdentity
from mappings.periods import CALENDAR_KINDS, Period, period_containing

log = logging.getLogger(__name__)


def awaiting(
    store: Store, settings: Settings, calendar: BillingCalendar, now: datetime, requested: Period | None
) -> list[Period]:
    """The ended periods whose invoice only the PSA can tell of now: for each mapped line, the one before its current
    period until its fallback day, if the line has anything of it in the outbox (else it moves on at once, see
    `line_period`); and a --period asked for that has ended and is not past its fallback day."""
    periods: dict[str, Period] = {}
    for customer in settings.customers:
        for line in customer.lines:
            kind = line.billing_period
            ended = calendar.awaiting_invoice(kind, now) if kind in CALENDAR_KINDS else None
            if ended is None or ended.key in periods:
                continue
            if store.outbox.get(LineIdentity(customer.psa_customer, line.contract, ended.key, line.metric)):
                periods[ended.key] = ended
    if requested is not None and requested.end < calendar.today(now) and not calendar.invoiced(requested, now):
        periods[requested.key] = requested
    return list(periods.values())


def read_invoiced(
    store: Store,
    settings: Settings,
    sink: Sink | None,
    calendar: BillingCalendar,
    now: datetime,
    requested: Period | None,
    report: RunReport,
    progress: Callable[[str], None],
) -> Invoiced:
    """What the PSA's invoices say for every mapped contract, in one read; nothing when no period waits on them.

    A PSA that cannot say is a problem on the report (the run is not "ok"): each contract then keeps its ended period
    until the fallback day, so a late change is still pushed to it rather than lost as a correction nobody sees.
    """
    if not isinstance(sink, InvoicingSink):
        return Invoiced()
    periods = awaiting(store, settings, calendar, now, requested)
    if not periods:
        return Invoiced()
    refs = list(dict.fromkeys(contract_ref(c, m) for c in settings.customers for m in c.lines))
    # Invoices are dated in the PSA account's zone, which may be a day ahead of the MSP's: one day of margin.
    first, last = min(p.start for p in periods), calendar.today(now) + timedelta(days=1)
    progress(f"reading {sink.psa_title}'s invoices dated {first} to {last}")
    try:
        found = sink.invoiced_periods(refs, first, last)
    except ConnectorError as error:
        problem = (
            f"could not read {sink.psa_title}'s invoices to know which ended periods are invoiced: {error}; each "
            f"contract keeps its ended period until [billing] invoice_day ({calendar.invoice_day}) passes: run the "
            "sync again once it answers"
        )
        log.error("%s", problem)
        report.problems.append(problem)
        return Invoiced()
    return Invoiced({Invoiced.key(ref.psa_customer, ref.contract): frozenset(days) for ref, days in found.items()})


def line_period(
    store: Store,
    customer: CustomerMapping,
    mapping: LineMapping,
    calendar: BillingCalendar,
    requested: Period | None,
    now: datetime,
    seen: frozenset[date],
) -> Period:
    """The period a line bills this run: the one asked for, else the one its contract holds open (`seen`: the first
    days of the periods the PSA's invoices bill for the contract)."""
    if requested is not None:
        return period_containing(mapping.billing_period, requested.start)
    period = calendar.open_period(mapping.billing_period, now, seen)
    today = calendar.today(now)
    identity = LineIdentity(customer.psa_customer, mapping.contract, period.key, mapping.metric)
    if period.end < today and store.outbox.get(identity) is None:
        # Nothing of the ended period was ever staged for this line (a first install, a line mapped since): no final
        # figure of it is owed to the contract, so the contract bills the current period.
        return period_containing(mapping.billing_period, today)
    return period


def requested_period_of(settings: Settings, key: str, calendar: BillingCalendar, now: datetime) -> Period:
    """The period `--period` names, refused (exit 2) unless the mapped lines bill such periods and it has begun."""
    kinds = {line.billing_period for customer in settings.customers for line in customer.lines}
    try:
        return requested_period(key, kinds, calendar.today(now))
    except ValueError as error:
        raise ParameterError(f"--period: {error}", param="--period") from None
