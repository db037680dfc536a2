"""Reconciliation: what Atera invoiced for each pushed line, against what the connector pushed. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mappings.lines import Line, StoredLine
from providers.atera.models import InvoiceDto

MATCHED = "invoiced as pushed"
DIFFERS = "invoiced differently"
NOT_INVOICED = "not invoiced yet"


@dataclass(frozen=True)
class Reconciled:
    """One pushed line and what Atera's invoices say about it."""

    stored: StoredLine
    status: str
    invoiced_quantity: Decimal | None = None
    invoiced_amount: Decimal | None = None
    invoice_numbers: tuple[int, ...] = ()

    @property
    def line(self) -> Line:
        return self.stored.line

    @property
    def mismatch(self) -> bool:
        return self.status == DIFFERS


def _key(text: str | None) -> str:
    return (text or "").strip().casefold()


def _covers(invoice: InvoiceDto, line: Line) -> bool:
    if invoice.IsAdhoc or _key(invoice.ContractName) != _key(line.contract):
        return False
    if invoice.To is not None and invoice.To.CompanyName and _key(invoice.To.CompanyName) != _key(line.psa_customer):
        return False
    # Atera invoices a contract per billing period; the period's first day ties the invoice to the line.
    start = line.period_start
    return start is None or (invoice.PeriodStartDate is not None and invoice.PeriodStartDate.date() == start)


def reconcile(lines: list[StoredLine], invoices: list[InvoiceDto]) -> list[Reconciled]:
    """For every pushed line: invoiced as pushed, invoiced with another quantity, or not invoiced yet.

    Only the invoice items at the line's rate count: a contract invoice may carry other items (a setup fee)."""
    results = []
    for stored in lines:
        line = stored.line
        matching = [invoice for invoice in invoices if _covers(invoice, line)]
        if not matching:
            results.append(Reconciled(stored, NOT_INVOICED))
            continue
        items = [item for invoice in matching for item in invoice.LineItems if item.Rate == line.rate]
        quantity = sum((item.Quantity for item in items), Decimal(0))
        amount = sum((item.Subtotal for item in items), Decimal(0))
        status = MATCHED if quantity == line.quantity else DIFFERS
        numbers = tuple(sorted(invoice.InvoiceNumber for invoice in matching))
        results.append(Reconciled(stored, status, quantity, amount, numbers))
    return results
