"""CLI commands of the atera provider, registered on the main app by connector.cli: read-only views of the PSA."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

import typer

from connector.context import ConfigOption, state
from connector.errors import ConfigError
from connector.output import print_json, print_table
from providers.atera.source import AteraReader

Format = Annotated[
    Literal["table", "json"], typer.Option("--format", "-f", help="table for people, json for machines.")
]


@contextmanager
def _reader(ctx: typer.Context, config: Any) -> Iterator[AteraReader]:
    settings = state(ctx, config).settings()
    if not settings.atera.enabled:
        raise ConfigError("[atera] enabled = false: enable it (with base_url and api_key) to read from Atera")
    reader = AteraReader.from_settings(settings.atera, settings.http)
    try:
        yield reader
    finally:
        reader.close()


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (yyyy-mm-dd)", param_hint=option) from None


def register(app: typer.Typer, usage: typer.Typer) -> None:
    """Add `connector atera ...` (read-only) to the main app; Atera has no usage of its own to show."""
    atera = typer.Typer(help="Read the Atera account the connector pushes to (nothing is written).")
    app.add_typer(atera, name="atera")

    @atera.command()
    def customers(ctx: typer.Context, config: ConfigOption = None, output: Format = "table") -> None:
        """List Atera customers (ID and name, as psa_customer / psa_customer_id want them)."""
        with _reader(ctx, config) as reader:
            found = reader.customers()
        if output == "json":
            print_json([c.model_dump(mode="json", include={"CustomerID", "CustomerName"}) for c in found])
            return
        print_table("Atera customers", ["ID", "name"], [(c.CustomerID, c.CustomerName) for c in found])

    @atera.command()
    def contracts(
        ctx: typer.Context,
        config: ConfigOption = None,
        customer_id: Annotated[int | None, typer.Option("--customer-id", help="Only this customer's.")] = None,
        output: Format = "table",
    ) -> None:
        """List contracts: type, billing period, quantity and rate of each."""
        with _reader(ctx, config) as reader:
            found = reader.contract_dtos(customer_id)
        if output == "json":
            print_json([c.model_dump(mode="json", exclude_none=True) for c in found])
            return
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
        print_table("Atera contracts", columns, rows, numeric=("quantity",))

    @atera.command()
    def devices(
        ctx: typer.Context,
        customer_id: Annotated[int, typer.Option("--customer-id", help="Atera CustomerID.")],
        config: ConfigOption = None,
        all_agents: Annotated[bool, typer.Option("--all", help="Count unmonitored agents too.")] = False,
        output: Format = "table",
    ) -> None:
        """Count a customer's agents as PCs, servers and other devices."""
        with _reader(ctx, config) as reader:
            counts = reader.devices(customer_id, monitored_only=not all_agents)
        data = {"pc": counts.pc, "server": counts.server, "other": counts.other, "agents": counts.agents}
        if output == "json":
            print_json(data)
            return
        print_table(
            f"Agents of customer {customer_id}",
            ["class", "count", "agents"],
            [(name, len(agents), ", ".join(agents)) for name, agents in counts.agents.items()],
            numeric=("count",),
        )

    @atera.command()
    def invoices(
        ctx: typer.Context,
        date_from: Annotated[str, typer.Option("--from", help="First invoice date (yyyy-mm-dd).")],
        date_to: Annotated[str, typer.Option("--to", help="Last invoice date (yyyy-mm-dd).")],
        config: ConfigOption = None,
        output: Format = "table",
    ) -> None:
        """List invoices dated in a range, line by line (to reconcile with what was pushed)."""
        start, end = _day(date_from, "--from"), _day(date_to, "--to")
        if end < start:
            raise typer.BadParameter(f"{end} is before --from {start}", param_hint="--to")
        with _reader(ctx, config) as reader:
            found = reader.invoices(start, end)
        if output == "json":
            print_json([i.model_dump(mode="json") for i in found])
            return
        rows = [
            (
                i.InvoiceNumber,
                _date_text(i.InvoiceDate),
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
        print_table("Atera invoices", columns, rows, numeric=("quantity", "rate", "subtotal"))


def _date_text(value: datetime) -> str:
    return value.date().isoformat()
