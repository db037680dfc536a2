"""The Atera PSA as the registry knows it: settings, the per-line options mappings give it, the sink, secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from connector.secrets import SecretRef
from providers.atera.client import build_atera_client
from providers.atera.settings import AteraSettings
from providers.spec import BuildContext, Provider

if TYPE_CHECKING:
    from connector.usage import Sink


class AteraLineOptions(BaseModel):
    """`[customers.lines.atera]`: how the sink finds or creates the line's Retainer/flat-fee contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_sku: str | None = Field(default=None, description="SKU of the Atera rate product holding the price")
    create_if_missing: bool = Field(default=False, description="Create the rate product and contract if absent")


def _sink(settings: AteraSettings, context: BuildContext) -> Sink:
    from providers.atera.sink import AteraSink

    return AteraSink(
        lambda: build_atera_client(settings, context.http),
        custom_field=settings.custom_field,
        rate_category=settings.rate_category,
        sla_id=settings.sla_id,
    )


def _secrets(settings: AteraSettings) -> dict[str, SecretRef]:
    return {"atera.api_key": settings.api_key} if settings.api_key is not None else {}


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
)
