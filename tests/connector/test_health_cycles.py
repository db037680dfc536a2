"""/healthz judges a cycle that returned a report: a vendor, the PSA or a push that failed is unhealthy; a held line
or an unmapped customer is a person's work, not the daemon failing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from connector.core.errors import VendorError
from connector.sync.report import RunReport, SourceOutcome
from connector.unattended.health import Health, address, cycle_failure, serve
from connector.unattended.metrics import Metrics
from mappings.lines import LineIdentity, LineResult, Outcome

IDENTITY = LineIdentity("Contoso Ltd", "Backup users", "2026-11", "altaro.billed_users")


def report(*sources: SourceOutcome, outcomes: tuple[Outcome, ...] = ()) -> RunReport:
    run = RunReport(run_id=1, started_at=datetime.now(UTC), dry_run=False, sources=list(sources))
    run.lines = [LineResult(IDENTITY, outcome) for outcome in outcomes]
    return run


def test_a_cycle_that_did_its_job_is_healthy_even_with_work_for_a_person() -> None:
    run = report(SourceOutcome("altaro", "cached"), SourceOutcome("axcient", "ok"), outcomes=(Outcome.HELD,))
    run.unmapped.append({"source": "axcient", "vendor_customer": "New Co"})
    assert cycle_failure(run) is None


def test_a_source_down_the_psa_unread_or_a_failed_push_is_unhealthy(tmp_path: Path) -> None:
    down = report(SourceOutcome("axcient", "failed", problems=["HTTP 503 after retries"]))
    assert cycle_failure(down) == "source axcient failed: HTTP 503 after retries"
    unread = report(SourceOutcome("altaro", "ok"), outcomes=(Outcome.FAILED, Outcome.FAILED))
    unread.psa_error = VendorError("atera", "cannot reach the server")
    assert cycle_failure(unread) == (
        "the PSA could not be read: atera: cannot reach the server; 2 line(s) could not be pushed"
    )
    health = Health(tmp_path / "state.db", interval=60)
    health.record(unread, None)
    ok, data = health.check()
    assert not ok and data["last_status"] == "incomplete"
    assert data["reasons"][0].startswith("the last cycle failed: the PSA could not be read")
    health.record(report(SourceOutcome("altaro", "ok")), None)
    assert health.check()[0]


def test_endpoints_serve_on_ipv6_loopback_and_say_the_port_taken(tmp_path: Path) -> None:
    metrics = Metrics()
    server = serve("[::1]:0", Health(tmp_path / "state.db", interval=60), metrics)
    try:
        bound = address(server)
        assert bound.startswith("[::1]:") and not bound.endswith(":0")
        assert httpx.get(f"http://{bound}/healthz").status_code == 200
    finally:
        server.shutdown()
        metrics.close()
