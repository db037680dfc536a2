"""The Autotask sink that also tells which periods Autotask has invoiced for the contracts waiting on an invoice (an
InvoicingSink), and what `connector reconcile` compares.

**Which period an invoice bills.** Unlike the other PSAs, Autotask says it line by line: an invoice's lines are
billing items (`BillingItems` whose `invoiceID` is the invoice's id), and the item a Recurring Service contract's
units become names its contract service and is dated the first day of the units it bills (`itemDate`). So a period
of a line is invoiced when an invoice holds an item of the line's contract service dated inside the period: no
billing mode is needed to guess it. Items of other contracts, voided invoices and items of no contract service count
for no line.

**The read.** The invoices dated from the first to the last day asked for (`invoiceDateTime`, a day wider on each
side: Autotask writes it without a zone), of the waiting contracts' companies, one query per 500 companies; then
their billing items of the waiting contract services, one query per 500 invoices. Voided invoices are left out.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from mappings.enums import BillingPeriod
from mappings.lines import StoredLine
from mappings.money import round_money
from mappings.periods import period_containing
from mappings.truth import ContractRef, Missing, compare
from providers.autotask import filters as f
from providers.autotask.connect import build_autotask_client
from providers.autotask.listing import chunks
from providers.autotask.models import BillingItem, Invoice
from providers.autotask.settings import AutotaskSettings
from providers.autotask.sink import AutotaskSink
from providers.autotask.verify import PSA, Located, day, held
from providers.spec import DIFFERS, MATCHED, NOT_INVOICED, RATE_DIFFERS, BuildContext, Reconciled

log = logging.getLogger(__name__)


class InvoicingAutotaskSink(AutotaskSink):
    """AutotaskSink, plus the invoiced periods of the waiting contracts (an InvoicingSink) and `reconcile`."""

    @classmethod
    def build(cls, settings: AutotaskSettings, context: BuildContext) -> InvoicingAutotaskSink:
        """The sink of a configuration: the client opened now (the zone asked), the MSP's zone and clock."""
        return cls(
            lambda: build_autotask_client(settings, context.http),
            timezone=context.timezone,
            now=context.now,
            stop_pushes_at=settings.stop_pushes_at,
        )

    def invoiced_periods(
        self, wanted: Mapping[ContractRef, Collection[date]], first: date, last: date
    ) -> dict[ContractRef, set[date]]:
        """Per contract, the first day of every waiting period an invoice dated from `first` to `last` bills an item
        of the contract's service in."""
        found: dict[ContractRef, set[date]] = {ref: set() for ref in wanted}
        if not any(wanted.values()):
            return found
        located = _with_service(self._located(wanted))
        items = self._items(located.values(), first, last)
        for ref, where in located.items():
            assert where.contract_service is not None
            days = [d for item in items.get(where.contract_service.id, ()) if (d := day(item.itemDate)) is not None]
            for start in wanted[ref]:
                # Recurring Service contracts here bill monthly, as backup does.
                end = period_containing(BillingPeriod.MONTHLY, start).end
                if any(start <= d <= end for d in days):
                    found[ref].add(start)
        return found

    def reconcile(self, lines: Sequence[StoredLine], first: date, last: date) -> list[Reconciled]:
        """The pushed lines against the invoices dated from `first` to `last`: each line's billing items (its
        contract service's, dated inside its period), with what Autotask holds now for the line's period."""
        located = self._located([ContractRef.of_line(stored.line) for stored in lines])
        items = self._items(_with_service(located).values(), first, last)
        return [self._reconciled(stored, located[ContractRef.of_line(stored.line)], items) for stored in lines]

    def _reconciled(
        self, stored: StoredLine, where: Located | Missing, items: Mapping[int, Sequence[BillingItem]]
    ) -> Reconciled:
        line = stored.line
        if not isinstance(where, Located) or where.contract_service is None:
            reason = where.reason if isinstance(where, Missing) else where.absent.reason if where.absent else ""
            return Reconciled(stored, NOT_INVOICED, reason=reason)
        service = where.contract_service
        start = line.period_start or self.today()
        end = line.period_end or start
        billed = [i for i in items.get(service.id, ()) if (d := day(i.itemDate)) is not None and start <= d <= end]
        if not billed:
            records = self.listing.units_in(service.id, start, end)
            now = held(where, service, records, start, end)
            finding = compare(now, psa=PSA, period_start=start, period_end=end, rate=line.rate, pushed=None)
            reason = finding.reason if finding is not None else ""
            if not reason and now.quantity is not None and now.quantity != stored.pushed_quantity:
                reason = f"{PSA} bills {now.quantity} units for the period now, not the {stored.pushed_quantity} pushed"
            return Reconciled(stored, NOT_INVOICED, invoiced_quantity=now.quantity, reason=reason)
        quantity = _plain(sum((i.quantity or Decimal(0) for i in billed), Decimal(0)))
        amount = round_money(sum((_amount(i) for i in billed), Decimal(0)))
        numbers = tuple(sorted({i.invoiceID for i in billed if i.invoiceID is not None}))
        rates = {i.rate for i in billed if i.rate is not None}
        if any(rate != line.rate for rate in rates):
            shown = ", ".join(str(r) for r in sorted(rates))
            reason = f"{PSA} invoiced {quantity} units at {shown} per unit, the line's rate is {line.rate}"
            return Reconciled(stored, RATE_DIFFERS, quantity, amount, numbers, reason)
        pushed = stored.pushed_quantity if stored.pushed_quantity is not None else line.quantity
        if quantity != pushed or amount != line.amount:
            reason = (
                f"{PSA} invoiced {quantity} units ({amount}) in {len(billed)} billing item(s), the connector pushed "
                f"{pushed} ({line.amount})"
            )
            return Reconciled(stored, DIFFERS, quantity, amount, numbers, reason)
        return Reconciled(stored, MATCHED, quantity, amount, numbers)

    def _located(self, refs: Iterable[ContractRef]) -> dict[ContractRef, Located | Missing]:
        """Where each contract is in Autotask, from the run's listing (read now for what it lacks)."""
        refs = list(dict.fromkeys(refs))
        self.listing.read(refs)
        return {ref: self.listing.locate(ref) for ref in refs}

    def _items(self, located: Iterable[Located], first: date, last: date) -> dict[int, list[BillingItem]]:
        """The billing items of the located contract services on invoices dated from `first` to `last`, by
        contract service id."""
        services = {w.contract_service.id for w in located if w.contract_service is not None}
        companies = {w.contract.companyID for w in located if w.contract.companyID is not None}
        if not services:
            return {}
        invoices: list[Invoice] = []
        # A day wider on each side: Autotask writes the date without a zone.
        since, until = first - timedelta(days=1), last + timedelta(days=2)
        for ids in chunks(companies):
            dated = [f.in_("companyID", ids), f.gte("invoiceDateTime", since), f.lt("invoiceDateTime", until)]
            invoices += [
                i
                for i in self.client.invoices(dated)
                if not i.isVoided and (d := day(i.invoiceDateTime)) is not None and first <= d <= last
            ]
        found: dict[int, list[BillingItem]] = defaultdict(list)
        for ids in chunks(i.id for i in invoices):
            for item in self.client.billing_items([f.in_("invoiceID", ids)]):
                if item.contractServiceID in services:
                    found[item.contractServiceID].append(item)
        return found


def _with_service(found: Mapping[ContractRef, Located | Missing]) -> dict[ContractRef, Located]:
    """The references whose contract service Autotask holds."""
    return {ref: w for ref, w in found.items() if isinstance(w, Located) and w.contract_service is not None}


def _plain(quantity: Decimal) -> Decimal:
    """A whole quantity without the decimal places Autotask's JSON numbers carry (`620.0`): units are whole, and the
    reconcile report shows them as pushed (`620`)."""
    return quantity.quantize(Decimal(1)) if quantity == quantity.to_integral_value() else quantity


def _amount(item: BillingItem) -> Decimal:
    if item.extendedPrice is not None:
        return item.extendedPrice
    return (item.quantity or Decimal(0)) * (item.rate or Decimal(0))
