"""The Atera sink that also tells which periods Atera has invoiced per mapped contract (the calendar's signal)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from mappings.truth import ContractRef
from providers.atera.reconcile import invoiced_starts
from providers.atera.sink import AteraSink


class InvoicingAteraSink(AteraSink):
    """AteraSink, plus one paged read of `GET /billing/invoices` per run for the invoiced periods (an InvoicingSink)."""

    def invoiced_periods(self, refs: Sequence[ContractRef], first: date, last: date) -> dict[ContractRef, set[date]]:
        """Per contract, the first day of every period an invoice dated from `first` to `last` bills."""
        if not refs:
            return {}
        return invoiced_starts(self.client.invoices(first, last), refs)
