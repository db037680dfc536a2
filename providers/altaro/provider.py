"""The Altaro / Hornetsecurity report-link provider as the registry knows it: settings, metrics, source, views."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.core.secrets import SecretRef
from mappings.enums import Unit
from providers.altaro.settings import AltaroSettings
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
    from connector.interfaces.usage import UsageSource
    from providers.spec import DemoKit, DemoPart

BILLED_USERS = "altaro.billed_users"
BACKUP_GB = "altaro.backup_gb"


def _source(settings: AltaroSettings, context: BuildContext) -> UsageSource:
    # The client (httpx) and the source load when a sync builds them: `connector users` and `--help` need neither.
    from providers.altaro.client import build_altaro_client
    from providers.altaro.source import AltaroSource

    return AltaroSource(settings, context.store.ledger, lambda: build_altaro_client(context.http), now=context.now)


def _probe(settings: AltaroSettings, context: BuildContext) -> list[Finding]:
    # Loaded only when `check --online` runs.
    from providers.altaro.probe import probe

    return probe(settings, context)


def _secrets(settings: AltaroSettings) -> dict[str, SecretRef]:
    return {link_key_name(index): link.api_key for index, link in enumerate(settings.links)}


def link_key_name(index: int) -> str:
    """The configuration key of a link's API key, as errors name it."""
    return f"altaro.links[{index}].api_key"


# The views module loads when its command runs: it imports the parser and the billing rules, which import this one.
def _users(view: ViewInput) -> ViewResult:
    from providers.altaro.views import users

    return users(view)


def _usage(view: ViewInput) -> ViewResult:
    from providers.altaro.views import usage

    return usage(view)


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
    run=_users,
    needs_config=False,
)

USAGE = View(
    name="altaro",
    group="usage",
    help="""Fetch every report link (at most once per link per 5 minutes), record and print usage per customer.

Inside the 5-minute window the last stored report answers (or the command waits, with when_too_soon =
"wait"). Exit 3 when a link failed or its report was unusable.""",
    run=_usage,
    progress="Fetching the report link(s)…",
)


# The demo part (and the sandbox it starts) loads only when `connector demo` runs.
def _demo(kit: DemoKit) -> DemoPart[Any]:
    from providers.altaro.demo import demo_part

    return demo_part(kit)


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
    probe=_probe,
    views=(USERS, USAGE),
    enable_hint="enable it and add [[altaro.links]] to fetch usage",
    demo=_demo,
)
