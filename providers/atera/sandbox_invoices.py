"""The sandbox Atera's invoices: the billing endpoints, and an invoicing run over the Retainer contracts.

Handlers as in `providers.atera.sandbox_handlers`: (account, request, path groups) -> response or list of items.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from providers.atera.sandbox_account import AteraAccount
from providers.atera.sandbox_handlers import Reply, problem
from providers.sandbox import SandboxRequest, SandboxResponse

DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def list_invoices(account: AteraAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    bounds: dict[str, date] = {}
    for name in ("invoiceDateFrom", "invoiceDateTo"):
        value = request.param(name)
        if value is None:
            continue
        if not DATE_PATTERN.match(value):
            return problem(400, "Bad Request", f"{name} must be yyyy-MM-dd")
        bounds[name] = date.fromisoformat(value)
    start, end = bounds.get("invoiceDateFrom", date.min), bounds.get("invoiceDateTo", date.max)
    if "invoiceDateFrom" in bounds and "invoiceDateTo" in bounds and end < start:
        return problem(400, "Bad Request", "invoiceDateTo is before invoiceDateFrom")
    return [i for i in account.invoices if start <= _account_day(i["InvoiceDate"], account.timezone) <= end]


def _account_day(text: str, zone: str) -> date:
    """The day a date Atera wrote falls on in the account's zone (what its date filters compare)."""
    moment = datetime.fromisoformat(text)
    return moment.astimezone(ZoneInfo(zone)).date() if moment.tzinfo is not None else moment.date()


def _written(day: date, zone: str, utc: bool) -> str:
    """Midnight of `day` as Atera writes it: without an offset (the account's zone), or as the UTC instant."""
    if not utc:
        return f"{day.isoformat()}T00:00:00"
    instant = datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def get_invoice(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    found = next((i for i in account.invoices if i["InvoiceNumber"] == int(match["number"])), None)
    if found is None:
        return problem(404, "Not Found", f"invoice {match['number']} does not exist")
    return SandboxResponse.of_json(found)


def invoice_retainers(
    account: AteraAccount, start: date, end: date, invoice_date: date, *, utc: bool = False
) -> list[dict[str, Any]]:
    """Invoice every active Retainer contract for [start, end] at its current Quantity x Rate, as Atera's
    invoicing run would (untaxed, so totals are easy to check). Returns the invoices it added. `utc`: dates written
    as the UTC instants of midnight in the account's zone, else without an offset."""
    dates = tuple(_written(day, account.timezone, utc) for day in (start, end, invoice_date))
    added = []
    number = max([5000, *(i["InvoiceNumber"] for i in account.invoices)])  # the first is 5001
    for contract in sorted(account.contracts.values(), key=lambda c: c["ContractID"]):
        retainer = contract.get("RetainerFlatFeeContract")
        if contract.get("ContractType") != "RetainerFlatFee" or not contract.get("Active") or not retainer:
            continue
        number += 1
        customer = account.customers.get(contract["CustomerID"], {})
        added.append(_invoice(number, contract, retainer, customer, dates))
    account.invoices.extend(added)
    return added


def _invoice(
    number: int,
    contract: dict[str, Any],
    retainer: dict[str, Any],
    customer: dict[str, Any],
    dates: tuple[str, ...],
) -> dict[str, Any]:
    """A one-line invoice of a Retainer contract (InvoiceDto), for the period and on the date in `dates` (as
    written: period start, period end, invoice date)."""
    start, end, invoice_date = dates
    rate = retainer.get("Rate") or {}
    quantity = Decimal(str(retainer.get("Quantity") or 0))
    subtotal = float((quantity * Decimal(str(rate.get("Amount", 0)))).quantize(Decimal("0.01")))
    line = {
        "Product": rate.get("SKU"),
        "Description": rate.get("Description"),
        "Quantity": float(quantity),
        "Rate": rate.get("Amount", 0),
        "TaxPercentage": 0.0,
        "DiscountPercentage": None,
        "Total": subtotal,
        "Subtotal": subtotal,
        "Tax": 0.0,
        "LineIdx": 0,
    }
    return {
        "IsAdhoc": False,
        "InvoiceId": f"sandbox-invoice-{number}",
        "InvoiceNumber": number,
        "Total": subtotal,
        "Subtotal": subtotal,
        "Tax": 0.0,
        "TaxPercentage": 0.0,
        "InvoiceDate": invoice_date,
        "ContractName": contract["ContractName"],
        "PeriodStartDate": start,
        "PeriodEndDate": end,
        "Currency": "GBP",
        "LineItems": [line],
        "From": {"CompanyName": "Example MSP Ltd", "Email": "billing@msp.example"},
        "To": {"CompanyName": customer.get("CustomerName"), "Email": None},
    }
