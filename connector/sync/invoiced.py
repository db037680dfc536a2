"""The billing calendar in a run: the one read of the PSA's invoices, and from it the period each line bills.

In arrears a contract keeps its ended period until the PSA shows that period's invoice for it (or the fallback
`invoice_day` passes): read once per run, only while an ended period still waits for its invoice, and only as far as
the waiting contracts need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

import providers
from connector.core.config import Settings
from connector.core.errors import ConnectorError, ParameterError
from connector.interfaces.deferral import InvoicesCutShort
from connector.interfaces.psa import InvoicingSink, Sink
from connector.store import Store
from connector.sync.psa_truth import contract_ref
from connector.sync.report import RunReport
from mappings.calendar import BillingCalendar, Invoiced, requested_period
from mappings.customer import CustomerMapping, LineMapping
from mappings.lines import LineIdentity
from mappings.periods import CALENDAR_KINDS, Period, period_containing
from mappings.truth import ContractRef

log = logging.getLogger(__name__)


def awaiting(
    store: Store, settings: Settings, calendar: BillingCalendar, now: datetime, requested: Period | None
) -> dict[ContractRef, set[Period]]:
    """Per contract, the ended periods whose invoice only the PSA can tell of now (see `_waits_on`)."""
    waiting: dict[ContractRef, set[Period]] = {}
    psa = providers.psa(settings)
    for customer in settings.customers:
        for line in customer.lines:
            ended = _waits_on(store, customer, line, calendar, now, requested)
            if ended is not None:
                waiting.setdefault(contract_ref(customer, line, psa), set()).add(ended)
    return waiting


def _waits_on(
    store: Store,
    customer: CustomerMapping,
    line: LineMapping,
    calendar: BillingCalendar,
    now: datetime,
    requested: Period | None,
) -> Period | None:
    """The ended period a line waits on the invoice of. Without --period: the one before its current period until
    its fallback day, if the line has anything of it in the outbox (else it moves on at once, see `line_period`).
    With --period: the line's period of that date, if it has ended and is not past its fallback day."""
    kind = line.billing_period
    if kind not in CALENDAR_KINDS:
        return None
    if requested is not None:
        asked = period_containing(kind, requested.start)
        return asked if asked.end < calendar.today(now) and not calendar.invoiced(asked, now) else None
    ended = calendar.awaiting_invoice(kind, now)
    if ended is None:
        return None
    staged = store.outbox.get(LineIdentity(customer.psa_customer, line.contract, ended.key, line.metric))
    return ended if staged is not None else None


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
    """What the PSA's invoices say for the contracts waiting on one, in one read; nothing when none waits.

    The read asks only what the waiting contracts need: invoices dated from the first day of the earliest waiting
    period, and per contract the periods it waits on (the sink may stop once each is found). A PSA that cannot say
    is a problem on the report (the run is not "ok"): each contract then keeps its ended period until the fallback
    day, so a late change is still pushed to it rather than lost as a correction nobody sees. A read the request
    budget cut short is one too, and what it did read still counts.
    """
    if not isinstance(sink, InvoicingSink):
        return Invoiced()
    waiting = awaiting(store, settings, calendar, now, requested)
    if not waiting:
        return Invoiced()
    wanted = {ref: frozenset(period.start for period in periods) for ref, periods in waiting.items()}
    # Invoices are dated in the PSA account's zone, which may be a day ahead of the MSP's: one day of margin.
    first = min(period.start for periods in waiting.values() for period in periods)
    last = calendar.today(now) + timedelta(days=1)
    progress(f"reading {sink.psa_title}'s invoices dated {first} to {last}")
    try:
        found = sink.invoiced_periods(wanted, first, last)
    except InvoicesCutShort as short:
        problem = (
            f"{sink.psa_title}'s invoices were read only in part: {short}; each contract whose invoice was not seen "
            f"keeps its ended period until [billing] invoice_day ({calendar.invoice_day}) passes"
        )
        log.error("%s", problem)
        report.problems.append(problem)
        found = short.found
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
        # figure of it is owed to the contract, so it bills from where a new contract starts (onboarding dates its
        # contracts by the same function).
        return calendar.start_period(mapping.billing_period, now)
    return period


def requested_period_of(settings: Settings, key: str, calendar: BillingCalendar, now: datetime) -> Period:
    """The period `--period` names, refused (exit 2) unless the mapped lines bill such periods and it has begun."""
    kinds = {line.billing_period for customer in settings.customers for line in customer.lines}
    try:
        return requested_period(key, kinds, calendar.today(now))
    except ValueError as error:
        raise ParameterError(f"--period: {error}", param="--period") from None
