"""The daemon's /healthz and /metrics: 503 after a failed cycle, 200 after it recovers; counters that move."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector.core.errors import ConfigError, VendorError
from connector.sync.report import RunReport
from connector.unattended.daemon import run_forever
from connector.unattended.health import Health, serve
from connector.unattended.metrics import Metrics
from connector.wiring import settings_from_data


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz_turns_503_on_a_failed_cycle_and_200_when_it_recovers(tmp_path: Path) -> None:
    health, metrics = Health(tmp_path / "state.db", interval=60), Metrics()
    server = serve("127.0.0.1:0", health, metrics)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    gate, done = threading.Semaphore(0), threading.Semaphore(0)
    outcomes: list[object] = [VendorError("altaro", "HTTP 503"), "ok"]

    def cycle() -> RunReport:
        gate.acquire()
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return RunReport(run_id=1, started_at=datetime.now(UTC), dry_run=False)

    def observe(report: RunReport | None, seconds: float, error: BaseException | None) -> None:
        health.record(report, error)
        metrics.record(report, seconds)
        done.release()

    loop = threading.Thread(
        target=run_forever, args=(cycle, 0, threading.Event()), kwargs={"max_cycles": 2, "on_cycle": observe}
    )
    loop.start()
    try:
        assert httpx.get(f"{base}/healthz").status_code == 200  # just started: within two intervals
        gate.release()
        done.acquire()
        failed = httpx.get(f"{base}/healthz")
        assert failed.status_code == 503
        assert "the last cycle failed: VendorError" in json.loads(failed.text)["reasons"][0]
        gate.release()
        done.acquire()
        assert httpx.get(f"{base}/healthz").status_code == 200
        scraped = httpx.get(f"{base}/metrics")
        samples = _samples(scraped.text)
        assert samples[("connector_cycles_total", (("status", "failed"),))] == 1
        assert samples[("connector_cycles_total", (("status", "ok"),))] == 1
        assert samples[("connector_last_run_status", (("status", "ok"),))] == 1
        assert samples[("connector_cycle_duration_seconds_count", ())] == 2
        assert httpx.get(f"{base}/nothing").status_code == 404
    finally:
        loop.join(5)
        server.shutdown()


def test_healthz_is_503_when_no_cycle_finished_for_two_intervals(tmp_path: Path) -> None:
    now = [0.0]
    health = Health(tmp_path / "state.db", interval=10, clock=lambda: now[0])
    assert health.check()[0]
    now[0] = 21
    ok, data = health.check()
    assert not ok and "no cycle finished for 21s" in data["reasons"][0]


def test_the_store_must_be_usable(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    ok, data = Health(tmp_path / "dir.db", interval=10).check()
    assert not ok and "the store is not usable" in data["reasons"][0]


@pytest.mark.parametrize("listen", ["0.0.0.0:9464", "192.168.1.5:9464", "[::]:9464"])
def test_a_non_loopback_address_is_refused_unless_allowed(listen: str) -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        settings_from_data({"daemon": {"listen": listen}})
    assert settings_from_data({"daemon": {"listen": listen, "allow_non_loopback": True}}).daemon.listen == listen


def test_the_endpoints_are_off_by_default_and_loopback_is_accepted() -> None:
    assert settings_from_data({}).daemon.listen is None
    for listen in ("127.0.0.1:9464", "localhost:9464", "[::1]:9464"):
        assert settings_from_data({"daemon": {"listen": listen}}).daemon.listen == listen
