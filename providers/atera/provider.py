"""The Atera PSA as the registry knows it: settings, per-line options, the sink, secrets, reconcile, read-only views."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from connector.core.secrets import SecretRef
from providers.atera.settings import AteraSettings
from providers.spec import (
    CONFIG,
    FORMAT,
    BuildContext,
    Finding,
    Param,
    Provider,
    Reconciled,
    View,
    ViewInput,
    ViewResult,
)

if TYPE_CHECKING:
    from connector.interfaces.psa import Sink
    from mappings.customer import CustomerMapping
    from mappings.lines import StoredLine
    from providers.onboarding import Onboarder
    from providers.spec import DemoKit, DemoPart


class AteraLineOptions(BaseModel):
    """`[customers.lines.atera]`: how the sink finds or creates the line's Retainer/flat-fee contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_sku: str | None = Field(default=None, description="SKU of the Atera rate product holding the price")
    create_if_missing: bool = Field(default=False, description="Create the rate product and contract if absent")


def _sink(settings: AteraSettings, context: BuildContext) -> Sink:
    # The client (httpx) loads when a sync builds the sink, so the registry alone imports no HTTP stack.
    from providers.atera.client import build_atera_client
    from providers.atera.invoicing import InvoicingAteraSink

    # It pushes, and tells the billing calendar which periods Atera's invoices bill (one read per run).
    return InvoicingAteraSink(
        lambda: build_atera_client(settings, context.http),
        custom_field=settings.custom_field,
        rate_category=settings.rate_category,
        sla_id=settings.sla_id,
        timezone=context.timezone,
    )


def _secrets(settings: AteraSettings) -> dict[str, SecretRef]:
    return {"atera.api_key": settings.api_key} if settings.api_key is not None else {}


def _reconcile(
    settings: AteraSettings, context: BuildContext, lines: list[StoredLine], start: date, end: date
) -> Sequence[Reconciled]:
    """Pushed lines against the invoices Atera dated in [start, end]."""
    from providers.atera.reconcile import reconcile, ref_of
    from providers.atera.source import AteraReader
    from providers.atera.verify import resolve

    reader = AteraReader.from_settings(settings, context.http)
    try:
        # The contracts as every sync reads them (two lists), so a line not invoiced says why its contract differs.
        customers, contracts = reader.customers(), reader.contract_dtos()
        held = {ref: resolve(ref, customers, contracts, context.timezone) for ref in {ref_of(s.line) for s in lines}}
        return reconcile(lines, reader.invoices(start, end), held, zone=context.timezone)
    finally:
        reader.close()


# `check --online`'s module loads only when that command runs.
def _probe(settings: AteraSettings, context: BuildContext) -> list[Finding]:
    from providers.atera.resolve import probe

    return probe(settings, context)


def _resolve(settings: AteraSettings, context: BuildContext, mappings: Sequence[CustomerMapping]) -> list[Finding]:
    from providers.atera.resolve import resolve

    return resolve(settings, context, mappings)


def _customer_names(settings: AteraSettings, context: BuildContext) -> list[tuple[int, str]]:
    """Every Atera customer as (CustomerID, CustomerName), for `connector map`."""
    from providers.atera.source import AteraReader

    reader = AteraReader.from_settings(settings, context.http)
    try:
        return [(c.CustomerID, c.CustomerName) for c in reader.customers()]
    finally:
        reader.close()


# `connector map`'s list of PSA-only customers and `--create-customers`: their module loads when they run.
def _contract_names(settings: AteraSettings, context: BuildContext) -> list[tuple[int, str, str]]:
    from providers.atera.onboard import contract_names

    return contract_names(settings, context)


def _onboarder(settings: AteraSettings, context: BuildContext) -> Onboarder:
    from providers.atera.onboard import onboarder

    return onboarder(settings, context)


# The views module (and the client it reads with) loads only when one of its commands runs.
def _customers(view: ViewInput) -> ViewResult:
    from providers.atera.views import customers

    return customers(view)


def _contracts(view: ViewInput) -> ViewResult:
    from providers.atera.views import contracts

    return contracts(view)


def _devices(view: ViewInput) -> ViewResult:
    from providers.atera.views import devices

    return devices(view)


def _invoices(view: ViewInput) -> ViewResult:
    from providers.atera.views import invoices

    return invoices(view)


VIEWS = (
    View("customers", "List Atera customers (ID and name, as psa_customer / psa_customer_id want them).", _customers),
    View(
        "contracts",
        "List contracts: type, billing period, quantity and rate of each.",
        _contracts,
        params=(CONFIG, Param("customer_id", "Only this customer's.", int, flag="--customer-id"), FORMAT),
    ),
    View(
        "devices",
        "Count a customer's agents as PCs, servers and other devices.",
        _devices,
        params=(
            Param("customer_id", "Atera CustomerID.", int, flag="--customer-id", required=True),
            CONFIG,
            Param("all_agents", "Count unmonitored agents too.", bool, flag="--all"),
            FORMAT,
        ),
    ),
    View(
        "invoices",
        "List invoices dated in a range, line by line (to reconcile with what was pushed).",
        _invoices,
        params=(
            Param("date_from", "First invoice date (yyyy-mm-dd).", date, flag="--from", required=True),
            Param("date_to", "Last invoice date (yyyy-mm-dd).", date, flag="--to", required=True),
            CONFIG,
            FORMAT,
        ),
    ),
)


# The demo part (and the sandbox it starts) loads only when `connector demo` runs.
def _demo(kit: DemoKit) -> DemoPart[Any]:
    from providers.atera.demo import demo_part

    return demo_part(kit)


PROVIDER = Provider(
    name="atera",
    role="psa",
    settings=AteraSettings,
    summary="Atera PSA: each line is the Quantity of a Retainer/flat-fee contract",
    describe=lambda settings: str(settings.base_url),
    secrets=_secrets,
    build_sink=_sink,
    line_options=AteraLineOptions,
    legacy_line_keys=("rate_sku", "create_if_missing"),
    reconcile=_reconcile,
    customers=_customer_names,
    contracts=_contract_names,
    onboarder=_onboarder,
    probe=_probe,
    resolve=_resolve,
    views=VIEWS,
    views_help="Read the Atera account the connector pushes to (nothing is written).",
    enable_hint="enable it (with base_url and api_key) to read from Atera",
    demo=_demo,
)
