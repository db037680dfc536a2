"""The Axcient Backup for Files provider as the registry knows it: settings, metrics, source, secrets, views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connector.core.secrets import SecretRef
from mappings.enums import Unit
from providers.axcient.settings import AxcientSettings
from providers.spec import (
    CONFIG,
    FORMAT,
    BuildContext,
    Finding,
    MetricSpec,
    Param,
    Provider,
    View,
    ViewInput,
    ViewResult,
)

if TYPE_CHECKING:
    from connector.interfaces.usage import UsageReport, UsageSource
    from providers.onboarding import VendorContact
    from providers.spec import DemoKit, DemoPart

PC_GB = "axcient.pc_gb"
SERVER_GB = "axcient.server_gb"
TOTAL_GB = "axcient.total_gb"
PC_DEVICES = "axcient.pc_devices"
SERVER_DEVICES = "axcient.server_devices"
DEVICES = "axcient.devices"


def _source(settings: AxcientSettings, context: BuildContext) -> UsageSource:
    # The client (httpx) loads when a sync builds the source, so the registry alone imports no HTTP stack.
    from providers.axcient.client import build_axcient_client
    from providers.axcient.source import AxcientSource

    # The password is read when a collection opens the client, not here: see AxcientSource.
    return AxcientSource(
        settings, lambda: build_axcient_client(settings, context.http), now=context.now, timezone=context.timezone
    )


def _probe(settings: AxcientSettings, context: BuildContext) -> list[Finding]:
    # Loaded only when `check --online` runs.
    from providers.axcient.probe import probe

    return probe(settings, context)


def _contacts(settings: AxcientSettings, context: BuildContext) -> list[VendorContact]:
    # Loaded only when `connector map --create-customers` runs.
    from providers.axcient.contacts import contacts

    return contacts(settings, context)


def _secrets(settings: AxcientSettings) -> dict[str, SecretRef]:
    return {"axcient.password": settings.password} if settings.password is not None else {}


# The views module loads when its command runs: it imports the source and the usage rules, which import this one.
def _collect(source: UsageSource) -> tuple[UsageReport, Any]:
    from providers.axcient.views import collect

    return collect(source)


def _usage(view: ViewInput) -> ViewResult:
    from providers.axcient.views import usage

    return usage(view)


USAGE = View(
    name="axcient",
    group="usage",
    help="Fetch accounts from the backup portal and print storage and computers per customer (and record them).",
    params=(
        CONFIG,
        FORMAT,
        Param("details", "Table format: also list accounts not billed or over quota.", bool, flag="--details"),
    ),
    run=_usage,
    progress="Reading customers and accounts from the portal…",
    collect=_collect,
)


# The demo part (and the sandbox it starts) loads only when `connector demo` runs.
def _demo(kit: DemoKit) -> DemoPart[Any]:
    from providers.axcient.demo import demo_part

    return demo_part(kit)


PROVIDER = Provider(
    name="axcient",
    role="source",
    settings=AxcientSettings,
    summary="Axcient Backup for Files partner portal (customers, accounts, storage, PCs and servers)",
    describe=lambda settings: str(settings.base_url or "no base_url"),
    secrets=_secrets,
    metrics=(
        MetricSpec(PC_GB, Unit.GB, "storage of the customer's PC accounts"),
        MetricSpec(SERVER_GB, Unit.GB, "storage of the customer's server accounts"),
        MetricSpec(TOTAL_GB, Unit.GB, "storage of all the customer's accounts"),
        MetricSpec(PC_DEVICES, Unit.DEVICE, "billed accounts backing up a PC"),
        MetricSpec(SERVER_DEVICES, Unit.DEVICE, "billed accounts backing up a server"),
        MetricSpec(DEVICES, Unit.DEVICE, "billed accounts, PCs and servers"),
    ),
    build_source=_source,
    probe=_probe,
    contacts=_contacts,
    views=(USAGE,),
    enable_hint="enable it (with base_url, username and password) to read the portal",
    demo=_demo,
)
