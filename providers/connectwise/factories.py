"""What builds the ConnectWise PSA's parts: the sink, `check --online` and `connector map`'s lists. Imported only
when a command needs one of them (`Provider.load`), with the HTTP client."""

from __future__ import annotations

from connector.interfaces.psa import Sink
from providers.connectwise.client import build_connectwise_client
from providers.connectwise.resolve import contracts, customers, probe, resolve
from providers.connectwise.settings import ConnectWiseSettings
from providers.connectwise.sink import ConnectWiseSink
from providers.spec import BuildContext

__all__ = ["build_sink", "contracts", "customers", "probe", "resolve"]


def build_sink(settings: ConnectWiseSettings, context: BuildContext) -> Sink:
    """The sink lines are pushed to: one run's read of ConnectWise, and a PATCH per changed line."""
    return ConnectWiseSink(
        lambda: build_connectwise_client(settings, context.http),
        custom_field=settings.custom_field,
        timezone=context.timezone,
        now=context.now,
    )
