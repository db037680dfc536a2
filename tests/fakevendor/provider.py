"""A third backup vendor that exists only in the tests: seat counts per customer, declared as any provider is."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from connector.core.secrets import SecretRef
from connector.interfaces.usage import CustomerUsage, UsageReport, UsageSource
from providers.spec import BuildContext, MetricSpec, Provider

SEATS = "seats.licensed"


class SeatsSettings(BaseModel):
    """`[seats]`: the seats each customer holds, as the vendor would report them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    seats: dict[str, int] = Field(default_factory=dict)


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


def _source(settings: SeatsSettings, context: BuildContext) -> UsageSource:
    return SeatsSource(settings, context)


def _no_secrets(settings: SeatsSettings) -> dict[str, SecretRef]:
    return {}


PROVIDER = Provider(
    name="seats",
    role="source",
    settings=SeatsSettings,
    summary="a seat-licensing vendor of the tests",
    describe=lambda settings: f"{len(settings.seats)} customer(s)",
    secrets=_no_secrets,
    metrics=(MetricSpec(SEATS, "user", "licensed seats"),),
    build_source=_source,
)
