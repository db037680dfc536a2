"""What the atera provider shows (typer-free): read-only views of the PSA's customers, contracts, agents, invoices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from connector.core.errors import ParameterError
from providers.atera.dates import day_in
from providers.atera.provider import PROVIDER
from providers.atera.source import AteraReader
from providers.spec import Table, ViewInput, ViewResult


@contextmanager
def _reader(view: ViewInput) -> Iterator[AteraReader]:
    settings = view.settings()
    reader = AteraReader.from_settings(PROVIDER.enabled_section(settings), settings.http)
    try:
        yield reader
    finally:
        reader.close()


def customers(view: ViewInput) -> ViewResult:
    with _reader(view) as reader:
        found = reader.customers()
    return ViewResult(
        data=[c.model_dump(mode="json", include={"CustomerID", "CustomerName"}) for c in found],
        tables=[Table("Atera customers", ["ID", "name"], [(c.CustomerID, c.CustomerName) for c in found])],
    )


def contracts(view: ViewInput) -> ViewResult:
    with _reader(view) as reader:
        found = reader.contract_dtos(view.args.get("customer_id"))
    rows = []
    for c in found:
        retainer = c.RetainerFlatFeeContract
        rate = retainer.Rate if retainer is not None else None
        rows.append(
            (
                c.ContractID,
                c.CustomerName,
                c.ContractName,
                c.ContractType.value,
                "yes" if c.Active else "no",
                retainer.Quantity if retainer is not None else "",
                f"{rate.Amount} ({rate.SKU})" if rate is not None else "",
            )
        )
    columns = ["ID", "customer", "name", "type", "active", "quantity", "rate"]
    return ViewResult(
        data=[c.model_dump(mode="json", exclude_none=True) for c in found],
        tables=[Table("Atera contracts", columns, rows, numeric=("quantity",))],
    )


def devices(view: ViewInput) -> ViewResult:
    customer_id: int = view.args["customer_id"]
    with _reader(view) as reader:
        counts = reader.devices(customer_id, monitored_only=not view.args.get("all_agents"))
    table = Table(
        f"Agents of customer {customer_id}",
        ["class", "count", "agents"],
        [(name, len(agents), ", ".join(agents)) for name, agents in counts.agents.items()],
        numeric=("count",),
    )
    data = {"pc": counts.pc, "server": counts.server, "other": counts.other, "agents": counts.agents}
    return ViewResult(data=data, tables=[table])


def invoices(view: ViewInput) -> ViewResult:
    start: date = view.args["date_from"]
    end: date = view.args["date_to"]
    if end < start:
        raise ParameterError(f"{end} is before --from {start}", param="--to")
    with _reader(view) as reader:
        found = reader.invoices(start, end)
    zone = view.settings().billing.timezone  # the day shown is the MSP's, as the sync compares it
    rows = [
        (
            i.InvoiceNumber,
            day_in(i.InvoiceDate, zone).isoformat(),
            i.To.CompanyName if i.To else "",
            i.ContractName,
            item.Product,
            item.Quantity,
            item.Rate,
            item.Subtotal,
        )
        for i in found
        for item in i.LineItems
    ]
    columns = ["invoice", "date", "customer", "contract", "product", "quantity", "rate", "subtotal"]
    return ViewResult(
        data=[i.model_dump(mode="json") for i in found],
        tables=[Table("Atera invoices", columns, rows, numeric=("quantity", "rate", "subtotal"))],
    )
