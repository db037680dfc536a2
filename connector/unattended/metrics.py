"""The daemon's Prometheus metrics, in a registry of their own so tests and the exporter see only the connector's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from connector.core import http
from connector.store import ledger
from connector.store.database import utcnow
from connector.sync.report import RunReport
from mappings.lines import Outcome

_STATUSES = ("ok", "held", "incomplete", "invalid", "failed")


class _LedgerWait(Collector):
    """Seconds until each source's report links may all be called again, computed when scraped so it counts down."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def reserved(self, source: str, target: str, next_at: datetime) -> None:
        with self._lock:
            self._next[(source, target)] = next_at

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "connector_fetch_ledger_wait_seconds",
            "Seconds until the fetch ledger lets every link of a source be called again (0: now)",
            labels=["source"],
        )
        now, waits = utcnow(), dict[str, float]()
        with self._lock:
            # Targets (report links) are not labels: they may carry secrets, and a source's wait is its longest.
            for (source, _), next_at in self._next.items():
                waits[source] = max(waits.get(source, 0.0), (next_at - now).total_seconds(), 0.0)
        for source, seconds in sorted(waits.items()):
            family.add_metric([source], seconds)
        yield family


class Metrics:
    """What each daemon cycle did, as counters, gauges and a duration histogram, and each vendor request.

    Vendor requests and fetch-ledger reservations are heard through the hooks of `connector.core.http` and the ledger
    from construction until `close()`.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        gauge, counter = partial(Gauge, registry=self.registry), partial(Counter, registry=self.registry)
        self.last_run = gauge("connector_last_run_timestamp_seconds", "When the last cycle finished")
        self.last_status = gauge("connector_last_run_status", "1 for the last cycle's status", ["status"])
        self.cycles = counter("connector_cycles", "Daemon cycles by how they ended", ["status"])
        self.lines = counter("connector_lines", "Line items by outcome", ["outcome"])
        self.pushes = counter("connector_pushes", "Lines pushed to the PSA")
        self.sources = counter("connector_source_runs", "Each source's outcome per cycle", ["source", "status"])
        self.duration = Histogram(
            "connector_cycle_duration_seconds",
            "How long a cycle took",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
        self.requests = counter("connector_vendor_requests", "Vendor requests (after retries)", ["vendor"])
        self.errors = counter("connector_vendor_errors", "Vendor requests that failed, by error", ["vendor", "error"])
        self.wait = _LedgerWait()
        self.registry.register(self.wait)
        http.REQUEST_OBSERVERS.append(self.request)
        ledger.RESERVATION_OBSERVERS.append(self.wait.reserved)

    def request(self, vendor: str, error: str | None) -> None:
        self.requests.labels(vendor).inc()
        if error is not None:
            self.errors.labels(vendor, error).inc()

    def close(self) -> None:
        """Stop listening to the hooks (a process may build several, tests do)."""
        http.REQUEST_OBSERVERS.remove(self.request)
        ledger.RESERVATION_OBSERVERS.remove(self.wait.reserved)

    def record(self, report: RunReport | None, seconds: float) -> None:
        """Count one cycle: its report, or None when it raised."""
        status = "failed" if report is None else str(report.status)
        self.cycles.labels(status).inc()
        for known in _STATUSES:
            self.last_status.labels(known).set(1 if known == status else 0)
        self.last_run.set(time.time())
        self.duration.observe(seconds)
        if report is None:
            return
        for outcome in Outcome:
            if count := report.count(outcome):
                self.lines.labels(outcome.value).inc(count)
        self.pushes.inc(report.count(Outcome.PUSHED))
        for source in report.sources:
            self.sources.labels(source.name, source.status).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
