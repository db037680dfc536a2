"""What builds the seat vendor's parts: its usage source, in-process (no HTTP)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from connector.interfaces.usage import CustomerUsage, UsageReport, UsageSource
from providers.spec import BuildContext

from .provider import SEATS, SeatsSettings


class SeatsSource:
    """An in-process source: no HTTP, one observation per customer and the current month."""

    name = "seats"

    def __init__(self, settings: SeatsSettings, now: BuildContext) -> None:
        self.settings = settings
        self.now = now.now

    def collect(self, *, run_id: int | None = None) -> UsageReport:
        observed_at: datetime = self.now()
        report = UsageReport(self.name, observed_at)
        for customer, seats in self.settings.seats.items():
            usage = CustomerUsage(self.name, customer, observed_at.strftime("%Y-%m"))
            usage.quantities[(SEATS, "")] = Decimal(seats)
            usage.inputs[SEATS] = {"rule": "seats the vendor reports", "seats": seats}
            report.customers.append(usage)
        return report


def build_source(settings: SeatsSettings, context: BuildContext) -> UsageSource:
    """The source a sync collects from."""
    return SeatsSource(settings, context)
