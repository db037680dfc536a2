"""What `connector status` reports (the last runs, what waits for a person, the report links' windows, the store) and
`connector history` (every recorded change of every line). Both read the store without the sync lock: a daemon may be
syncing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connector.core.config import Settings
from connector.core.errors import Status
from connector.operations.review import known_customer
from connector.store import Store
from connector.store.activity import last_calls, latest_periods, line_history, push_progress, recent_runs
from connector.store.database import from_iso, utcnow
from mappings.lines import LineStatus
from mappings.periods import CALENDAR_KINDS, period_containing

# A run in these states means the last attempt did not bill everything: someone should look.
_UNHEALTHY_RUNS = {"failed", "incomplete", "invalid", "crashed", "abandoned"}


@dataclass(frozen=True)
class StatusSummary:
    """A snapshot of the store, and the one status saying whether a person needs to act."""

    store_path: Path | None
    schema_version: int
    store_bytes: int
    runs: list[dict[str, Any]]
    held: int
    failed: int
    unmapped: list[dict[str, str]]
    problems: list[str]
    links: list[dict[str, Any]] = field(default_factory=list)
    progress: list[dict[str, Any]] = field(default_factory=list)
    # Recorded corrections of invoiced periods: amounts a person bills by hand, then closes with `connector discard`.
    corrections: int = 0
    # The last sync's contracts the connector pushed that no mapping names any more and the PSA still bills.
    strays: list[dict[str, str]] = field(default_factory=list)
    # Per billing period of the mapped contracts: the period under way, and the periods the contracts carry.
    periods: list[dict[str, Any]] = field(default_factory=list)
    # Each source as the last sync found it: status, customers, problems.
    sources: list[dict[str, Any]] = field(default_factory=list)
    # Lines staged and waiting for a push (the next cycle sends them: a rate limit, a request budget).
    pending: int = 0

    @property
    def last_run(self) -> dict[str, Any] | None:
        return next((run for run in self.runs if run["status"] != "running"), None)

    @property
    def status(self) -> Status:
        """incomplete when something was not billed (a failed push, an unmapped customer, a failed last run);
        held when lines only wait for review or corrections to be billed by hand; ok otherwise."""
        last = self.last_run
        if self.failed or self.unmapped or self.strays or (last is not None and last["status"] in _UNHEALTHY_RUNS):
            return Status.INCOMPLETE
        if self.held or self.corrections:
            return Status.HELD
        return Status.OK

    def attention(self) -> list[str]:
        """What a person should do, one sentence each."""
        notes = []
        if self.held:
            notes.append(f"{self.held} line(s) held for review: `connector review`, then `connector approve`")
        if self.failed:
            notes.append(f"{self.failed} line(s) failed to push: `connector review` says why")
        if self.corrections:
            notes.append(
                f"{self.corrections} correction(s) of invoiced periods to bill by hand: `connector review` lists them "
                "with the amounts, `connector discard ID` closes one once billed"
            )
        notes += [f"{u.get('source')} customer {u.get('vendor_customer')!r} is not mapped" for u in self.unmapped]
        notes += [stray.get("reason", f"{stray.get('contract')} is billed but not mapped") for stray in self.strays]
        last = self.last_run
        if last is not None and last["status"] in _UNHEALTHY_RUNS:
            notes.append(f"the last run ({last['run_id']}) ended {last['status']}")
        return notes + list(self.problems)

    def progress_notes(self) -> list[str]:
        """How far the pushes of each period with lines still to push got: not for a person to act on, they go out
        by themselves at the next cycles (a first sync of a large MSP takes several under the PSA's rate limit)."""
        return [
            f"{p['period']}: {p['pushed']} of {p['planned']} line(s) pushed; the {p['pending']} pending go out "
            "at the next cycle"
            for p in self.progress
        ]

    def to_data(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "store": {"path": self.store_path, "schema_version": self.schema_version, "bytes": self.store_bytes},
            "runs": self.runs,
            "waiting": {
                "held": self.held,
                "failed": self.failed,
                "corrections": self.corrections,
                "unmapped": self.unmapped,
            },
            "strays": self.strays,
            "attention": self.attention(),
            "links": self.links,
            "progress": self.progress,
            "periods": self.periods,
            "sources": self.sources,
            "pending": self.pending,
        }


def _links(store: Store, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    # Each source's minimum interval between calls to one target, where its settings declare one.
    windows = {}
    for name, value in settings:
        seconds = getattr(value, "min_interval_seconds", None)
        if isinstance(seconds, int | float):
            windows[name] = timedelta(seconds=seconds)
    links = []
    for source, target, requested, finished in last_calls(store.database):
        contact = max(from_iso(requested), from_iso(finished) if finished else from_iso(requested))
        window = windows.get(source)
        next_at = contact + window if window is not None else None
        links.append(
            {
                "source": source,
                "target": target,
                "last_call_at": contact.isoformat(),
                "next_call_at": None if next_at is None else max(next_at, now).isoformat(),
            }
        )
    return links


def open_periods(settings: Settings, store: Store, now: datetime) -> list[dict[str, Any]]:
    """Per billing period the mappings bill (monthly, quarterly...): the period under way in the MSP's zone, and how
    many mapped contracts carry each period (a contract keeps an ended period until the PSA invoices it), or have no
    line yet."""
    latest = latest_periods(store.database)
    today = now.astimezone(ZoneInfo(settings.billing.timezone)).date()
    kinds: dict[str, dict[str, Any]] = {}
    for customer in settings.customers:
        for line in customer.lines:
            kind = kinds.setdefault(
                line.billing_period, {"billing_period": line.billing_period, "carried": Counter(), "no_line_yet": 0}
            )
            carried = latest.get((customer.psa_customer, line.contract, line.metric))
            if carried is None:
                kind["no_line_yet"] += 1
            else:
                kind["carried"][carried] += 1
    found = []
    for kind in kinds.values():
        under_way = (
            period_containing(kind["billing_period"], today).key if kind["billing_period"] in CALENDAR_KINDS else None
        )
        counted = [{"period": key, "contracts": n} for key, n in sorted(kind["carried"].items(), reverse=True)]
        found.append({**kind, "under_way": under_way, "carried": counted})
    return found


def summarise(settings: Settings, store: Store, *, runs: int = 5, now: datetime | None = None) -> StatusSummary:
    """The store's state, read without taking the sync lock (a daemon may be syncing meanwhile)."""
    recent = recent_runs(store.database, runs)
    counts = store.outbox.counts()
    last_sync = next((r for r in recent if r["status"] != "running" and not r["dry_run"]), None)
    path = store.path
    return StatusSummary(
        store_path=path,
        schema_version=store.schema_version,
        store_bytes=path.stat().st_size if path is not None and path.exists() else 0,
        runs=recent,
        held=counts.get(LineStatus.HELD, 0),
        failed=counts.get(LineStatus.FAILED, 0),
        unmapped=list(last_sync["unmapped"]) if last_sync else [],
        problems=list(last_sync["problems"]) if last_sync else [],
        links=_links(store, settings, now or utcnow()),
        periods=open_periods(settings, store, now or utcnow()),
        sources=list(last_sync.get("sources") or []) if last_sync else [],
        pending=counts.get(LineStatus.PENDING, 0),
        progress=push_progress(store.database),
        corrections=counts.get(LineStatus.CORRECTION, 0),
        # Runs recorded before strays were reported have none.
        strays=list(last_sync.get("strays") or []) if last_sync else [],
    )


def status(settings: Settings, *, runs: int = 5) -> StatusSummary:
    """The last runs and what waits for a person; reads the store without the sync lock (a daemon may be syncing)."""
    with Store.open(settings.store.path) as store:
        return summarise(settings, store, runs=runs)


def history(settings: Settings, customer: str | None = None, period: str | None = None) -> list[dict[str, Any]]:
    """Every recorded change of every line of a customer (any case) and period, oldest first."""
    with Store.open(settings.store.path) as store:
        if customer is not None:
            known_customer(store, customer, (c.psa_customer for c in settings.customers))
        return line_history(store.database, customer, period)
