"""The sandbox Autotask's invoicing run: approve and post one billing period, then invoice it per company.

Autotask's Approve and Post turns each recurring service period into a billing item, and invoicing gathers a
company's billing items into an invoice. The sandbox does both in one step, `invoice(account, period_start)`:

- every active (`status` 1) Recurring Service contract (`contractType` 7) takes part with its billing period
  that begins in the month of `period_start` (a contract that began mid-month has its first period begin then);
- every ContractServiceUnits record starting in that period and not yet posted gets `approveAndPostDate`; one
  with units becomes a BillingItem: `contractServicePeriodID` is the record's id, `quantity` its units, `rate` the
  contract service's unit price, `extendedPrice` = `totalAmount` = quantity x rate as a Decimal rounded once to
  cents (no tax), `itemDate` the record's start;
- each company with billing items gets one Invoice, from the period's first day to its last, whose
  `invoiceTotal` is the sum of its items' amounts (exact: each is already in cents);
- each contract service is closed through the period's end: later adjustments effective in it are refused.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from providers.autotask.sandbox_account import (
    DEFAULT_RESOURCE_ID,
    AutotaskAccount,
    cents,
    day,
    decimal,
    midnight,
)
from providers.autotask.sandbox_fields import ACTIVE, wire
from providers.autotask.sandbox_units import periods, records

PAYMENT_DAYS = 30


def _period(contract: dict[str, Any], month: date, today: date) -> tuple[date, date] | None:
    """The contract's billing period that begins in `month`, if it has one."""
    return next((p for p in periods(contract, today) if p[0].replace(day=1) == month), None)


def invoice(account: AutotaskAccount, period_start: date, posted_at: datetime) -> list[dict[str, Any]]:
    """Approve, post and invoice the period that begins in `period_start`'s month; returns the invoices added."""
    month = period_start.replace(day=1)
    today = posted_at.date()
    stamp = wire(posted_at)
    lines: dict[int, list[dict[str, Any]]] = {}
    spans: dict[int, tuple[date, date]] = {}
    for contract in sorted(account.contracts.values(), key=lambda c: c["id"]):
        if not account.is_recurring(contract) or contract.get("status") != ACTIVE:
            continue
        period = _period(contract, month, today)
        if period is None:
            continue
        company = contract["companyID"]
        first, last = spans.get(company, period)
        spans[company] = (min(first, period[0]), max(last, period[1]))
        services = [cs for cs in account.contract_services.values() if cs.get("contractID") == contract["id"]]
        for contract_service in sorted(services, key=lambda cs: cs["id"]):
            for record in records(account, contract_service, today):
                start = day(record["startDate"])
                assert start is not None
                key = (contract_service["id"], start)
                if not period[0] <= start <= period[1] or key in account.posted:
                    continue
                account.posted[key] = stamp
                if record["units"]:
                    lines.setdefault(company, []).append(_billing_item(account, contract_service, record, stamp))
            closed = account.closed_through.get(contract_service["id"])
            account.closed_through[contract_service["id"]] = max(closed or period[1], period[1])
    added = []
    for company, items in sorted(lines.items()):
        made = _invoice(account, company, items, spans[company], posted_at)
        for item in items:
            item["invoiceID"] = made["id"]
            account.billing_items[item["id"]] = item
        account.invoices[made["id"]] = made
        added.append(made)
    return added


def _billing_item(
    account: AutotaskAccount, contract_service: dict[str, Any], record: dict[str, Any], stamp: str
) -> dict[str, Any]:
    quantity = Decimal(record["units"])
    rate = decimal(contract_service.get("unitPrice"))
    amount = cents(quantity * rate)
    cost = cents(quantity * decimal(contract_service.get("unitCost")))
    service = account.services.get(contract_service["serviceID"], {})
    name = str(service.get("name") or f"Service {contract_service['serviceID']}")
    period = f"{record['startDate'][:10]} to {record['endDate'][:10]}"
    return {
        "id": account.new_billing_item_id(),
        "companyID": account.contracts[contract_service["contractID"]]["companyID"],
        "contractID": contract_service["contractID"],
        "serviceID": contract_service["serviceID"],
        "contractServiceID": contract_service["id"],
        "contractServicePeriodID": record["id"],
        "itemName": name,
        "description": f"{name}, {period}",
        "quantity": float(quantity),
        "rate": float(rate),
        "extendedPrice": float(amount),
        "totalAmount": float(amount),
        "taxDollars": 0.0,
        "ourCost": float(cost),
        "internalCurrencyRate": float(rate),
        "internalCurrencyExtendedPrice": float(amount),
        "internalCurrencyTotalAmount": float(amount),
        "internalCurrencyTaxDollars": 0.0,
        "billingCodeID": service.get("billingCodeID"),
        "nonBillable": 0,
        "itemApproverID": DEFAULT_RESOURCE_ID,
        "itemDate": record["startDate"],
        "postedDate": stamp,
        "postedOnTime": stamp,
    }


def _invoice(
    account: AutotaskAccount,
    company: int,
    items: list[dict[str, Any]],
    span: tuple[date, date],
    posted_at: datetime,
) -> dict[str, Any]:
    number = account.new_invoice_id()
    total = sum((decimal(item["totalAmount"]) for item in items), Decimal(0))
    return {
        "id": number,
        "companyID": company,
        "invoiceNumber": str(number),
        "invoiceDateTime": midnight(posted_at.date()),
        "createDateTime": wire(posted_at),
        "creatorResourceID": DEFAULT_RESOURCE_ID,
        "fromDate": midnight(span[0]),
        "toDate": midnight(span[1]),
        "dueDate": midnight(posted_at.date() + timedelta(days=PAYMENT_DAYS)),
        "invoiceTotal": float(cents(total)),
        "totalTaxValue": 0.0,
        "isVoided": False,
    }
