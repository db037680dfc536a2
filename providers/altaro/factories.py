"""What builds the Altaro report-link provider's parts: the usage source, `check --online`'s probe, the demo part.
Imported only when a command needs one of them (`Provider.load`), with the HTTP client."""

from __future__ import annotations

from connector.interfaces.usage import UsageSource
from providers.altaro.client import build_altaro_client
from providers.altaro.demo import demo_part as demo
from providers.altaro.probe import probe
from providers.altaro.settings import AltaroSettings
from providers.altaro.source import AltaroSource
from providers.spec import BuildContext

__all__ = ["build_source", "demo", "probe"]


def build_source(settings: AltaroSettings, context: BuildContext) -> UsageSource:
    """The source a sync collects from: each link fetched through the fetch ledger."""
    return AltaroSource(settings, context.ledger, lambda: build_altaro_client(context.http), now=context.now)
