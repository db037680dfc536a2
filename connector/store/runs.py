"""Runs and the audit trail: what each run did, and an append-only record of every decision and write."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from connector.redact import redact
from connector.store.database import Database, iso, to_json, utcnow


class Runs:
    """The `runs` and `audit` tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def start(self, command: str, now: datetime | None = None) -> int:
        with self._db.transaction():
            cursor = self._db.execute(
                "INSERT INTO runs (command, started_at, status) VALUES (?, ?, 'running')",
                [redact(command), iso(now or utcnow())],
            )
        return int(cursor.lastrowid or 0)

    def finish(self, run_id: int, status: str, summary: dict[str, Any], now: datetime | None = None) -> None:
        with self._db.transaction():
            self._db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                [iso(now or utcnow()), status, to_json(summary), run_id],
            )

    def audit(self, event: str, subject: str, details: dict[str, Any], now: datetime | None = None) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO audit (at, event, subject, details) VALUES (?, ?, ?, ?)",
                [iso(now or utcnow()), event, redact(subject), to_json(details)],
            )

    def audit_events(self, subject: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT at, event, subject, details FROM audit", []
        if subject is not None:
            sql, params = sql + " WHERE subject = ?", [subject]
        rows = self._db.execute(sql + " ORDER BY id", params).fetchall()
        return [{"at": r[0], "event": r[1], "subject": r[2], "details": json.loads(r[3])} for r in rows]
