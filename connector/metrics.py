"""The daemon's Prometheus metrics, in a registry of their own so tests and the exporter see only the connector's."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from connector.report import RunReport
from mappings.lines import Outcome

_STATUSES = ("ok", "held", "incomplete", "invalid", "failed")


class Metrics:
    """What each daemon cycle did, as counters, gauges and a duration histogram."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.last_run = Gauge(
            "connector_last_run_timestamp_seconds", "When the last cycle finished", registry=self.registry
        )
        self.last_status = Gauge(
            "connector_last_run_status", "1 for the last cycle's status", ["status"], registry=self.registry
        )
        self.cycles = Counter("connector_cycles", "Daemon cycles by how they ended", ["status"], registry=self.registry)
        self.lines = Counter("connector_lines", "Line items by outcome", ["outcome"], registry=self.registry)
        self.pushes = Counter("connector_pushes", "Lines pushed to the PSA", registry=self.registry)
        self.sources = Counter(
            "connector_source_runs", "Each source's outcome per cycle", ["source", "status"], registry=self.registry
        )
        self.duration = Histogram(
            "connector_cycle_duration_seconds",
            "How long a cycle took",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )

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
