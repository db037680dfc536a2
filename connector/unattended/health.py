"""The daemon's HTTP endpoints: /healthz (is it syncing, is the store usable) and /metrics (Prometheus text)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from connector.core.errors import Status
from connector.store import Store
from connector.sync.report import RunReport
from connector.unattended.metrics import Metrics
from mappings.lines import Outcome

# A source that answered, answered from its stored report (a link's 5-minute rule), or is switched off did its job.
_SOURCE_WORKED = ("ok", "cached", "disabled")


class Health:
    """What /healthz answers, updated after every cycle."""

    def __init__(self, store_path: Path, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.store_path, self.interval, self._clock = store_path, interval, clock
        self.started = clock()
        self.last_cycle: float | None = None
        self.last_error: str | None = None
        self.last_status: str | None = None

    def record(self, report: RunReport | None, error: BaseException | None) -> None:
        self.last_cycle = self._clock()
        self.last_status = "failed" if report is None else str(report.status)
        if report is None:
            self.last_error = f"{type(error).__name__}: {error}" if error is not None else "it raised"
        else:
            self.last_error = cycle_failure(report)

    def check(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while the last cycle (or the start) is within 2 intervals, it did not fail, and the store opens."""
        since = self._clock() - (self.last_cycle if self.last_cycle is not None else self.started)
        reasons = []
        if since > 2 * self.interval:
            reasons.append(f"no cycle finished for {since:.0f}s (interval {self.interval:.0f}s)")
        if self.last_error is not None:
            reasons.append(f"the last cycle failed: {self.last_error}")
        try:
            with Store.open(self.store_path) as store:
                store.check_usable()
        except Exception as error:  # any failure to open or read means the next cycle cannot work either
            reasons.append(f"the store is not usable: {error}")
        data = {"ok": not reasons, "reasons": reasons, "last_status": self.last_status, "seconds_since": round(since)}
        return not reasons, data


def cycle_failure(report: RunReport) -> str | None:
    """Why a cycle that ended with a report failed at its job, or None when it did its job.

    A vendor or the PSA that could not be read, or a push that did not go through, is the daemon not working (the
    next cycle may fix it, or a person must). Lines held for review or an unmapped customer are not: the daemon
    works and says so through alerts and `connector status`; an orchestrator restarting it would change nothing.
    """
    if report.status is Status.FAILED:
        return "the run failed: " + ("; ".join(report.problems[:3]) or "see the log")
    causes = [
        f"source {source.name} {source.status}" + (f": {source.problems[0]}" if source.problems else "")
        for source in report.sources
        if source.status not in _SOURCE_WORKED
    ]
    if report.psa_error is not None:
        causes.append(f"the PSA could not be read: {report.psa_error}")
    if failed := report.count(Outcome.FAILED):
        causes.append(f"{failed} line(s) could not be pushed")
    return "; ".join(causes) or None


def _handler(health: Health, metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                ok, data = health.check()
                self._send(200 if ok else 503, "application/json", json.dumps(data).encode())
            elif self.path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, metrics.exposition())
            else:
                self._send(404, "text/plain", b"not found: /healthz or /metrics\n")

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every 15 s would drown the daemon's own log

    return Handler


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve(listen: str, health: Health, metrics: Metrics) -> ThreadingHTTPServer:
    """Start the endpoints on `host:port` in a daemon thread; `shutdown()` the server to stop them.

    Port 0 takes a free port: `address(server)` says which (the daemon logs it).
    """
    host, port = listen.rsplit(":", 1)
    host = host.strip("[]")
    kind = _Server6 if ":" in host else ThreadingHTTPServer
    server = kind((host, int(port)), _handler(health, metrics))
    threading.Thread(target=server.serve_forever, name="connector-endpoints", daemon=True).start()
    return server


def address(server: ThreadingHTTPServer) -> str:
    """The `host:port` the endpoints are served on (the port chosen when `listen` gave 0)."""
    host, port = server.server_address[:2]
    return f"[{host!s}]:{port}" if ":" in str(host) else f"{host!s}:{port}"
