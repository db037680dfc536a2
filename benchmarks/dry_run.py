"""Dry-run cost against customer count: in-process fake sources and PSA, so only the engine and store are timed."""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connector.core.config import Settings
from connector.interfaces.psa import PsaEvents, PushResult
from connector.interfaces.usage import CustomerUsage, UsageReport
from connector.operations.heap import fewer_collections
from connector.store import Store
from connector.sync.engine import SyncEngine
from connector.sync.observe import observe
from connector.wiring import settings_from_data
from mappings.lines import Line

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
METRICS = {"altaro": "altaro.billed_users", "axcient": "axcient.server_gb"}


class Source:
    """Reports every customer with one metric and a realistic explanation, and observes it as real sources do."""

    def __init__(self, name: str, store: Store, customers: int) -> None:
        self.name, self.store, self.customers = name, store, customers

    def collect(self, *, run_id: int | None = None) -> UsageReport:
        report = UsageReport(self.name, NOW)
        metric = METRICS[self.name]
        for i in range(self.customers):
            usage = CustomerUsage(self.name, f"Customer {i:05d}", "2026-11", vendor_id=str(1000 + i))
            usage.quantities[(metric, "")] = Decimal(i % 50 + 1)
            objects = [f"user{j}@customer{i}.example" for j in range(10)]
            usage.inputs[metric] = {"objects": objects, "excluded": {"shared mailbox": objects[:3]}}
            report.customers.append(usage)
        observe(self.store, report, run_id=run_id)
        return report


class Sink:
    def push(self, line: Line, events: PsaEvents | None = None) -> PushResult:
        raise AssertionError("a dry run pushes nothing")


def config(customers: int) -> Settings:
    entries: list[dict[str, Any]] = [
        {
            "psa_customer": f"PSA {i:05d}",
            "altaro_customer": f"customer {i:05d}",  # another case than the vendor's: matched casefolded
            "axcient_customer": f"Customer {i:05d}",
            "lines": [
                {"metric": "altaro.billed_users", "contract": "M365 backup", "rate": "3.50"},
                {"metric": "axcient.server_gb", "contract": "Server backup", "rate": "0.125"},
            ],
        }
        for i in range(customers)
    ]
    return settings_from_data({"customers": entries})


def dry_run(customers: int, collector: str = "sync") -> float:
    settings = config(customers)
    store = Store.open(":memory:")
    sources = {name: Source(name, store, customers) for name in METRICS}
    engine = SyncEngine(settings, store, sources, Sink(), now=lambda: NOW)
    started = time.perf_counter()
    with fewer_collections() if collector == "sync" else nullcontext():  # "sync": as `connector sync` runs it
        report = engine.run(dry_run=True)
    elapsed = time.perf_counter() - started
    assert len(report.lines) == 2 * customers, len(report.lines)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--collector",
        choices=["sync", "default", "both"],
        default="sync",
        help="garbage collector settings: as a sync sets them (connector.operations.heap), Python's, or both",
    )
    args = parser.parse_args()
    collectors = ["default", "sync"] if args.collector == "both" else [args.collector]
    times: dict[tuple[str, int], list[float]] = {(c, n): [] for c in collectors for n in args.customers}
    # Interleaved, so a machine busy with other work for a while slows every variant alike.
    for _ in range(args.repeat):
        for collector in collectors:
            for customers in args.customers:
                times[collector, customers].append(dry_run(customers, collector))
    for collector in collectors:
        medians = {n: statistics.median(times[collector, n]) for n in args.customers}
        for customers, median in medians.items():
            print(
                f"{collector:>7} collector, {customers:>6} customers: dry run {median:.2f} s (median of {args.repeat})"
            )
        small, large = min(medians), max(medians)
        if small != large:
            growth = medians[large] / medians[small]
            print(f"{collector:>7} collector: growth {growth:.1f}x for {large / small:.0f}x the customers")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
