"""The boundary guard: whatever number a source hands the engine, only finite, non-negative, plausible ones are billed.

The source here is a vendor registered at test time that checks nothing itself, so the guard shown is the one every
source, present or future, goes through.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

import providers
from connector.interfaces.psa import PsaEvents, PushResult
from connector.interfaces.usage import MAX_QUANTITY, CustomerUsage, UsageReport, refuse_bad_numbers
from connector.store import Store
from connector.sync.engine import SyncEngine
from connector.sync.observe import observe
from connector.wiring import settings_from_data
from mappings.lines import Line, Outcome
from providers.spec import MetricSpec, Provider

NOV = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
METRIC = "gauge.units"


class GaugeSettings(BaseModel):
    enabled: bool = False


class GaugeSource:
    """Hands the engine whatever quantities the test sets, unchecked."""

    name = "gauge"

    def __init__(self, quantities: dict[str, Any]) -> None:
        self.quantities = quantities

    def collect(self, *, run_id: int | None = None) -> UsageReport:
        report = UsageReport(self.name, NOV)
        for customer, quantity in self.quantities.items():
            usage = CustomerUsage(self.name, customer, "2026-11")
            usage.quantities[(METRIC, "")] = quantity
            report.customers.append(usage)
        return report


class RecordingSink:
    def __init__(self) -> None:
        self.pushed: list[Line] = []

    def push(self, line: Line, events: PsaEvents | None = None) -> PushResult:
        self.pushed.append(line)
        return PushResult(f"fake/{len(self.pushed)}", wrote=True)


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    provider = Provider(
        name="gauge",
        role="source",
        settings=GaugeSettings,
        summary="a vendor of the tests that validates nothing",
        describe=lambda settings: "gauge",
        secrets=lambda settings: {},
        metrics=(MetricSpec(METRIC, "unit", "whatever the vendor says"),),
    )
    monkeypatch.setitem(providers.REGISTRY, provider.name, provider)
    yield


BAD = {
    "Negative": (Decimal(-3), "is negative"),
    "NaN": (Decimal("NaN"), "not a finite number"),
    "Signalling": (Decimal("sNaN"), "not a finite number"),
    "Infinite": (Decimal("Infinity"), "not a finite number"),
    "Astronomic": (Decimal("976562.500000000000E+390"), "9.765625E+395 is beyond any plausible quantity (1E+12)"),
    "Float": (2.5, "float, not a Decimal"),
}


def test_only_the_customers_with_bad_numbers_are_blocked_every_other_line_is_pushed() -> None:
    customers = ["Good", *BAD]
    config = settings_from_data(
        {
            "gauge": {"enabled": True},
            "customers": [
                {
                    "psa_customer": f"{name} Ltd",
                    "gauge": {"customer": name},
                    "lines": [{"metric": METRIC, "contract": "Units", "rate": "2"}],
                }
                for name in customers
            ],
        }
    )
    source = GaugeSource({"Good": Decimal(7), **{name: value for name, (value, _) in BAD.items()}})
    with Store.open(":memory:") as store:
        sink = RecordingSink()
        report = SyncEngine(config, store, {"gauge": source}, sink, now=lambda: NOV).run()
        assert [(line.psa_customer, line.quantity) for line in sink.pushed] == [("Good Ltd", Decimal(7))]
        outcomes = {r.identity.psa_customer: r for r in report.lines}
        for name, (_, why) in BAD.items():
            assert outcomes[f"{name} Ltd"].outcome is Outcome.BLOCKED
            assert why in outcomes[f"{name} Ltd"].reason and METRIC in outcomes[f"{name} Ltd"].reason
        # The refused numbers never reach the history billing reads.
        stored = store.observations.query("gauge")
        assert {o.vendor_customer for o in stored} == {"Good"}
    (outcome,) = [s for s in report.sources if s.name == "gauge"]
    assert outcome.status == "incomplete" and len(outcome.problems) == len(BAD)


@pytest.mark.parametrize("value", [Decimal(0), Decimal("0.001"), Decimal("-0"), MAX_QUANTITY])
def test_plausible_numbers_pass_untouched(value: Decimal) -> None:
    report = GaugeSource({"Good": value}).collect()
    refuse_bad_numbers(report)
    assert report.complete and report.customers[0].quantities == {(METRIC, ""): value}


def test_a_bad_number_spoils_its_customer_not_its_source() -> None:
    report = GaugeSource({"Good": Decimal(1), "Bad": Decimal("NaN")}).collect()
    with Store.open(":memory:") as store:
        observe(store, report)
        assert not report.problems
        good, bad = report.customers
        assert good.complete and not bad.complete and bad.quantities == {}
        assert bad.problems == [f"{METRIC}: NaN is not a finite number; not billed"]
        assert [o.complete for o in store.observations.query("gauge")] == [True]
