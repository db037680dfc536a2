"""The Atera sink that also tells which periods Atera has invoiced for the contracts waiting on an invoice."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from connector.interfaces.deferral import InvoicesCutShort
from mappings.truth import ContractRef, Held
from providers.atera.client import AteraClient, ReadLimitReached
from providers.atera.models import InvoiceDto
from providers.atera.reconcile import atera_names, invoiced_starts
from providers.atera.sink import AteraSink
from providers.atera.verify import PSA


class InvoicingAteraSink(AteraSink):
    """AteraSink, plus one bounded paged read of `GET /billing/invoices` per run for the invoiced periods (an
    InvoicingSink).

    Atera filters invoices by date only (not by customer), so the read is bounded three ways: the dates the waiting
    periods need (the caller's), no further than every waiting contract's invoice, and at most half of what the
    run's request budget has left, so the pushes always keep the other half.
    """

    def __init__(self, open_client: Callable[[], AteraClient], **options: Any) -> None:
        super().__init__(open_client, **options)
        self._held: dict[ContractRef, Held] = {}

    def snapshot(self, refs: Sequence[ContractRef]) -> dict[ContractRef, Held]:
        # Kept for the invoice read: where the mapping gives ids, invoices carry the names Atera holds.
        self._held = super().snapshot(refs)
        return self._held

    def invoiced_periods(
        self, wanted: Mapping[ContractRef, Collection[date]], first: date, last: date
    ) -> dict[ContractRef, set[date]]:
        """Per contract, the first day of every period an invoice dated from `first` to `last` bills (see
        `invoiced_starts`); InvoicesCutShort, with what was found, when the budget's share stopped the read."""
        if not any(wanted.values()):
            return {ref: set() for ref in wanted}
        names = {ref: atera_names(ref, self._held.get(ref)) for ref in wanted}
        start, limit = self.client.requests, self._read_limit()
        invoices, reached = self.client.invoices(first, last), False

        def bounded() -> Iterator[InvoiceDto]:
            # The listing up to the client's read limit: iterating ends there, and `reached` tells it did.
            nonlocal reached
            try:
                yield from invoices
            except ReadLimitReached:
                reached = True

        self.client.read_limit = limit
        try:
            found = invoiced_starts(bounded(), wanted, zone=self.timezone, names=names)
        finally:
            self.client.read_limit = None
        if reached:
            raise InvoicesCutShort(self._cut_short(self.client.requests - start, first, last), found)
        return found

    def _read_limit(self) -> int | None:
        """The request count the invoice read stops at: half of what the run's budget has left (None: no budget)."""
        budget = self.client.request_budget
        if budget is None:
            return None
        return self.client.requests + max(budget - self.client.requests, 0) // 2

    def _cut_short(self, spent: int, first: date, last: date) -> str:
        budget = f"[atera] requests_per_run ({self.client.request_budget:,})"
        if spent == 0:
            return f"{PSA}: no invoice could be read: {budget} was spent by the run's other reads; raise it"
        return (
            f"{PSA}: the invoices dated {first} to {last} fill more pages than the {spent:,} request(s) the read may "
            f"send (half of what {budget} left, the pushes keeping the rest); raise requests_per_run"
        )
