"""What builds the Axcient provider's parts: the usage source, `check --online`'s probe, the customer contacts
`map --create-customers` reads, the demo part. Imported only when a command needs one (`Provider.load`)."""

from __future__ import annotations

from connector.interfaces.usage import UsageSource
from providers.axcient.client import build_axcient_client
from providers.axcient.contacts import contacts
from providers.axcient.demo import demo_part as demo
from providers.axcient.probe import probe
from providers.axcient.settings import AxcientSettings
from providers.axcient.source import AxcientSource
from providers.spec import BuildContext

__all__ = ["build_source", "contacts", "demo", "probe"]


def build_source(settings: AxcientSettings, context: BuildContext) -> UsageSource:
    """The source a sync collects from; the password is read when a collection opens the client (AxcientSource)."""
    return AxcientSource(
        settings, lambda: build_axcient_client(settings, context.http), now=context.now, timezone=context.timezone
    )
