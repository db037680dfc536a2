"""What the connectwise provider shows (typer-free): read-only views of the PSA's companies, agreements, an
agreement's additions, and invoices."""

from __future__ import annotations

from datetime import date, datetime

from connector.core.errors import ParameterError
from providers.connectwise.client import ConnectWiseClient, build_connectwise_client
from providers.connectwise.dates import day_in
from providers.connectwise.provider import PROVIDER
from providers.spec import Table, ViewInput, ViewResult


def _client(view: ViewInput) -> ConnectWiseClient:
    settings = view.settings()
    return build_connectwise_client(PROVIDER.enabled_section(settings), settings.http)


def _day(view: ViewInput, moment: datetime | None) -> str:
    # The day shown is the MSP's, as the sync compares it.
    return day_in(moment, view.settings().billing.timezone).isoformat() if moment is not None else ""


def companies(view: ViewInput) -> ViewResult:
    with _client(view) as client:
        found = [c for c in client.companies() if not c.deletedFlag]
    return ViewResult(
        data=[c.model_dump(mode="json", include={"id", "identifier", "name"}) for c in found],
        tables=[
            Table("ConnectWise companies", ["ID", "identifier", "name"], [(c.id, c.identifier, c.name) for c in found])
        ],
    )


def agreements(view: ViewInput) -> ViewResult:
    company_id = view.args.get("company_id")
    with _client(view) as client:
        found = list(client.agreements_of([company_id]) if company_id is not None else client.agreements())
    rows = [
        (
            a.id,
            a.company.name or a.company.id,
            a.name,
            a.type.name if a.type else "",
            a.status,
            _day(view, a.startDate),
            "none" if a.noEndingDateFlag else _day(view, a.endDate),
        )
        for a in found
    ]
    columns = ["ID", "company", "name", "type", "status", "start", "end"]
    return ViewResult(
        data=[a.model_dump(mode="json", exclude_none=True) for a in found],
        tables=[Table("ConnectWise agreements", columns, rows)],
    )


def additions(view: ViewInput) -> ViewResult:
    agreement_id: int = view.args["agreement_id"]
    with _client(view) as client:
        found = list(client.additions(agreement_id))
    rows = [
        (
            a.id,
            a.product.identifier or a.product.id,
            a.description or "",
            a.quantity if a.quantity is not None else "",
            a.unitPrice if a.unitPrice is not None else "",
            a.lessIncluded if a.lessIncluded is not None else "",
            a.billCustomer or "",
            _day(view, a.effectiveDate),
            _day(view, a.cancelledDate),
        )
        for a in found
    ]
    columns = ["ID", "product", "description", "quantity", "unit price", "less included", "bill", "from", "cancelled"]
    return ViewResult(
        data=[a.model_dump(mode="json", exclude_none=True) for a in found],
        tables=[
            Table(
                f"Additions of agreement {agreement_id}",
                columns,
                rows,
                numeric=("quantity", "unit price", "less included"),
            )
        ],
    )


def invoices(view: ViewInput) -> ViewResult:
    start: date = view.args["date_from"]
    end: date = view.args["date_to"]
    if end < start:
        raise ParameterError(f"{end} is before --from {start}", param="--to")
    zone = view.settings().billing.timezone
    with _client(view) as client:
        found = list(client.invoices_dated(start, end, zone))
    rows = [
        (
            i.invoiceNumber or i.id,
            day_in(i.date, zone).isoformat() if i.date else "",
            i.type or "",
            i.company.name if i.company else "",
            i.agreement.name if i.agreement and i.agreement.name else "",
            i.agreementAmount if i.agreementAmount is not None else "",
            i.subtotal if i.subtotal is not None else "",
            i.total if i.total is not None else "",
        )
        for i in found
    ]
    columns = ["invoice", "date", "type", "company", "agreement", "agreement amount", "subtotal", "total"]
    return ViewResult(
        data=[i.model_dump(mode="json", exclude_none=True) for i in found],
        tables=[Table("ConnectWise invoices", columns, rows, numeric=("agreement amount", "subtotal", "total"))],
        notes=[] if found else [f"no invoice dated {start} to {end} ({zone})"],
    )
