"""What builds the Autotask PSA's parts: the sink (with its invoiced periods), reconcile, `check --online`, and
`connector map`'s lists. Imported only when a command needs one of them (`Provider.load`), with the HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from connector.interfaces.psa import Sink
from mappings.lines import StoredLine
from providers.autotask.demo import demo_part as demo
from providers.autotask.invoicing import InvoicingAutotaskSink
from providers.autotask.onboard import onboarder
from providers.autotask.resolve import contracts, customers, probe, resolve
from providers.autotask.settings import AutotaskSettings
from providers.spec import BuildContext, Reconciled

__all__ = ["build_sink", "contracts", "customers", "demo", "onboarder", "probe", "reconcile", "resolve"]


def build_sink(settings: AutotaskSettings, context: BuildContext) -> Sink:
    """The sink lines are pushed to: one run's read of Autotask, and an adjustment per line whose units differ; it
    also tells the billing calendar which periods Autotask's invoices bill (one read per run)."""
    return InvoicingAutotaskSink.build(settings, context)


def reconcile(
    settings: AutotaskSettings, context: BuildContext, lines: list[StoredLine], start: date, end: date
) -> Sequence[Reconciled]:
    """Pushed lines against the billing items of the invoices Autotask dated in [start, end]."""
    sink = InvoicingAutotaskSink.build(settings, context)
    try:
        return sink.reconcile(lines, start, end)
    finally:
        sink.close()
