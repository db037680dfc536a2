"""The engine bills mapped portal customers from the source's observations, and blocks what is incomplete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connector.interfaces.psa import PsaEvents, PushResult
from connector.store import Store
from connector.sync.engine import SyncEngine
from connector.wiring import enabled_sources, settings_from_data
from mappings.lines import Line
from providers.axcient.sandbox import AxcientSandbox
from providers.spec import BuildContext

from .conftest import PASSWORD

Make = Callable[..., dict[str, Any]]


def settings(url: str) -> Any:
    return settings_from_data(
        {
            "axcient": {"enabled": True, "base_url": url, "username": "partner-api", "password": PASSWORD},
            "customers": [
                {
                    "psa_customer": "Contoso Ltd",
                    "axcient_customer": "contoso",
                    "lines": [
                        {"metric": "axcient.server_gb", "contract": "Server backup", "rate": "0.12"},
                        {"metric": "axcient.pc_devices", "contract": "Select PCs", "rate": "4", "product": "Select"},
                    ],
                },
                {
                    "psa_customer": "Northwind Traders",
                    "axcient_customer": "Northwind Traders",
                    "lines": [{"metric": "axcient.total_gb", "contract": "Online backup", "rate": "0.10"}],
                },
            ],
            "ignored_customers": [
                {"source": "axcient", "customer": "Fabrikam Inc", "reason": "test"},
                {"source": "axcient", "customer": "Tailspin Toys", "reason": "prospect"},
            ],
        }
    )


def test_a_sync_bills_mapped_customers_per_plan(sandbox: AxcientSandbox, store: Store) -> None:
    config = settings(sandbox.url)
    report = SyncEngine(config, store, enabled_sources(config, BuildContext(config.http, store.ledger)), None).run(
        push=False
    )
    lines = {(o.identity.psa_customer, o.identity.contract): o.line for o in report.lines}
    assert [s.status for s in report.sources if s.name == "axcient"] == ["ok"]
    assert lines["Contoso Ltd", "Server backup"].quantity == Decimal(600)
    assert lines["Contoso Ltd", "Server backup"].amount == Decimal("72.00")
    assert lines["Contoso Ltd", "Select PCs"].quantity == Decimal(1)
    assert lines["Northwind Traders", "Online backup"].quantity == Decimal(375)
    assert report.unmapped == []


def test_an_incomplete_customer_is_blocked_not_billed_smaller(
    sandbox: AxcientSandbox, store: Store, make_account: Make, make_customer: Make
) -> None:
    sandbox.load(
        {
            "customers": [make_customer(1, "Contoso"), make_customer(3, "Northwind Traders")],
            "accounts": [
                make_account(1, 1, device_type="server"),
                make_account(2, 1, parent_id=404),
                make_account(3, 3),
            ],
        }
    )
    config = settings(sandbox.url)
    report = SyncEngine(config, store, enabled_sources(config, BuildContext(config.http, store.ledger)), None).run(
        push=False
    )
    lines = {(o.identity.psa_customer, o.identity.contract): o for o in report.lines}
    blocked = lines["Contoso Ltd", "Server backup"]
    assert blocked.outcome == "blocked" and "parent 404 does not exist" in blocked.reason
    assert lines["Northwind Traders", "Online backup"].line.quantity == Decimal(1)  # type: ignore[union-attr]


class RecordingSink:
    """A PSA that accepts every line and remembers it."""

    def __init__(self) -> None:
        self.pushed: list[Line] = []

    def push(self, line: Line, events: PsaEvents | None = None) -> PushResult:
        self.pushed.append(line)
        return PushResult(f"fake/{len(self.pushed)}", wrote=True)


def test_a_customer_billed_last_month_whose_accounts_vanish_is_held_not_billed_zero(
    sandbox: AxcientSandbox, store: Store, make_account: Make, make_customer: Make
) -> None:
    customers = [make_customer(1, "Contoso"), make_customer(3, "Northwind Traders")]
    sandbox.load({"customers": customers, "accounts": [make_account(1, 1, device_type="server"), make_account(3, 3)]})
    config, sink = settings(sandbox.url), RecordingSink()
    october = datetime(2026, 10, 20, 9, tzinfo=UTC)
    sources = enabled_sources(config, BuildContext(config.http, store.ledger, now=lambda: october))
    SyncEngine(config, store, sources, sink, now=lambda: october).run()
    assert ("Northwind Traders", "2026-10") in {(line.psa_customer, line.period_key) for line in sink.pushed}

    # November: the portal answers 200 with no accounts for Northwind.
    sandbox.load({"customers": customers, "accounts": [make_account(1, 1, device_type="server")]})
    november = datetime(2026, 11, 20, 9, tzinfo=UTC)
    sources = enabled_sources(config, BuildContext(config.http, store.ledger, now=lambda: november))
    report = SyncEngine(config, store, sources, sink, now=lambda: november).run()
    northwind = next(r for r in report.lines if r.identity.psa_customer == "Northwind Traders")
    assert northwind.outcome == "held" and "dropped to 0" in northwind.reason
    assert ("Northwind Traders", "2026-11") not in {(line.psa_customer, line.period_key) for line in sink.pushed}
