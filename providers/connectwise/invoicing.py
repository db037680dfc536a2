"""The ConnectWise sink that also tells which periods ConnectWise has invoiced for the contracts waiting on an
invoice (an InvoicingSink), and reads what `connector reconcile` compares.

**Which period an agreement invoice bills** is said in `reconcile`: by its date, in the agreement's billing cycle,
as `[billing] mode` says (`reconcile.billed_period`). A line whose billing period is not its agreement's cycle is
billed once per cycle by ConnectWise, whatever it pushes in between: the invoices move it on for none of its periods
(it waits for `[billing] invoice_day`), a warning says why, and `connector reconcile` lists each such line with the
reason.

**What counts.** An invoice counts for a contract only by its agreement's id and company, as the mapping's
agreement is found in ConnectWise (`verify.locate`): one with no agreement, with no company, or of another company
than the agreement's counts for none, is logged, and is never taken as every contract's. An agreement invoice bills
every addition of its agreement.

**The read.** One verified paged list of `GET /finance/invoices` per run, `conditions` on `date` (the days asked
for, a day wider on each side since a date at midnight UTC is that date in every zone, then kept to the days),
`type = "Agreement"` and `agreement/id in (...)` of the waiting contracts' agreements (one list per chunk of them
that keeps the URL short). The list is ordered by id, so its pages are stable, and every invoice read only adds a
period to what is found: the read stops once every waiting (contract, period) is found, since nothing later can
take one back. ConnectWise has no request budget per run (the connector sends what a run needs, and 429s are retried
by the client's transport), so the read is never cut short and `InvoicesCutShort` is never raised.

**The billing mode** is the context's (`[billing] mode`). Only in arrears does a sync ask which periods are
invoiced (in advance an ended period is always past its fallback day); `connector reconcile` reads either.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from mappings.calendar import Mode
from mappings.enums import BillingPeriod
from mappings.lines import StoredLine
from mappings.periods import period_containing
from mappings.truth import ContractRef, Missing
from providers.connectwise.client import ConnectWiseClient, build_connectwise_client
from providers.connectwise.dates import day_in
from providers.connectwise.models import Agreement, Invoice
from providers.connectwise.reconcile import billed_period, cycle_kind, cycle_problem, number, owner
from providers.connectwise.reconcile import reconcile as reconcile_lines
from providers.connectwise.settings import ConnectWiseSettings
from providers.connectwise.sink import ConnectWiseSink
from providers.connectwise.verify import PSA, Located
from providers.spec import BuildContext, Reconciled

log = logging.getLogger(__name__)


class InvoicingConnectWiseSink(ConnectWiseSink):
    """ConnectWiseSink, plus one read of ConnectWise's agreement invoices per run for the invoiced periods (an
    InvoicingSink), and the reads `connector reconcile` compares (see the module's notes)."""

    def __init__(
        self, open_client: Callable[[], ConnectWiseClient], *, mode: Mode = Mode.ARREARS, **options: Any
    ) -> None:
        super().__init__(open_client, **options)
        self.mode = mode

    @classmethod
    def build(cls, settings: ConnectWiseSettings, context: BuildContext) -> InvoicingConnectWiseSink:
        """The sink of a configuration: the client opened now, the MSP's zone, clock and billing mode."""
        return cls(
            lambda: build_connectwise_client(settings, context.http),
            custom_field=settings.custom_field,
            timezone=context.timezone,
            now=context.now,
            mode=context.billing_mode,
        )

    def invoiced_periods(
        self, wanted: Mapping[ContractRef, Collection[date]], first: date, last: date
    ) -> dict[ContractRef, set[date]]:
        """Per contract, the first day of every period an agreement invoice dated from `first` to `last` (days of
        the MSP's zone) bills; read once, and only until every waiting period is found (`invoiced_starts`)."""
        if not any(wanted.values()):
            return {ref: set() for ref in wanted}
        located = {ref: where for ref, where in self._located(wanted).items() if isinstance(where, Located)}
        agreements = sorted({where.agreement.id for where in located.values()})
        listing = self.client.invoices_dated(first, last, self.timezone, agreements)
        return invoiced_starts(listing, wanted, located, zone=self.timezone, mode=self.mode)

    def reconcile(self, lines: Sequence[StoredLine], first: date, last: date) -> list[Reconciled]:
        """The pushed lines against the agreement invoices dated from `first` to `last` (days of the MSP's zone),
        every one of them read, with what ConnectWise holds now for each line (`reconcile.reconcile`)."""
        located = self._located([ContractRef.of_line(stored.line) for stored in lines])
        agreements = sorted({where.agreement.id for where in located.values() if isinstance(where, Located)})
        invoices = list(self.client.invoices_dated(first, last, self.timezone, agreements))
        additions = {agreement: self.listing.additions_of(agreement) for agreement in agreements}
        return reconcile_lines(
            lines, invoices, located, additions, zone=self.timezone, mode=self.mode, today=self.today()
        )

    def _located(self, refs: Iterable[ContractRef]) -> dict[ContractRef, Located | Missing]:
        """Where each contract is in ConnectWise, from the run's listing (read now for what it lacks)."""
        refs = list(dict.fromkeys(refs))
        self.listing.read(refs)
        return {ref: self.listing.locate(ref) for ref in refs}


def _shown(numbers: Sequence[int]) -> str:
    more = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    return ", ".join(str(n) for n in numbers[:10]) + more


# -- which periods the invoices bill, for the billing calendar ------------------------------------------------------


def invoiced_starts(
    invoices: Iterable[Invoice],
    wanted: Mapping[ContractRef, Collection[date]],
    located: Mapping[ContractRef, Located],
    *,
    zone: str = "UTC",
    mode: Mode = Mode.ARREARS,
) -> dict[ContractRef, set[date]]:
    """Per contract in `wanted`, the first day of every period an agreement invoice of its agreement and company
    bills (`billed_period`); `located` is where each contract is in ConnectWise (one not located gets nothing).

    The listing is read only until every (contract, period) of `wanted` is found: an invoice seen only adds a
    period, so what the rest could say is not needed and nothing read is undone by it.
    """
    found: dict[ContractRef, set[date]] = {ref: set() for ref in wanted}
    targets: dict[int, list[tuple[ContractRef, int]]] = defaultdict(list)
    kinds: dict[int, BillingPeriod | None] = {}
    for ref, where in located.items():
        if ref in wanted:
            targets[where.agreement.id].append((ref, where.company.id))
            kinds[where.agreement.id] = _checked_kind(where.agreement, wanted[ref])
    outstanding = {(ref, day) for ref, days in wanted.items() if ref in located for day in days}
    ignored: dict[str, dict[int, None]] = defaultdict(dict)
    for invoice in invoices if outstanding else ():
        for ref, start in _tied(invoice, targets, kinds, ignored, zone, mode):
            found[ref].add(start)
            outstanding.discard((ref, start))
        if not outstanding:
            break
    for why, numbers in ignored.items():
        log.warning(
            "%s invoice(s) %s %s: counted for no contract (an agreement invoice counts only for the agreement and "
            "the company it names), so they move no contract to its next period",
            PSA,
            _shown(list(numbers)),
            why,
        )
    return found


Targets = Mapping[int, Sequence[tuple[ContractRef, int]]]


def _tied(
    invoice: Invoice,
    targets: Targets,
    kinds: Mapping[int, BillingPeriod | None],
    ignored: dict[str, dict[int, None]],
    zone: str,
    mode: Mode,
) -> list[tuple[ContractRef, date]]:
    """The contracts (of `targets`: agreement id -> contract and its company id) an invoice bills, each with the
    first day of the period it bills; why it bills none goes to `ignored`."""
    if invoice.type != "Agreement" or invoice.date is None:
        return []
    tie = owner(invoice)
    if isinstance(tie, str):
        ignored[tie][number(invoice)] = None
        return []
    agreement_id, company_id = tie
    kind = kinds.get(agreement_id)
    tied = []
    for ref, company in targets.get(agreement_id, ()):
        if company != company_id:
            ignored[f"name company {company_id}, not the mapped company {company}"][number(invoice)] = None
        elif kind is not None:
            tied.append((ref, billed_period(day_in(invoice.date, zone), kind, mode).start))
    return tied


def _checked_kind(agreement: Agreement, starts: Collection[date]) -> BillingPeriod | None:
    """The agreement's cycle, said when its invoices can bill none of the periods a contract waits on."""
    kind = cycle_kind(agreement)
    odd = sorted(day for day in starts if kind is not None and period_containing(kind, day).start != day)
    problem = cycle_problem(agreement, kind, None)
    if not problem and odd and kind is not None:
        problem = (
            f"{PSA} agreement {agreement.name!r} ({agreement.id}) bills {kind.value} periods, and a line of it waits "
            f"on the period starting {', '.join(map(str, odd))}, which is not one: the line's billing period is "
            "not the agreement's billing cycle"
        )
    if problem:
        log.warning("%s; its invoices move no line on: each waits for [billing] invoice_day", problem)
    return kind
