"""The usage source against the sandbox portal: what it records, and what it refuses to record when things fail."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from connector.core.errors import VendorAuthError, VendorError
from connector.core.http import HttpSettings
from connector.interfaces.usage import UsageSource
from connector.store import Store
from connector.sync.observe import observe
from providers.axcient.generate import generate_dataset
from providers.axcient.sandbox import AxcientSandbox
from providers.axcient.source import AxcientSource
from providers.sandbox import Fault

from .conftest import OBSERVED_AT, PASSWORD, FakeClock, axcient_settings, client_factory

MakeSource = Callable[..., AxcientSource]
Make = Callable[..., dict[str, Any]]


def quantities(source: AxcientSource) -> dict[str, dict[tuple[str, str], Decimal]]:
    report = source.collect()
    return {c.vendor_customer: dict(c.quantities) for c in report.customers}


def test_it_is_a_usage_source_and_records_the_demo_portal(make_source: MakeSource, store: Store) -> None:
    source = make_source(per_page=2)
    typed: UsageSource = source  # connector/wiring.py relies on this (mypy checks it there)
    assert typed.name == "axcient"
    report = source.collect(run_id=None)
    observe(store, report)
    assert report.complete and report.observed_at == OBSERVED_AT
    assert [c.vendor_customer for c in report.customers] == [
        "Contoso",
        "Fabrikam Inc",
        "Northwind Traders",
        "Tailspin Toys",
    ]
    contoso = report.customer("contoso")
    assert contoso is not None and contoso.period_key == "2026-11"
    # Select: FS01 400 GB + SQL01 200 GB servers, PC01 20 GB (PC02 suspended); Basic: LT01 15 + LT02 10 GB.
    assert contoso.quantities[("axcient.server_gb", "")] == Decimal(600)
    assert contoso.quantities[("axcient.pc_gb", "Select")] == Decimal(20)
    assert contoso.quantities[("axcient.pc_gb", "Basic")] == Decimal(25)
    assert contoso.quantities[("axcient.devices", "")] == Decimal(5)
    stored = store.observations.query("axcient", vendor_customer="Contoso", metric="axcient.pc_gb", product="")
    (observation,) = stored
    assert observation.quantity == Decimal(45) and observation.complete and observation.unit == "GB"
    explained = observation.inputs["metric"]
    assert explained["columns"] == ["id", "computer", "plan", "device", "mb"]
    assert explained["accounts"] == [
        ["1003", "CONTOSO-PC01", "Select", "pc", "20480"],
        ["1005", "CONTOSO-LT01", "Basic", "pc", "15360"],
        ["1006", "CONTOSO-LT02", "Basic", "pc", "10240"],
    ]
    assert explained["not_billed"] == [["1004", "CONTOSO-PC02", "Select", "pc", "30720", "suspended"]]
    assert explained["over_quota"] == {"1003": "10240"}
    products = {o.product for o in store.observations.query("axcient", vendor_customer="Contoso")}
    assert products == {"", "Basic", "Select"}
    # A count of computers is explained by the computers, without their storage: a grown account leaves it as it was.
    (devices,) = store.observations.query("axcient", vendor_customer="Contoso", metric="axcient.pc_devices", product="")
    counted = devices.inputs["metric"]
    assert counted["columns"] == ["id", "computer", "plan", "device"]
    assert counted["accounts"] == [[row[0], row[1], row[2], row[3]] for row in explained["accounts"]]
    assert counted["not_billed"] == [["1004", "CONTOSO-PC02", "Select", "pc", "suspended"]]


@pytest.mark.parametrize("per_page", [1, 2, 3, 1000])
def test_every_page_size_gives_the_same_usage(make_source: MakeSource, per_page: int) -> None:
    assert quantities(make_source(per_page=per_page)) == quantities(make_source(per_page=4))


def test_paging_edge_cases_at_the_sandbox(
    sandbox: AxcientSandbox, make_source: MakeSource, make_account: Make, make_customer: Make
) -> None:
    sandbox.load(
        {
            "customers": [make_customer(1, "Exact"), make_customer(2, "Empty"), make_customer(3, "Single")],
            "accounts": [*(make_account(10 + i, 1) for i in range(4)), make_account(20, 3)],
        }
    )
    found = quantities(make_source(per_page=2))
    assert found["Exact"][("axcient.pc_devices", "")] == 4
    assert found["Empty"][("axcient.devices", "")] == 0
    assert found["Single"][("axcient.devices", "")] == 1
    pages = [r.query for r in sandbox.api_requests("/api/v1/accounts")]
    # Exact multiple: 2 pages, no empty third; empty customer and single item: one page each (customers are listed
    # concurrently, so in any order).
    assert sorted((q["customer_id"][0], q["page"][0]) for q in pages) == [
        ("1", "1"),
        ("1", "2"),
        ("2", "1"),
        ("3", "1"),
    ]


def test_a_token_expiring_mid_run_means_logging_in_again(http_settings: HttpSettings, clock: FakeClock) -> None:
    ticks = iter(range(10**6))
    # Each request the sandbox sees moves its clock a second; tokens last three: they expire throughout the run.
    # One list at a time: with tokens this short, a token renewed by one concurrent list expires before the others
    # can use it (test_axcient_concurrency covers a token renewed while lists run concurrently).
    with AxcientSandbox(password=PASSWORD, token_lifetime=3, clock=lambda: float(next(ticks))) as server:
        assert isinstance(server, AxcientSandbox)
        settings = axcient_settings(server.url, per_page=1, concurrency=1)
        source = AxcientSource(settings, client_factory(settings, http_settings, sleep=clock.sleep))
        report = source.collect()
        logins = server.api_requests("/api/v1/session")
    assert report.complete and len(report.customers) == 4
    assert len(logins) > 2


def test_a_token_refused_even_after_a_new_login_fails_the_source(
    sandbox: AxcientSandbox, make_source: MakeSource, store: Store
) -> None:
    sandbox.inject(Fault(status=401, path_prefix="/api/v1/accounts"), times=2)
    with pytest.raises(VendorAuthError, match="even right after a fresh login"):
        # One list at a time, so both refusals meet the same list (concurrent lists would each meet one and recover).
        make_source(concurrency=1).collect()
    assert len(sandbox.api_requests("/api/v1/session")) == 2
    assert store.observations.query("axcient") == []


def test_429_with_retry_after_then_success(http_settings: HttpSettings, clock: FakeClock) -> None:
    with AxcientSandbox(password=PASSWORD, rate_limit_every=3, retry_after=5) as server:
        assert isinstance(server, AxcientSandbox)
        # One list at a time: each wait is the Retry-After itself (the concurrent case is in test_axcient_concurrency).
        settings = axcient_settings(server.url, per_page=2, concurrency=1)
        source = AxcientSource(settings, client_factory(settings, http_settings, sleep=clock.sleep))
        assert source.collect().complete
        assert server.rate_limited > 0
    assert clock.sleeps and set(clock.sleeps) == {5.0}


def test_5xx_then_success(sandbox: AxcientSandbox, make_source: MakeSource, clock: FakeClock) -> None:
    sandbox.inject(Fault(status=503, path_prefix="/api/v1/accounts"), times=2)
    # One list at a time, so both faults meet the same request and its backoff doubles.
    assert make_source(concurrency=1).collect().complete
    assert clock.sleeps == [1.0, 2.0]


def test_persistent_5xx_fails_the_source_and_records_nothing(
    sandbox: AxcientSandbox, make_source: MakeSource, store: Store
) -> None:
    sandbox.inject(Fault(status=500, path_prefix="/api/v1/accounts"), times=100)
    with pytest.raises(VendorError, match="HTTP 500 after retries") as failed:
        make_source().collect()
    assert failed.value.exit_code == 3
    assert store.observations.query("axcient") == []


def test_a_refused_login_fails_the_source_and_records_nothing(
    http_settings: HttpSettings, sandbox: AxcientSandbox, store: Store
) -> None:
    settings = axcient_settings(sandbox.url, password="not-the-password")
    source = AxcientSource(settings, client_factory(settings, http_settings))
    with pytest.raises(VendorAuthError, match="login refused"):
        source.collect()
    assert store.observations.query("axcient") == []


def test_an_invalid_account_makes_only_its_customer_incomplete(
    sandbox: AxcientSandbox, make_source: MakeSource, make_account: Make, make_customer: Make, store: Store
) -> None:
    sandbox.load(
        {
            "customers": [make_customer(1, "Broken"), make_customer(2, "Fine")],
            "accounts": [make_account(10, 1), make_account(11, 1, used_mb_compressed="lots"), make_account(20, 2)],
        }
    )
    report = make_source().collect()
    observe(store, report)
    broken, fine = report.customers
    assert not broken.complete and fine.complete
    assert broken.problems == ["account 11: used_mb_compressed: Input should be a valid decimal"]
    assert all(not o.complete for o in store.observations.query("axcient", vendor_customer="Broken"))
    (peak,) = store.observations.query("axcient", vendor_customer="Broken", metric="axcient.pc_devices", product="")
    assert peak.inputs["problems"] == broken.problems


@pytest.mark.parametrize("list_all_accounts", [False, True])
def test_sub_accounts_of_a_refused_parent_point_at_its_error_not_at_a_missing_parent(
    sandbox: AxcientSandbox, make_source: MakeSource, make_account: Make, make_customer: Make, list_all_accounts: bool
) -> None:
    sandbox.load(
        {
            "customers": [make_customer(1, "Broken")],
            "accounts": [make_account(10, 1, used_mb_compressed="NaN"), make_account(11, 1, parent_id=10)],
        }
    )
    (broken,) = make_source(list_all_accounts=list_all_accounts).collect().customers
    assert broken.problems == [
        "account 10: used_mb_compressed: Input should be a finite number",
        "account 11: parent_id: parent 10 was refused (see account 10), so the plan it bills on is unknown",
    ]


def test_an_orphan_sub_account_is_an_error_for_its_customer(
    sandbox: AxcientSandbox, make_source: MakeSource, make_account: Make, make_customer: Make
) -> None:
    sandbox.load(
        {
            "customers": [make_customer(1, "Orphans"), make_customer(2, "Owner")],
            "accounts": [make_account(10, 1, parent_id=20), make_account(11, 1, parent_id=99), make_account(20, 2)],
        }
    )
    report = make_source().collect()
    orphans = report.customer("Orphans")
    assert orphans is not None and not orphans.complete
    assert orphans.problems == [
        "account 10: parent_id: parent 20 belongs to another customer (Owner); not guessed",
        "account 11: parent_id: parent 99 does not exist among this customer's accounts",
    ]
    assert report.customer("Owner") is not None and report.customer("Owner").complete  # type: ignore[union-attr]


def test_a_customer_whose_account_list_is_refused_is_incomplete(
    sandbox: AxcientSandbox, make_source: MakeSource
) -> None:
    gone = b'{"error": {"code": "not_found", "message": "gone"}}'
    sandbox.inject(Fault(status=404, body=gone, path_prefix="/api/v1/accounts"))
    report = make_source().collect()
    contoso = report.customer("Contoso")
    assert contoso is not None and not contoso.complete
    assert "HTTP 404: not_found: gone" in contoso.problems[0]
    assert all(c.complete for c in report.customers if c is not contoso)


def test_two_customers_of_one_name_cannot_be_billed(
    sandbox: AxcientSandbox, make_source: MakeSource, make_account: Make, make_customer: Make
) -> None:
    sandbox.load({"customers": [make_customer(1, "Twin"), make_customer(2, "twin")], "accounts": []})
    report = make_source().collect()
    assert [c.complete for c in report.customers] == [False, False]
    assert "shared with customer 2" in report.customers[0].problems[0]


@pytest.mark.parametrize(("storage", "basis", "expected"), [("compressed", 1024, 600), ("uncompressed", 1000, 1228.8)])
def test_storage_and_gb_basis_from_settings(make_source: MakeSource, storage: str, basis: int, expected: float) -> None:
    found = quantities(make_source(storage=storage, mb_per_gb=basis))
    assert found["Contoso"][("axcient.server_gb", "")] == Decimal(str(expected))


def test_suspended_accounts_are_billed_when_configured(make_source: MakeSource) -> None:
    assert quantities(make_source(bill_suspended=True))["Contoso"][("axcient.pc_devices", "")] == 4
    assert quantities(make_source())["Contoso"][("axcient.pc_devices", "")] == 3


def test_listing_all_accounts_at_once_gives_the_same_usage_in_fewer_requests(
    sandbox: AxcientSandbox, make_source: MakeSource
) -> None:
    sandbox.load(generate_dataset(40, accounts=300, seed=3))
    per_customer = make_source(per_page=50).collect()
    requests = len(sandbox.requests)
    sandbox.requests.clear()
    at_once = make_source(per_page=50, list_all_accounts=True).collect()
    assert len(sandbox.requests) == 1 + 1 + 6 < requests
    assert [(c.vendor_customer, c.quantities, c.complete) for c in at_once.customers] == [
        (c.vendor_customer, c.quantities, c.complete) for c in per_customer.customers
    ]


def test_listing_all_accounts_reports_an_account_of_no_listed_customer(
    sandbox: AxcientSandbox, make_source: MakeSource, make_account: Make, make_customer: Make
) -> None:
    sandbox.load({"customers": [make_customer(1)], "accounts": [make_account(10, 1), make_account(11, 7)]})
    report = make_source(list_all_accounts=True).collect()
    assert not report.complete
    assert report.problems == ["account 11: customer_id: 7 is not a listed customer"]


def test_a_generated_portal_is_read_completely(sandbox: AxcientSandbox, make_source: MakeSource) -> None:
    data = generate_dataset(60, accounts=500, seed=11)
    sandbox.load(data)
    report = make_source(per_page=25).collect()
    assert len(report.customers) == 60
    # The generator makes the odd sub-account with a plan other than its parent's, never orphans: all complete.
    assert report.complete
    total = sum(c.quantities[("axcient.devices", "")] for c in report.customers)
    billable = [
        a
        for a in data["accounts"]
        if a["status"] == "active" and not _plan_of(a, data["accounts"]).lower().startswith("trial")
    ]
    assert total == len(billable)


def _plan_of(account: dict[str, Any], accounts: list[dict[str, Any]]) -> str:
    if account["parent_id"] is None:
        return str(account["service_plan"])
    return str(next(a["service_plan"] for a in accounts if a["id"] == account["parent_id"]))
