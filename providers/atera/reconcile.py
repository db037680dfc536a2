"""Reconciliation: what Atera invoiced for each pushed line, against what the connector pushed. Pure, no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mappings.lines import Line, StoredLine
from mappings.truth import ContractRef, Held, compare, same
from providers.atera.models import InvoiceDto
from providers.atera.verify import PSA

MATCHED = "invoiced as pushed"
DIFFERS = "invoiced differently"
NOT_INVOICED = "not invoiced yet"
RATE_DIFFERS = "invoiced at another rate"


@dataclass(frozen=True)
class Reconciled:
    """One pushed line and what Atera's invoices say about it."""

    stored: StoredLine
    status: str
    invoiced_quantity: Decimal | None = None
    invoiced_amount: Decimal | None = None
    invoice_numbers: tuple[int, ...] = ()
    # What the contract says now, by the comparison every sync makes (inactive, ended, another rate, edited).
    reason: str = ""

    @property
    def line(self) -> Line:
        return self.stored.line

    @property
    def mismatch(self) -> bool:
        return self.status in (DIFFERS, RATE_DIFFERS) or (self.status == NOT_INVOICED and bool(self.reason))


def _key(text: str | None) -> str:
    return (text or "").strip().casefold()


def _covers(invoice: InvoiceDto, line: Line) -> bool:
    if invoice.IsAdhoc or _key(invoice.ContractName) != _key(line.contract):
        return False
    if not _customer_of(invoice, line.psa_customer):
        return False
    # Atera invoices a contract per billing period; the period's first day ties the invoice to the line.
    start = line.period_start
    return start is None or (invoice.PeriodStartDate is not None and invoice.PeriodStartDate.date() == start)


def invoiced_starts(invoices: Iterable[InvoiceDto], refs: Sequence[ContractRef]) -> dict[ContractRef, set[date]]:
    """Per mapped contract, the first day of every period its invoices bill: an invoice is the contract's when it
    names the contract and (if it says) the customer, ignoring case, as `reconcile` matches them; ad hoc ones never."""
    by_contract: dict[str, list[InvoiceDto]] = defaultdict(list)
    for invoice in invoices:
        if not invoice.IsAdhoc and invoice.PeriodStartDate is not None:
            by_contract[_key(invoice.ContractName)].append(invoice)
    found: dict[ContractRef, set[date]] = {}
    for ref in refs:
        found[ref] = {
            invoice.PeriodStartDate.date()
            for invoice in by_contract.get(_key(ref.contract), [])
            if invoice.PeriodStartDate is not None and _customer_of(invoice, ref.psa_customer)
        }
    return found


def _customer_of(invoice: InvoiceDto, psa_customer: str) -> bool:
    company = invoice.To.CompanyName if invoice.To is not None else None
    return not company or _key(company) == _key(psa_customer)


def ref_of(line: Line) -> ContractRef:
    return ContractRef(line.psa_customer, line.psa_customer_id, line.contract, line.contract_id)


def _contract_now(line: Line, held: Held | None) -> str:
    """Why the contract would not invoice what was pushed, by the sync's own comparison; "" when it would."""
    if held is None or line.period_start is None or line.period_end is None:
        return ""
    finding = compare(
        held, psa=PSA, period_start=line.period_start, period_end=line.period_end, rate=line.rate, pushed=line.quantity
    )
    return f"{finding.outcome}: {finding.reason}" if finding is not None else ""


def reconcile(
    lines: list[StoredLine], invoices: list[InvoiceDto], held: Mapping[ContractRef, Held] | None = None
) -> list[Reconciled]:
    """For every pushed line: invoiced as pushed, with another quantity, at another rate, or not invoiced yet.

    Only the invoice items at the line's rate count: a contract invoice may carry other items (a setup fee). `held`
    is what Atera's contracts hold now: a line not invoiced, or invoiced differently, says why its contract differs.
    """
    results = []
    for stored in lines:
        line = stored.line
        why = _contract_now(line, (held or {}).get(ref_of(line)))
        matching = [invoice for invoice in invoices if _covers(invoice, line)]
        if not matching:
            results.append(Reconciled(stored, NOT_INVOICED, reason=why))
            continue
        every = [item for invoice in matching for item in invoice.LineItems]
        items = [item for item in every if same(item.Rate, line.rate)]
        numbers = tuple(sorted(invoice.InvoiceNumber for invoice in matching))
        if not items and every:
            rates = ", ".join(sorted({str(item.Rate) for item in every}))
            why = why or f"rate differs: invoiced at {rates}, pushed at {line.rate}"
            results.append(Reconciled(stored, RATE_DIFFERS, invoice_numbers=numbers, reason=why))
            continue
        quantity = sum((item.Quantity for item in items), Decimal(0))
        amount = sum((item.Subtotal for item in items), Decimal(0))
        status = MATCHED if same(quantity, line.quantity) else DIFFERS
        results.append(Reconciled(stored, status, quantity, amount, numbers, "" if status == MATCHED else why))
    return results
