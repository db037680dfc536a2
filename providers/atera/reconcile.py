"""Reconciliation: what Atera invoiced for each pushed line, against what the connector pushed. Pure, no I/O."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal

from mappings.lines import Line, StoredLine
from mappings.truth import ContractRef, Held, HeldContract, compare, same
from providers.atera.dates import day_in
from providers.atera.models import InvoiceDto
from providers.atera.verify import PSA, key
from providers.spec import DIFFERS, MATCHED, NOT_INVOICED, RATE_DIFFERS, Reconciled

log = logging.getLogger(__name__)


# (customer, contract): the names an invoice must carry to count for a mapped contract.
Names = tuple[str, str]


def unattributed(invoice: InvoiceDto) -> str | None:
    """Why an invoice can be tied to no contract, else None: it counts only for the customer and the contract it
    names. One that names no customer is nobody's, never every customer's with a contract of that name."""
    if not key(invoice.ContractName):
        return "no contract"
    if not _company(invoice):
        return "no customer"
    return None


def _company(invoice: InvoiceDto) -> str:
    return key(invoice.To.CompanyName if invoice.To is not None else None)


def atera_names(ref: ContractRef, held: Held | None) -> Names:
    """The names Atera's invoices carry for a mapped contract: Atera's own where the mapping gives an id (the
    mapping's names may then differ from Atera's), else the mapping's."""
    by_id = ref.psa_customer_id is not None or ref.contract_id is not None
    if by_id and isinstance(held, HeldContract) and held.customer_matches:
        return held.customer, held.name
    return ref.psa_customer, ref.contract


def _covers(invoice: InvoiceDto, names: Names, line: Line, zone: str) -> bool:
    customer, contract = names
    if invoice.IsAdhoc or unattributed(invoice) is not None:
        return False
    if _company(invoice) != key(customer) or key(invoice.ContractName) != key(contract):
        return False
    # Atera invoices a contract per billing period; the period's first day (in the MSP's zone) ties it to the line.
    start = line.period_start
    return start is None or (invoice.PeriodStartDate is not None and day_in(invoice.PeriodStartDate, zone) == start)


def invoiced_starts(
    invoices: Iterable[InvoiceDto],
    wanted: Mapping[ContractRef, Collection[date]],
    *,
    zone: str = "UTC",
    names: Mapping[ContractRef, Names] | None = None,
) -> dict[ContractRef, set[date]]:
    """Per contract in `wanted`, the first day (in the MSP's `zone`) of every period its invoices bill, matched as
    `reconcile` matches them; ad hoc invoices never count.

    `wanted` holds, per contract, the first days of the periods it waits on: the listing is read only until every
    one is found, since the rest of it can tell nothing more that is needed. `names`: a contract's names as Atera
    holds them, where they are not the mapping's (`atera_names`).
    """
    by_contract: dict[str, list[tuple[ContractRef, str]]] = defaultdict(list)
    for ref in wanted:
        customer, contract = (names or {}).get(ref) or (ref.psa_customer, ref.contract)
        by_contract[key(contract)].append((ref, key(customer)))
    found: dict[ContractRef, set[date]] = {ref: set() for ref in wanted}
    outstanding = {(ref, day) for ref, days in wanted.items() for day in days}
    ignored: dict[str, list[int]] = defaultdict(list)
    for invoice in invoices:
        if invoice.IsAdhoc or invoice.PeriodStartDate is None:
            continue
        why = unattributed(invoice)
        if why is not None:
            ignored[why].append(invoice.InvoiceNumber)
            continue
        day = day_in(invoice.PeriodStartDate, zone)
        for ref, customer in by_contract.get(key(invoice.ContractName), []):
            if customer == _company(invoice):
                found[ref].add(day)
                outstanding.discard((ref, day))
        if not outstanding:
            break
    for why, numbers in ignored.items():
        shown = ", ".join(str(n) for n in numbers[:10]) + (
            f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
        )
        log.warning(
            "%s invoice(s) %s name %s: counted for no contract (an invoice counts only for the customer and the "
            "contract it names), so they move no contract to its next period",
            PSA,
            shown,
            why,
        )
    return found


def ref_of(line: Line) -> ContractRef:
    return ContractRef.of_line(line)


def _contract_now(line: Line, held: Held | None) -> str:
    """Why the contract would not invoice what was pushed, by the sync's own comparison; "" when it would."""
    if held is None or line.period_start is None or line.period_end is None:
        return ""
    finding = compare(
        held, psa=PSA, period_start=line.period_start, period_end=line.period_end, rate=line.rate, pushed=line.quantity
    )
    return f"{finding.outcome}: {finding.reason}" if finding is not None else ""


def reconcile(
    lines: list[StoredLine],
    invoices: list[InvoiceDto],
    held: Mapping[ContractRef, Held] | None = None,
    *,
    zone: str = "UTC",
) -> list[Reconciled]:
    """For every pushed line: invoiced as pushed, with another quantity, at another rate, or not invoiced yet.

    Only the invoice items at the line's rate count: a contract invoice may carry other items (a setup fee). `held`
    is what Atera's contracts hold now: a line not invoiced, or invoiced differently, says why its contract differs.
    `zone` is the MSP's billing zone, the one a line's period is in.
    """
    results = []
    for stored in lines:
        line = stored.line
        contract = (held or {}).get(ref_of(line))
        why = _contract_now(line, contract)
        names = atera_names(ref_of(line), contract)
        matching = [invoice for invoice in invoices if _covers(invoice, names, line, zone)]
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
