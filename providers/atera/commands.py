"""CLI commands of the atera provider, registered on the main app by connector.cli: read-only views of the PSA."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import typer

from connector.context import ConfigOption, FormatOption, state
from connector.errors import ConfigError, ConnectorError
from connector.output import print_json, print_table
from connector.store import Store
from mappings.lines import LineStatus
from providers.atera.reconcile import line_period
from providers.atera.reconcile import reconcile as reconcile_lines
from providers.atera.source import AteraReader

log = logging.getLogger(__name__)


@contextmanager
def _reader(ctx: typer.Context, config: Any) -> Iterator[AteraReader]:
    settings = state(ctx, config).settings()
    if not settings.section("atera").enabled:
        raise ConfigError("[atera] enabled = false: enable it (with base_url and api_key) to read from Atera")
    reader = AteraReader.from_settings(settings.section("atera"), settings.http)
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
    register_reconcile(app)

    @atera.command()
    def customers(ctx: typer.Context, config: ConfigOption = None, output: FormatOption = "table") -> None:
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
        output: FormatOption = "table",
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
        output: FormatOption = "table",
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
        output: FormatOption = "table",
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


def register_reconcile(app: typer.Typer) -> None:
    """`connector reconcile`: pushed lines against the invoices Atera generated from them."""

    @app.command()
    def reconcile(
        ctx: typer.Context,
        period: Annotated[str, typer.Option(help="Period key of the pushed lines to check (2026-11, 2026-Q4, …).")],
        config: ConfigOption = None,
        grace_days: Annotated[
            int, typer.Option(help="Invoices dated up to this many days after the period end count.", min=0)
        ] = 45,
        output: FormatOption = "table",
    ) -> None:
        """Check every line pushed for a period against Atera's invoices: invoiced as pushed, differently, or not yet.

        Exit 3 when any invoice carries another quantity than the one pushed.
        """
        settings = state(ctx, config).settings()
        with Store.open(settings.store.path) as store:
            pushed = [line for line in store.outbox.lines(LineStatus.PUSHED) if line.line.period_key == period]
        if not pushed:
            raise ConnectorError(f"no pushed lines for period {period!r}; `connector explain CUSTOMER` lists periods")
        bounds = [day for line in pushed for day in line_period(line) if day is not None]
        start = min(bounds, default=date.today())
        end = max(bounds, default=start) + timedelta(days=grace_days)
        with _reader(ctx, config) as reader:
            found = reconcile_lines(pushed, reader.invoices(start, end))
        rows: list[dict[str, Any]] = [
            {
                "id": r.stored.id,
                "psa_customer": r.line.psa_customer,
                "contract": r.line.contract,
                "period": r.line.period_key,
                "pushed_quantity": r.line.quantity,
                "pushed_amount": r.line.amount,
                "invoiced_quantity": r.invoiced_quantity,
                "invoiced_amount": r.invoiced_amount,
                "invoices": list(r.invoice_numbers),
                "status": r.status,
            }
            for r in found
        ]
        if output == "json":
            print_json(rows)
        else:
            print_table(
                f"Pushed lines of {period} against Atera invoices dated {start} to {end}",
                ["PSA customer", "contract", "pushed", "invoiced", "invoices", "status"],
                [
                    (
                        r["psa_customer"],
                        r["contract"],
                        f"{r['pushed_quantity']} = {r['pushed_amount']}",
                        "" if r["invoiced_quantity"] is None else f"{r['invoiced_quantity']} = {r['invoiced_amount']}",
                        ", ".join(map(str, r["invoices"])),
                        r["status"],
                    )
                    for r in rows
                ],
            )
        if any(r.mismatch for r in found):
            for r in found:
                if r.mismatch:
                    log.error(
                        "%s / %s / %s: pushed %s, Atera invoiced %s (invoice %s)",
                        r.line.psa_customer,
                        r.line.contract,
                        r.line.period_key,
                        r.line.quantity,
                        r.invoiced_quantity,
                        ", ".join(map(str, r.invoice_numbers)),
                    )
            raise typer.Exit(3)


def _date_text(value: datetime) -> str:
    return value.date().isoformat()
