"""The Altaro / Hornetsecurity report-link provider as the registry knows it: settings, metrics, secrets, views, and
the module that builds its source, probe and demo part (`factories.py`)."""

from __future__ import annotations

from pathlib import Path

from connector.core.secrets import SecretRef
from mappings.enums import Unit
from providers.altaro.settings import AltaroSettings
from providers.spec import CONFIG, FORMAT, MetricSpec, Param, Provider, View

BILLED_USERS = "altaro.billed_users"
BACKUP_GB = "altaro.backup_gb"


def _secrets(settings: AltaroSettings) -> dict[str, SecretRef]:
    return {link_key_name(index): link.api_key for index, link in enumerate(settings.links)}


def link_key_name(index: int) -> str:
    """The configuration key of a link's API key, as errors name it."""
    return f"altaro.links[{index}].api_key"


USERS = View(
    name="users",
    group="top",
    help="""Count Total Backup 365 billed users per customer in a report file (offline; nothing is stored).

Billed users = distinct Object Name among rows of type Mailbox, N/A, OneDrive or User Teams Chats, per
customer. Column names, billed types and exclusions come from [altaro] when a configuration file is found.
Exit 3 when the file is unusable (missing columns, truncated, empty).""",
    params=(
        Param("report_file", "Itemised billing report (CSV or JSON) as downloaded.", Path, required=True),
        CONFIG,
        FORMAT,
    ),
    run="providers.altaro.views:users",
    needs_config=False,
)

USAGE = View(
    name="altaro",
    group="usage",
    help="""Fetch every report link (at most once per link per 5 minutes), record and print usage per customer.

Inside the 5-minute window the last stored report answers (or the command waits, with when_too_soon =
"wait"). Exit 3 when a link failed or its report was unusable.""",
    run="providers.altaro.views:usage",
    progress="Fetching the report link(s)…",
)


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
    views=(USERS, USAGE),
    enable_hint="enable it and add [[altaro.links]] to fetch usage",
    factories="providers.altaro.factories",
)
