"""What builds the ConnectWise PSA's parts: the sink (with its invoiced periods), reconcile, `check --online` and
`connector map`'s lists. Imported only when a command needs one of them (`Provider.load`), with the HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from mappings.lines import StoredLine
from providers.connectwise.demo import demo_part as demo
from providers.connectwise.invoicing import InvoicingConnectWiseSink
from providers.connectwise.onboard import onboarder
from providers.connectwise.resolve import contracts, customers, probe, resolve
from providers.connectwise.settings import ConnectWiseSettings
from providers.spec import BuildContext, Reconciled

__all__ = ["build_sink", "contracts", "customers", "demo", "onboarder", "probe", "reconcile", "resolve"]


# The sink lines are pushed to: one run's read of ConnectWise, and a PATCH per changed line; it also tells the billing
# calendar which periods ConnectWise's agreement invoices bill (one read per run).
build_sink = InvoicingConnectWiseSink.build


def reconcile(
    settings: ConnectWiseSettings, context: BuildContext, lines: list[StoredLine], start: date, end: date
) -> Sequence[Reconciled]:
    """Pushed lines against the agreement invoices ConnectWise dated in [start, end] (days of the MSP's zone)."""
    sink = InvoicingConnectWiseSink.build(settings, context)
    try:
        return sink.reconcile(lines, start, end)
    finally:
        sink.close()
