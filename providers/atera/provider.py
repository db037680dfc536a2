"""The Atera PSA as the registry knows it: settings, per-line options, secrets, read-only views, and the module that
builds its sink, reconcile, checks and demo part (`factories.py`)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from connector.core.secrets import SecretRef
from providers.atera.settings import AteraSettings
from providers.spec import CONFIG, FORMAT, Param, Provider, View


class AteraLineOptions(BaseModel):
    """`[customers.lines.atera]`: how the sink finds or creates the line's Retainer/flat-fee contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_sku: str | None = Field(default=None, description="SKU of the Atera rate product holding the price")
    create_if_missing: bool = Field(default=False, description="Create the rate product and contract if absent")


def _secrets(settings: AteraSettings) -> dict[str, SecretRef]:
    return {"atera.api_key": settings.api_key} if settings.api_key is not None else {}


VIEWS = (
    View(
        "customers",
        "List Atera customers (ID and name, as psa_customer / psa_customer_id want them).",
        "providers.atera.views:customers",
    ),
    View(
        "contracts",
        "List contracts: type, billing period, quantity and rate of each.",
        "providers.atera.views:contracts",
        params=(CONFIG, Param("customer_id", "Only this customer's.", int, flag="--customer-id"), FORMAT),
    ),
    View(
        "devices",
        "Count a customer's agents as PCs, servers and other devices.",
        "providers.atera.views:devices",
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
        "providers.atera.views:invoices",
        params=(
            Param("date_from", "First invoice date (yyyy-mm-dd).", date, flag="--from", required=True),
            Param("date_to", "Last invoice date (yyyy-mm-dd).", date, flag="--to", required=True),
            CONFIG,
            FORMAT,
        ),
    ),
)


PROVIDER = Provider(
    name="atera",
    role="psa",
    settings=AteraSettings,
    summary="Atera PSA: each line is the Quantity of a Retainer/flat-fee contract",
    describe=lambda settings: str(settings.base_url),
    secrets=_secrets,
    line_options=AteraLineOptions,
    legacy_line_keys=("rate_sku", "create_if_missing"),
    views=VIEWS,
    views_help="Read the Atera account the connector pushes to (nothing is written).",
    enable_hint="enable it (with base_url and api_key) to read from Atera",
    factories="providers.atera.factories",
)
