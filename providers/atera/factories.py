"""What builds the Atera PSA's parts: the sink, reconcile, `check --online`, `connector map`'s lists and onboarding,
and the demo part. Imported only when a command needs one of them (`Provider.load`), with the HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from connector.interfaces.psa import Sink
from mappings.lines import StoredLine
from providers.atera.client import build_atera_client
from providers.atera.demo import demo_part as demo
from providers.atera.invoicing import InvoicingAteraSink
from providers.atera.onboard import contract_names as contracts
from providers.atera.onboard import onboarder
from providers.atera.reconcile import reconcile as reconcile_lines
from providers.atera.reconcile import ref_of
from providers.atera.resolve import probe, resolve
from providers.atera.settings import AteraSettings
from providers.atera.source import AteraReader
from providers.atera.verify import resolve as resolve_contract
from providers.spec import BuildContext, Reconciled

__all__ = ["build_sink", "contracts", "customers", "demo", "onboarder", "probe", "reconcile", "resolve"]


def build_sink(settings: AteraSettings, context: BuildContext) -> Sink:
    """The sink lines are pushed to; it also tells the billing calendar which periods Atera's invoices bill (one
    read per run)."""
    return InvoicingAteraSink(
        lambda: build_atera_client(settings, context.http),
        custom_field=settings.custom_field,
        rate_category=settings.rate_category,
        sla_id=settings.sla_id,
        timezone=context.timezone,
    )


def reconcile(
    settings: AteraSettings, context: BuildContext, lines: list[StoredLine], start: date, end: date
) -> Sequence[Reconciled]:
    """Pushed lines against the invoices Atera dated in [start, end]."""
    reader = AteraReader.from_settings(settings, context.http)
    try:
        # The contracts as every sync reads them (two lists), so a line not invoiced says why its contract differs.
        held_customers, held_contracts = reader.customers(), reader.contract_dtos()
        held = {
            ref: resolve_contract(ref, held_customers, held_contracts, context.timezone)
            for ref in {ref_of(s.line) for s in lines}
        }
        return reconcile_lines(lines, reader.invoices(start, end), held, zone=context.timezone)
    finally:
        reader.close()


def customers(settings: AteraSettings, context: BuildContext) -> list[tuple[int, str]]:
    """Every Atera customer as (CustomerID, CustomerName), for `connector map`."""
    reader = AteraReader.from_settings(settings, context.http)
    try:
        return [(c.CustomerID, c.CustomerName) for c in reader.customers()]
    finally:
        reader.close()
