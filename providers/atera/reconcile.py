"""Reconciliation: what Atera invoiced for each pushed line, against what the connector pushed. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from connector.store import StoredLine
from providers.atera.models import InvoiceDto

MATCHED = "invoiced as pushed"
DIFFERS = "invoiced differently"
NOT_INVOICED = "not invoiced yet"


@dataclass(frozen=True)
class Reconciled:
    """One pushed line and what Atera's invoices say about it."""

    line: StoredLine
    status: str
    invoiced_quantity: Decimal | None = None
    invoiced_amount: Decimal | None = None
    invoice_numbers: tuple[int, ...] = ()

    @property
    def mismatch(self) -> bool:
        return self.status == DIFFERS


def _key(text: str | None) -> str:
    return (text or "").strip().casefold()


def line_period(line: StoredLine) -> tuple[date | None, date | None]:
    """The billing period a line was pushed for, as the outbox kept it in the push plan."""
    start, end = line.plan.get("period_start"), line.plan.get("period_end")
    return (date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None)


def _covers(invoice: InvoiceDto, line: StoredLine) -> bool:
    start, _ = line_period(line)
    if invoice.IsAdhoc or _key(invoice.ContractName) != _key(line.contract):
        return False
    if invoice.To is not None and invoice.To.CompanyName and _key(invoice.To.CompanyName) != _key(line.psa_customer):
        return False
    # Atera invoices a contract per billing period; the period's first day ties the invoice to the line.
    return start is None or (invoice.PeriodStartDate is not None and invoice.PeriodStartDate.date() == start)


def reconcile(lines: list[StoredLine], invoices: list[InvoiceDto]) -> list[Reconciled]:
    """For every pushed line: invoiced as pushed, invoiced with another quantity, or not invoiced yet.

    Only the invoice items at the line's rate count: a contract invoice may carry other items (a setup fee)."""
    results = []
    for line in lines:
        matching = [invoice for invoice in invoices if _covers(invoice, line)]
        if not matching:
            results.append(Reconciled(line, NOT_INVOICED))
            continue
        items = [item for invoice in matching for item in invoice.LineItems if item.Rate == line.rate]
        quantity = sum((item.Quantity for item in items), Decimal(0))
        amount = sum((item.Subtotal for item in items), Decimal(0))
        status = MATCHED if quantity == line.quantity else DIFFERS
        numbers = tuple(sorted(invoice.InvoiceNumber for invoice in matching))
        results.append(Reconciled(line, status, quantity, amount, numbers))
    return results
