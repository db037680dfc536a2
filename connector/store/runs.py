"""Runs and the audit trail: what each run did, and an append-only record of every decision and write; and the alerts
already told about runs."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connector.core.errors import ClockError
from connector.core.logs import current_run_id
from connector.core.redact import redact
from connector.store.database import Database, from_iso, iso, to_json, utcnow

# How far a run's clock may read behind the last run's start: two clocks stepped by NTP disagree by seconds; a clock
# set back (by hand, a dead battery, a restored VM) is hours or months behind, and would date periods wrongly.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class AbandonedRun:
    """A run whose process ended without finishing it (killed with `kill -9`, or its machine stopped)."""

    id: int
    command: str
    started_at: str
    pid: int | None
    host: str | None
    found_by: int

    @property
    def note(self) -> str:
        who = f"pid {self.pid} on {self.host}" if self.pid is not None else "pid unknown (an older connector's run)"
        return (
            f"run {self.id} ({self.command}, started {self.started_at}) never finished: its process, {who}, is gone "
            f"(killed, or its machine stopped); found by run {self.found_by}"
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "command": self.command,
            "started_at": self.started_at,
            "pid": self.pid,
            "host": self.host,
            "note": self.note,
        }


class Runs:
    """The `runs` and `audit` tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def start(self, command: str, now: datetime | None = None) -> int:
        """Record a run starting, with the process that runs it (so a run that never finishes can be named).

        A clock earlier than the last run's start refuses the run (ClockError) before anything is recorded.
        """
        moment = now or utcnow()
        with self._db.transaction():
            latest = self._db.execute("SELECT MAX(started_at) FROM runs").fetchone()[0]
            if latest is not None and moment < from_iso(latest) - CLOCK_SKEW:
                raise ClockError(
                    f"this machine's clock reads {iso(moment)}, earlier than the last run's start {latest}: "
                    "set the clock right (check NTP and the time zone) and run again; nothing was recorded"
                )
            cursor = self._db.execute(
                "INSERT INTO runs (command, started_at, status, pid, host) VALUES (?, ?, 'running', ?, ?)",
                [redact(command), iso(moment), os.getpid(), redact(socket.gethostname())],
            )
        run_id = int(cursor.lastrowid or 0)
        current_run_id.set(run_id)  # every log line from here on names this run
        return run_id

    def abandon_running(self, found_by: int) -> list[AbandonedRun]:
        """Mark every run before `found_by` still `running` as abandoned, with a note naming its pid.

        Only a caller holding the sync lock may call this: then no other run is alive, so `running` means killed.
        """
        with self._db.transaction():
            rows = self._db.execute(
                "SELECT id, command, started_at, pid, host FROM runs WHERE status = 'running' AND id < ? ORDER BY id",
                [found_by],
            ).fetchall()
            abandoned = [AbandonedRun(run, command, at, pid, host, found_by) for run, command, at, pid, host in rows]
            for run in abandoned:
                self._db.execute(
                    "UPDATE runs SET status = 'abandoned', summary = ? WHERE id = ?",
                    [to_json({"abandoned": run.note, "found_by_run": found_by}), run.id],
                )
        return abandoned

    def finish(self, run_id: int, status: str, summary: dict[str, Any], now: datetime | None = None) -> None:
        with self._db.transaction():
            self._db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                [iso(now or utcnow()), redact(status), to_json(summary), run_id],
            )

    def audit(self, event: str, subject: str, details: dict[str, Any], now: datetime | None = None) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO audit (at, event, subject, details) VALUES (?, ?, ?, ?)",
                [iso(now or utcnow()), redact(event), redact(subject), to_json(details)],
            )

    def audit_events(self, subject: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT at, event, subject, details FROM audit", []
        if subject is not None:
            sql, params = sql + " WHERE subject = ?", [subject]
        return [row | {"details": json.loads(row["details"])} for row in self._db.rows(sql + " ORDER BY id", params)]


class AlertState:
    """Which alert conditions were told (`connector.operations.alerts`), so none is told twice; read and replaced
    whole, as one JSON by key."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def told(self) -> dict[str, str]:
        """The conditions told and not cleared since, by key (the table is the store's since schema v10)."""
        row = self.database.execute("SELECT told FROM alert_state WHERE id = 1").fetchone()
        return dict(json.loads(row[0])) if row else {}

    def save(self, told: Mapping[str, str]) -> None:
        """Replace what was told, in one transaction."""
        with self.database.transaction():
            self.database.execute(
                "INSERT INTO alert_state (id, told) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET told = excluded.told",
                [json.dumps(dict(told), sort_keys=True)],
            )
