"""The Axcient Backup for Files provider as the registry knows it: settings, metrics, secrets, views, and the module
that builds its source, probe, contacts and demo part (`factories.py`)."""

from __future__ import annotations

from connector.core.secrets import SecretRef
from mappings.enums import Unit
from providers.axcient.settings import AxcientSettings
from providers.spec import CONFIG, FORMAT, MetricSpec, Param, Provider, View

PC_GB = "axcient.pc_gb"
SERVER_GB = "axcient.server_gb"
TOTAL_GB = "axcient.total_gb"
PC_DEVICES = "axcient.pc_devices"
SERVER_DEVICES = "axcient.server_devices"
DEVICES = "axcient.devices"


def _secrets(settings: AxcientSettings) -> dict[str, SecretRef]:
    return {"axcient.password": settings.password} if settings.password is not None else {}


USAGE = View(
    name="axcient",
    group="usage",
    help="Fetch accounts from the backup portal and print storage and computers per customer (and record them).",
    params=(
        CONFIG,
        FORMAT,
        Param("details", "Table format: also list accounts not billed or over quota.", bool, flag="--details"),
    ),
    run="providers.axcient.views:usage",
    progress="Reading customers and accounts from the portal…",
    collect="providers.axcient.views:collect",
)


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
    views=(USAGE,),
    enable_hint="enable it (with base_url, username and password) to read the portal",
    factories="providers.axcient.factories",
)
