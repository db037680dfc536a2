"""The Altaro / Hornetsecurity report-link provider as the registry knows it: settings, metrics, source, secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.secrets import SecretRef
from mappings.enums import Unit
from providers.altaro.client import build_altaro_client
from providers.altaro.settings import AltaroSettings
from providers.spec import BuildContext, MetricSpec, Provider

if TYPE_CHECKING:
    from connector.usage import UsageSource

BILLED_USERS = "altaro.billed_users"
BACKUP_GB = "altaro.backup_gb"


def _source(settings: AltaroSettings, context: BuildContext) -> UsageSource:
    from providers.altaro.source import AltaroSource

    # Each link's key is read as that link is fetched, so the client itself holds no secret.
    return AltaroSource(settings, context.store.ledger, lambda: build_altaro_client(context.http), now=context.now)


def _secrets(settings: AltaroSettings) -> dict[str, SecretRef]:
    return {f"altaro.links[{index}].api_key": link.api_key for index, link in enumerate(settings.links)}


PROVIDER = Provider(
    name="altaro",
    role="source",
    settings=AltaroSettings,
    summary="Altaro / Hornetsecurity Cloud Management Console billing report API link(s)",
    describe=lambda settings: f"{len(settings.links)} report link(s)",
    secrets=_secrets,
    metrics=(
        MetricSpec(BILLED_USERS, Unit.USER, "Total Backup 365 billed users: distinct objects of a billed user type"),
        MetricSpec(BACKUP_GB, Unit.GB, "sum of the backed-up size column over the customer's rows"),
    ),
    build_source=_source,
)
