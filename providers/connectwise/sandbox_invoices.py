"""The sandbox ConnectWise's invoicing run: one `Agreement` invoice per agreement in force, from its additions.

ConnectWise bills an agreement's recurring additions on an invoice of type `Agreement` applied to the agreement
(`applyToType`, `applyToId`). The `Invoice` schema has no lines and names no addition, so a client that checks what
was invoiced can compare only amounts per agreement: `agreementAmount` is the sum over the agreement's billable
additions in force of (quantity - lessIncluded) x unitPrice, each line computed as a Decimal and rounded once to
cents (so it equals the sum of those additions' `extPrice`). Untaxed, so the totals equal it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from providers.connectwise.sandbox_account import ConnectWiseAccount, cents, decimal, moment

PAYMENT_DAYS = 30


def in_force(agreement: dict[str, Any], on: date) -> bool:
    """Not cancelled, started on or before `on`, and not ended before it."""
    if agreement.get("cancelledFlag"):
        return False
    start = moment(agreement.get("startDate"))
    end = None if agreement.get("noEndingDateFlag") else moment(agreement.get("endDate"))
    return (start is None or start.date() <= on) and (end is None or end.date() >= on)


def billable(addition: dict[str, Any], on: date) -> bool:
    """Billed to the customer, in effect on `on`, and not cancelled by then."""
    effective = moment(addition.get("effectiveDate"))
    cancelled = moment(addition.get("cancelledDate"))
    return (
        addition.get("billCustomer") == "Billable"
        and (effective is None or effective.date() <= on)
        and (cancelled is None or cancelled.date() > on)
    )


def agreement_amount(account: ConnectWiseAccount, agreement_id: int, on: date) -> Decimal:
    """What the agreement's billable additions come to on `on`: the sum of their lines, each rounded to cents."""
    total = Decimal(0)
    for addition in account.additions.get(agreement_id, {}).values():
        if billable(addition, on):
            quantity = decimal(addition.get("quantity")) - decimal(addition.get("lessIncluded"))
            total += cents(quantity * decimal(addition.get("unitPrice")))
    return total


def invoice_agreements(account: ConnectWiseAccount, on: date) -> list[dict[str, Any]]:
    """Invoice every agreement in force on `on`, as ConnectWise's invoicing run would; returns the invoices added."""
    added = []
    for agreement in sorted(account.agreements.values(), key=lambda a: a["id"]):
        if not in_force(agreement, on):
            continue
        invoice = _invoice(account, agreement, on, float(agreement_amount(account, agreement["id"], on)))
        account.invoices[invoice["id"]] = invoice
        added.append(invoice)
    return added


def _invoice(account: ConnectWiseAccount, agreement: dict[str, Any], on: date, amount: float) -> dict[str, Any]:
    number = account.new_invoice_id()
    company = agreement["company"]
    return {
        "id": number,
        "invoiceNumber": str(number),
        "type": "Agreement",
        "status": {"id": 1, "name": "New", "isClosed": False},
        "company": dict(company),
        "billToCompany": dict(company),
        "applyToType": "Agreement",
        "applyToId": agreement["id"],
        "agreement": {"id": agreement["id"], "name": agreement["name"], "type": agreement["type"]["name"]},
        "date": f"{on.isoformat()}T00:00:00Z",
        "dueDate": f"{(on + timedelta(days=PAYMENT_DAYS)).isoformat()}T00:00:00Z",
        "taxableFlag": False,
        "agreementAmount": amount,
        "serviceTotal": 0.0,
        "expenseTotal": 0.0,
        "productTotal": 0.0,
        "subtotal": amount,
        "salesTax": 0.0,
        "total": amount,
        "payments": 0.0,
        "credits": 0.0,
        "balance": amount,
        "_info": account.info(),
    }
