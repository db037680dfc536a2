"""End to end: the real `connector daemon` process against the sandboxes, watched the way an operator's tools watch it.

/healthz turns 503 when a cycle fails (Atera answering 503) and 200 when it recovers; /metrics parses with
prometheus-client's parser and its counters move between cycles; a local webhook receiver (apprise `json://`) gets
exactly one alert for the new condition and one recovery message, however many cycles the condition lasts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector.operations.demo import Sandboxes
from providers.sandbox import Fault
from tests.clock import frozen_python

# Real daemon processes, cycling every second: `make test-slow` runs them, `make test` leaves them out.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SERVING = re.compile(r"serving /healthz and /metrics on (http://\S+)")


class Webhook:
    """A local receiver for apprise's json:// notifications: every message it was sent, in order."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.server.shutdown()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll until `check` returns something true; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Daemon:
    """`connector daemon` in its own process, its log in a file, its endpoints found from the log."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            frozen_python("-m", "connector.cli", "daemon", "--config", str(config), "--interval", "1"),
            cwd=config.parent,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w", encoding="utf-8"),
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        found = wait_for("the daemon to serve its endpoints", lambda: SERVING.search(self.text()))
        self.base = found.group(1)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def health(self) -> tuple[int, dict[str, Any]]:
        answer = httpx.get(f"{self.base}/healthz", timeout=5)
        return answer.status_code, answer.json()

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        answer = httpx.get(f"{self.base}/metrics", timeout=5)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }

    def cycles(self, status: str) -> float:
        return self.metrics().get(("connector_cycles_total", (("status", status),)), 0.0)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def daemon_config(config: Path, webhook: Webhook) -> Path:
    text = config.read_text(encoding="utf-8").replace('level = "WARNING"', 'level = "INFO"')
    text += f'\n[daemon]\nlisten = "127.0.0.1:0"\n\n[alerts]\nurls = ["{webhook.url}"]\n'
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def daemon(daemon_config: Path, tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(daemon_config, tmp_path / "daemon.log")
    yield running
    running.stop()


def _health_is(daemon: Daemon, code: int, status: str) -> tuple[int, dict[str, Any]] | None:
    found = daemon.health()
    return found if found[0] == code and found[1]["last_status"] == status else None


def _atera_answers_again(sandboxes: Sandboxes) -> None:
    atera = sandboxes["atera"]
    # The sandbox takes faults for its next N requests; the test cannot know N, so it drops what is left.
    with atera._lock:
        atera._faults.clear()


def test_the_daemon_reports_a_psa_outage_and_its_recovery(
    daemon: Daemon, sandboxes: Sandboxes, webhook: Webhook
) -> None:
    # Polled, not sampled once: on a loaded machine a slow cycle may briefly be "none for 2 intervals".
    _, body = wait_for("a first ok cycle, healthy", lambda: _health_is(daemon, 200, "ok"))
    assert body["ok"] and body["reasons"] == []
    first = daemon.metrics()
    assert first[("connector_pushes_total", ())] == 7
    assert first[("connector_lines_total", (("outcome", "pushed"),))] == 7
    assert webhook.messages == []  # nothing needs a person

    sandboxes["atera"].inject(Fault(status=503), times=100_000)
    _, body = wait_for("/healthz to turn 503", lambda: _health_is(daemon, 503, "incomplete"))
    assert not body["ok"]
    assert any("the PSA could not be read" in reason and "HTTP 503" in reason for reason in body["reasons"])
    # The outage lasts several cycles: the counters move, and the alert is still sent only once.
    base = daemon.cycles("incomplete")
    wait_for("two more failing cycles", lambda: daemon.cycles("incomplete") >= base + 2)
    during = daemon.metrics()
    assert during[("connector_vendor_errors_total", (("error", "VendorError"), ("vendor", "atera")))] >= 3
    assert (
        during[("connector_vendor_requests_total", (("vendor", "atera"),))]
        > first[("connector_vendor_requests_total", (("vendor", "atera"),))]
    )
    assert during[("connector_last_run_status", (("status", "incomplete"),))] == 1
    assert len(webhook.messages) == 1
    alert = webhook.messages[0]
    assert "new to look at" in alert["title"] and "incomplete" in alert["message"] and "HTTP 503" in alert["message"]

    _atera_answers_again(sandboxes)
    _, body = wait_for("/healthz to recover", lambda: _health_is(daemon, 200, "ok"))
    assert body["ok"]
    ok_cycles = daemon.cycles("ok")
    wait_for("two more ok cycles", lambda: daemon.cycles("ok") >= ok_cycles + 2)
    after = daemon.metrics()
    assert after[("connector_last_run_status", (("status", "ok"),))] == 1
    assert (
        after[("connector_cycle_duration_seconds_count", ())] > during[("connector_cycle_duration_seconds_count", ())]
    )
    assert [m["title"] for m in webhook.messages] == [alert["title"], "backup-billing connector: recovered"]
    assert "cleared: sync run" in webhook.messages[1]["message"]

    assert daemon.stop() == 0
    log = daemon.text()
    assert "received SIGTERM" in log and "daemon stopped" in log
    assert "Traceback" not in log
