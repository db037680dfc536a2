"""The Altaro source against the sandbox link: counts, observations, the 5-minute rule, failures, secrets."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from connector.store import Store
from connector.store.ledger import PAYLOAD_COLUMN
from connector.sync.observe import observe
from mappings.measure import Measured, peak
from mappings.periods import parse_period_key
from providers.altaro.sandbox import AltaroSandbox, generate_report, generate_report_with_counts
from providers.altaro.source import AltaroSource, link_target
from providers.sandbox import Fault
from tests.clock import frozen_python

from .conftest import FakeClock, altaro_settings, link

REPO = Path(__file__).resolve().parents[2]
Make = Callable[..., AltaroSource]


def november_users_peak(store: Store, product: str = "") -> Measured | None:
    """What November bills for Contoso's users: the engine's own measure over the stored observations."""
    seen = store.observations.query("altaro", vendor_customer="Contoso", metric="altaro.billed_users", product=product)
    return peak(seen, parse_period_key("2026-11"))


def users(report: object) -> dict[str, Decimal]:
    return {c.vendor_customer: c.quantities[("altaro.billed_users", "")] for c in report.customers}  # type: ignore[attr-defined]


def test_collect_counts_users_and_size_and_records_observations(
    sandbox: AltaroSandbox, make_source: Make, store: Store, clock: FakeClock
) -> None:
    text, expected = generate_report_with_counts(customers=4, users_per_customer=12, seed=3, month="2026-11")
    sandbox.set_report(text)
    report = make_source(altaro_settings(link(sandbox.link_url))).collect(run_id=None)
    observe(store, report)
    assert report.complete and not report.from_cache and report.problems == []
    assert users(report) == {name: Decimal(n) for name, n in expected.billed_users.items()}
    first = report.customers[0]
    assert first.period_key == "2026-11" and first.source == "altaro"
    assert ("altaro.billed_users", "365 Total Backup") in first.quantities
    assert first.quantities[("altaro.backup_gb", "")] > 0
    explanation = first.inputs["altaro.billed_users"]
    assert explanation["counted"] == expected.billed_users[first.vendor_customer]
    assert len(explanation["objects"]) == explanation["counted"]
    assert any("SharePoint" in item["reason"] for item in explanation["excluded"])
    stored = store.observations.query("altaro", vendor_customer=first.vendor_customer, metric="altaro.billed_users")
    assert [o.quantity for o in stored if o.product == ""] == [Decimal(explanation["counted"])]
    fetch = store.ledger.last_good("altaro", link_target(link(sandbox.link_url)))
    assert fetch is not None and fetch.payload == text.encode() and fetch.status_code == 200
    assert sandbox.requests[0].header("x-api-key") == "sandbox-altaro-key-0001"


def test_explanations_cap_the_object_list(sandbox: AltaroSandbox, make_source: Make) -> None:
    rows = ["Customer Name,Object Type Backed Up,Object Name"] + [f"Big,Mailbox,user {n}" for n in range(450)]
    sandbox.set_report("\r\n".join(rows) + "\r\n")
    [big] = make_source(altaro_settings(link(sandbox.link_url))).collect().customers
    explanation = big.inputs["altaro.billed_users"]
    assert (
        explanation["counted"] == 450
        and len(explanation["objects"]) == 200
        and explanation["objects_not_listed"] == 250
    )
    assert big.period_key == "2026-11"  # no Month column: the month of the observation


def test_inside_the_window_the_stored_report_answers(
    sandbox: AltaroSandbox, make_source: Make, store: Store, clock: FakeClock
) -> None:
    source = make_source(altaro_settings(link(sandbox.link_url)))
    first = source.collect()
    observe(store, first)
    clock.advance(120)
    sandbox.set_report(generate_report(customers=4, users_per_customer=40, seed=3))  # would differ if called
    again = source.collect()
    assert again.replayed
    observe(store, again)  # replayed from the ledger: nothing new is recorded
    assert len(sandbox.requests) == 1 and again.from_cache and again.complete
    assert users(again) == users(first) and again.observed_at == first.observed_at
    assert len(store.observations.query("altaro", metric="altaro.billed_users", product="")) == len(first.customers)
    clock.advance(181)  # 301 s after the first call
    later = source.collect()
    assert len(sandbox.requests) == 2 and not later.from_cache and users(later) != users(first)
    assert sandbox.refused == []


def test_the_store_keeps_only_the_newest_reports_in_full(
    sandbox: AltaroSandbox, make_source: Make, store: Store, clock: FakeClock
) -> None:
    source = make_source(altaro_settings(link(sandbox.link_url), keep_reports=2))
    for seed in range(4):
        sandbox.set_report(generate_report(customers=2, users_per_customer=5, seed=seed))
        assert not source.collect().from_cache
        clock.advance(301)
    payloads = [p for (p,) in store.db.execute(f"SELECT {PAYLOAD_COLUMN} FROM fetches ORDER BY id").fetchall()]
    assert len(payloads) == 4 and [p is None for p in payloads] == [True, True, False, False]
    # Inside the window the newest report still answers.
    clock.advance(-300)
    assert source.collect().from_cache


def test_wait_mode_sleeps_until_the_link_may_be_called(
    sandbox: AltaroSandbox, make_source: Make, clock: FakeClock
) -> None:
    source = make_source(altaro_settings(link(sandbox.link_url), when_too_soon="wait"))
    source.collect()
    clock.advance(100)
    again = source.collect()
    assert clock.sleeps == [200.0] and not again.from_cache and len(sandbox.requests) == 2 and sandbox.refused == []


def test_restart_inside_the_window_does_not_call_again(
    sandbox: AltaroSandbox, make_source: Make, tmp_path: Path, clock: FakeClock
) -> None:
    settings = altaro_settings(link(sandbox.link_url))
    with Store.open(tmp_path / "restart.db") as first_life:
        before = make_source(settings, on=first_life).collect()
    clock.advance(60)
    with Store.open(tmp_path / "restart.db") as second_life:
        after = make_source(settings, on=second_life).collect()
    assert len(sandbox.requests) == 1 and after.from_cache and users(after) == users(before)


def test_a_crash_after_the_call_blocks_the_link_for_the_window(
    sandbox: AltaroSandbox, make_source: Make, store: Store, clock: FakeClock
) -> None:
    target = link_target(link(sandbox.link_url))
    from datetime import timedelta

    store.ledger.reserve("altaro", target, timedelta(seconds=300), now=clock.now())  # then the process died
    clock.advance(30)
    report = make_source(altaro_settings(link(sandbox.link_url))).collect()
    assert sandbox.requests == [] and not report.complete
    assert "may not be called again before" in report.problems[0] and "no stored report" in report.problems[0]


def test_two_store_objects_in_one_process_share_the_rule(
    sandbox: AltaroSandbox, make_source: Make, tmp_path: Path
) -> None:
    settings = altaro_settings(link(sandbox.link_url))
    with Store.open(tmp_path / "shared.db") as one, Store.open(tmp_path / "shared.db") as two:
        a = make_source(settings, on=one).collect()
        b = make_source(settings, on=two).collect()
    assert len(sandbox.requests) == 1 and not a.from_cache and b.from_cache and users(a) == users(b)


WORKER = textwrap.dedent(
    """
    import json, os, sys
    from connector.core.http import HttpSettings
    from connector.core.secrets import SecretRef
    from connector.store import Store
    from providers.altaro.client import build_altaro_client
    from providers.altaro.settings import AltaroLink, AltaroSettings
    from providers.altaro.source import AltaroSource

    key = SecretRef(env="ALTARO_TEST_KEY")
    settings = AltaroSettings(enabled=True, links=[AltaroLink(name="all", url=sys.argv[2], api_key=key)])
    with Store.open(sys.argv[1]) as store:
        open_client = lambda: build_altaro_client(HttpSettings(max_attempts=1))
        report = AltaroSource(settings, store.ledger, open_client).collect()
    result = {"from_cache": report.from_cache, "problems": report.problems, "customers": len(report.customers)}
    print(json.dumps(result))
    """
)


def test_the_rule_holds_across_processes_sharing_one_store(tmp_path: Path) -> None:
    with AltaroSandbox(generate_report(customers=3, users_per_customer=5)) as sandbox:
        env = {**os.environ, "ALTARO_TEST_KEY": "sandbox-altaro-key-0001", "PYTHONPATH": str(REPO)}
        store_path = str(tmp_path / "processes.db")
        workers = [
            subprocess.Popen(
                frozen_python("-c", WORKER, store_path, sandbox.link_url),  # type: ignore[attr-defined]
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=REPO,
            )
            for _ in range(4)
        ]
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        assert len(sandbox.requests) == 1 and sandbox.refused == []  # type: ignore[attr-defined]
    fresh = [r for r in results if not r["from_cache"] and not r["problems"]]
    assert len(fresh) == 1 and fresh[0]["customers"] == 3
    for other in results:
        # The others answered from the stored report, or (while the first was still fetching) said so.
        assert other in fresh or other["from_cache"] or "may not be called again" in other["problems"][0]


# -- failures ------------------------------------------------------------------------------------------------------


def test_a_rejected_key_is_a_problem_that_names_the_fix_not_the_key(
    sandbox: AltaroSandbox, make_source: Make, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-key-7d1c9e0b2a"
    report = make_source(altaro_settings(link(sandbox.link_url, api_key=wrong))).collect()
    assert not report.complete and report.customers == []
    assert "key rejected or this host's IP is not on the link's allow list" in report.problems[0]
    assert wrong not in report.problems[0] and wrong not in caplog.text
    last = store.ledger.last("altaro", link_target(link(sandbox.link_url)))
    assert last is not None and last.outcome == "error" and last.status_code == 401


def test_an_address_off_the_allow_list_is_refused(report_text: str, make_source: Make, clock: FakeClock) -> None:
    with AltaroSandbox(report_text, allowed_ips={"203.0.113.7"}, clock=clock.monotonic) as sandbox:
        report = make_source(altaro_settings(link(sandbox.link_url))).collect()  # type: ignore[attr-defined]
        assert sandbox.refused == [(403, "requests from this IP address are not allowed for this link")]  # type: ignore[attr-defined]
    assert "allow list" in report.problems[0]


def test_5xx_is_retried_then_a_problem(sandbox: AltaroSandbox, make_source: Make, clock: FakeClock) -> None:
    sandbox.inject(Fault(status=503), times=5)
    report = make_source(altaro_settings(link(sandbox.link_url))).collect()
    assert len(sandbox.requests) == 3 and clock.sleeps == [1.0, 2.0]
    assert "HTTP 503 after retries" in report.problems[0] and not report.complete


def test_a_5xx_then_success(sandbox: AltaroSandbox, make_source: Make) -> None:
    sandbox.inject(Fault(status=500))
    report = make_source(altaro_settings(link(sandbox.link_url))).collect()
    assert report.complete and len(sandbox.requests) == 2


def test_a_dropped_connection_is_retried(sandbox: AltaroSandbox, make_source: Make) -> None:
    sandbox.inject(Fault(drop=True))
    report = make_source(altaro_settings(link(sandbox.link_url))).collect()
    assert report.complete and len(sandbox.requests) == 2


def test_a_timeout_is_a_problem(make_source: Make, http_settings: object) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    source = make_source(altaro_settings(link("https://cmc.example.test/r/1")), transport=httpx.MockTransport(slow))
    report = source.collect()
    assert "timed out" in report.problems[0]


def test_a_transfer_cut_short_is_a_problem(sandbox: AltaroSandbox, make_source: Make, store: Store) -> None:
    sandbox.inject(Fault(truncate_to=300), times=3)
    report = make_source(altaro_settings(link(sandbox.link_url))).collect()
    assert "truncated" in report.problems[0] and report.customers == []


def test_a_report_cut_mid_row_is_rejected_and_not_cached(
    sandbox: AltaroSandbox, make_source: Make, store: Store, clock: FakeClock
) -> None:
    sandbox.serve_cut(500)
    source = make_source(altaro_settings(link(sandbox.link_url)))
    report = source.collect()
    assert report.customers == [] and "truncated" in report.problems[0] and "line " in report.problems[0]
    last = store.ledger.last("altaro", link_target(link(sandbox.link_url)))
    assert last is not None and last.outcome == "invalid" and last.payload is not None
    clock.advance(10)
    again = source.collect()  # the cut report is never served from the ledger
    assert len(sandbox.requests) == 1 and "no stored report" in again.problems[0]


def test_an_empty_body_is_a_problem(sandbox: AltaroSandbox, make_source: Make) -> None:
    sandbox.set_report(b"")
    report = make_source(altaro_settings(link(sandbox.link_url))).collect()
    assert "empty" in report.problems[0]


def test_a_missing_column_is_a_problem(sandbox: AltaroSandbox, make_source: Make) -> None:
    sandbox.set_report("Customer,Object Name\r\nC,x\r\n")
    report = make_source(altaro_settings(link(sandbox.link_url))).collect()
    assert "columns found: 'Customer', 'Object Name'" in report.problems[0]


def test_json_from_the_link(sandbox: AltaroSandbox, make_source: Make) -> None:
    text, expected = generate_report_with_counts(customers=3, users_per_customer=8, seed=5, fmt="json")
    sandbox.set_report(text, content_type="application/json; charset=utf-8")
    report = make_source(altaro_settings(link(sandbox.link_url))).collect()
    assert users(report) == {k: Decimal(v) for k, v in expected.billed_users.items()}


# -- several links -------------------------------------------------------------------------------------------------


def _two_products(clock: FakeClock) -> tuple[AltaroSandbox, AltaroSandbox]:
    header = "Customer Name,Product,Month,Object Type Backed Up,Object Name\r\n"
    one = header + "Contoso,P1,2026-11,Mailbox,Jane\r\nContoso,P1,2026-11,Mailbox,Ann\r\n"
    two = (
        header
        + "Contoso,P2,2026-11,Mailbox,jane\r\nContoso,P2,2026-11,OneDrive,Bob\r\nFabrikam,P2,2026-11,Mailbox,Jane\r\n"
    )
    return (
        AltaroSandbox(one, clock=clock.monotonic).start(),
        AltaroSandbox(two, clock=clock.monotonic, link_path="/api/billing-report/p2").start(),
    )


def test_several_links_count_users_distinct_across_them(make_source: Make, clock: FakeClock) -> None:
    one, two = _two_products(clock)
    try:
        report = make_source(altaro_settings(link(one.link_url, "p1"), link(two.link_url, "p2"))).collect()
    finally:
        one.stop()
        two.stop()
    contoso = report.customer("contoso")
    assert contoso is not None and report.complete and len(report.fetch_ids) == 2
    assert contoso.quantities[("altaro.billed_users", "")] == 3
    assert contoso.quantities[("altaro.billed_users", "P1")] == 2
    assert contoso.quantities[("altaro.billed_users", "P2")] == 2
    assert users(report)["Fabrikam"] == 1


def test_a_failing_link_among_several_is_not_zero(make_source: Make, store: Store, clock: FakeClock) -> None:
    one, two = _two_products(clock)
    two.inject(Fault(status=500), times=5)
    try:
        report = make_source(altaro_settings(link(one.link_url, "p1"), link(two.link_url, "p2"))).collect()
    finally:
        one.stop()
        two.stop()
    assert not report.complete and "link 'p2'" in report.problems[0]
    assert all(not c.complete for c in report.customers)
    assert november_users_peak(store) is None


# -- the monthly peak ----------------------------------------------------------------------------------------------


def test_the_monthly_peak_is_billed(sandbox: AltaroSandbox, make_source: Make, store: Store, clock: FakeClock) -> None:
    source = make_source(altaro_settings(link(sandbox.link_url)))
    header = "Customer Name,Product,Month,Object Type Backed Up,Object Name\r\n"
    seen = []
    for count in (3, 7, 5):
        body = header + "".join(f"Contoso,P1,2026-11,Mailbox,user {n}\r\n" for n in range(count))
        sandbox.set_report(body)
        collected = source.collect()
        observe(store, collected)
        seen.append(users(collected)["Contoso"])
        clock.advance(301)
    assert seen == [3, 7, 5]
    measured = november_users_peak(store)
    assert measured is not None and measured.quantity == 7
    why = measured.explanation
    assert why["observations_considered"] == 3 and why["explanation"]["counted"] == 7
    per_product = november_users_peak(store, product="P1")
    assert per_product is not None and per_product.quantity == 7


# -- secrets -------------------------------------------------------------------------------------------------------


def test_the_api_key_is_in_no_log_and_not_in_the_store(
    report_text: str, make_source: Make, tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    key = "very-secret-altaro-key-93b1f0"
    caplog.set_level(logging.DEBUG)
    with AltaroSandbox(report_text, api_key=key, clock=clock.monotonic) as sandbox, Store.open(tmp_path / "k.db") as db:
        settings = altaro_settings(link(sandbox.link_url, api_key=key))  # type: ignore[attr-defined]
        observe(db, make_source(settings, on=db).collect())
        clock.advance(10)
        observe(db, make_source(settings, on=db).collect())
        sandbox.inject(Fault(status=503), times=5)  # type: ignore[attr-defined]
        clock.advance(300)
        observe(db, make_source(settings, on=db).collect())
        wrong = altaro_settings(link(sandbox.link_url, api_key=key + "-old"))  # type: ignore[attr-defined]
        clock.advance(300)
        observe(db, make_source(wrong, on=db).collect())
    assert key not in caplog.text
    for file in tmp_path.iterdir():
        assert key.encode() not in file.read_bytes(), file.name
