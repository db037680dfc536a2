"""The fetch ledger: every vendor call, reserved atomically before it is made, so call limits hold across processes."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from connector.core.redact import redact_bytes
from connector.interfaces.ledger import FetchRecord, FetchReserved, FetchTooSoon
from connector.store.database import Database, from_iso, iso, masked, utcnow

# Told after each reservation: source, target, and when that target may next be called (the daemon's metrics
# show the wait). Reserve is where the window is known; a call that ends late (retries) moves it a little later.
RESERVATION_OBSERVERS: list[Callable[[str, str, datetime], None]] = []


# A call's body as SQL over `fetches`: inline (rows from before bodies were shared), else the shared copy, which
# `_COMPRESSED` says is zlib-compressed (since schema v7; `_record` inflates it).
PAYLOAD_COLUMN = (
    "COALESCE(payload, CASE WHEN payload_kept THEN (SELECT body FROM payloads WHERE hash = fetches.payload_hash) END)"
)
_COMPRESSED = (
    "CASE WHEN payload IS NULL AND payload_kept THEN "
    "(SELECT compressed FROM payloads WHERE hash = fetches.payload_hash) ELSE 0 END"
)
_COLUMNS = (
    f"id, source, target, requested_at, outcome, status_code, content_type, payload_hash, {PAYLOAD_COLUMN} AS body, "
    f"error, finished_at, {_COMPRESSED} AS compressed"
)

# Bodies smaller than this are kept as they are: compressing them would save little.
_COMPRESS_FROM = 4096
HAS_PAYLOAD = "(payload IS NOT NULL OR payload_kept = 1)"
# Drops the bodies no call keeps any more.
FORGET_UNKEPT = (
    "DELETE FROM payloads WHERE NOT EXISTS "
    "(SELECT 1 FROM fetches WHERE payload_kept = 1 AND payload_hash = payloads.hash)"
)


def _record(row: dict[str, Any]) -> FetchRecord:
    keys = ("id", "source", "target", "outcome", "status_code", "content_type", "payload_hash", "error")
    return FetchRecord(
        **{key: row[key] for key in keys},
        requested_at=from_iso(row["requested_at"]),
        payload=zlib.decompress(row["body"]) if row["compressed"] else row["body"],
        finished_at=from_iso(row["finished_at"]) if row["finished_at"] else None,
    )


class Ledger:
    """The `fetches` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def last(self, source: str, target: str) -> FetchRecord | None:
        """The most recent call recorded for a target, whatever its outcome."""
        row = self._db.row(
            f"SELECT {_COLUMNS} FROM fetches WHERE source = ? AND target = ? ORDER BY id DESC LIMIT 1",
            [masked(source), masked(target)],
        )
        return _record(row) if row else None

    def last_good(self, source: str, target: str) -> FetchRecord | None:
        """The most recent call that returned a usable payload."""
        row = self._db.row(
            f"SELECT {_COLUMNS} FROM fetches WHERE source = ? AND target = ? AND outcome = 'ok' "
            f"AND {HAS_PAYLOAD} ORDER BY id DESC LIMIT 1",
            [masked(source), masked(target)],
        )
        return _record(row) if row else None

    def reserve(
        self,
        source: str,
        target: str,
        min_interval: timedelta,
        *,
        now: datetime | None = None,
        run_id: int | None = None,
    ) -> FetchReserved | FetchTooSoon:
        """Atomically check the window and record a call about to be made.

        The check and the insert share one IMMEDIATE transaction, so two processes sharing the store can never
        both be told to call the same target inside `min_interval`.
        """
        moment = now or utcnow()
        with self._db.transaction():
            last = self.last(source, target)
            if last is not None and moment - last.last_contact < min_interval:
                outcome: FetchReserved | FetchTooSoon = FetchTooSoon(last, last.last_contact + min_interval)
            else:
                cursor = self._db.execute(
                    "INSERT INTO fetches (source, target, requested_at, outcome, run_id) "
                    "VALUES (?, ?, ?, 'started', ?)",
                    [masked(source), masked(target), iso(moment), run_id],
                )
                outcome = FetchReserved(fetch_id=int(cursor.lastrowid or 0), previous=last)
        next_at = outcome.next_allowed_at if isinstance(outcome, FetchTooSoon) else moment + min_interval
        for observer in RESERVATION_OBSERVERS:
            observer(source, target, next_at)
        return outcome

    def abandon(self, run_id: int, note: str) -> int:
        """Close the calls an abandoned run left `started`; returns how many.

        Their time stays as it was and no end is made up: the vendor may have answered the killed process, so the
        call still counts for the target's window.
        """
        with self._db.transaction():
            cursor = self._db.execute(
                "UPDATE fetches SET outcome = 'abandoned', error = ? WHERE run_id = ? AND outcome = 'started'",
                [masked(note), run_id],
            )
        return cursor.rowcount

    def complete(
        self,
        fetch_id: int,
        outcome: str,
        *,
        status_code: int | None = None,
        content_type: str | None = None,
        payload: bytes | None = None,
        error: str | None = None,
        now: datetime | None = None,
        keep_payloads: int | None = None,
    ) -> str | None:
        """Record how a reserved call ended; returns the SHA-256 of the payload as stored.

        Secrets are masked out of the payload before it is written, like everything else in the store (a vendor may
        echo the key in its body), so the hash is of the stored bytes: it verifies the stored payload, and equals the
        hash of the body received whenever that held no secret.

        With `keep_payloads`, only that many of the target's newest payloads stay in full: an hourly poll of a large
        report would otherwise grow the store without end. Older calls keep their time, outcome and hash.
        """
        stored = redact_bytes(payload) if payload is not None else None
        digest = hashlib.sha256(stored).hexdigest() if stored is not None else None
        with self._db.transaction():
            if digest is not None and stored is not None:
                # A re-fetched identical report (the usual case for an hourly poll) adds no copy of its body.
                self._keep_body(digest, stored)
            self._db.execute(
                "UPDATE fetches SET finished_at = ?, outcome = ?, status_code = ?, content_type = ?, "
                "payload_hash = ?, payload_kept = ?, error = ? WHERE id = ?",
                [
                    iso(now or utcnow()),
                    masked(outcome),
                    status_code,
                    masked(content_type),
                    digest,
                    int(digest is not None),
                    masked(error) if error else None,
                    fetch_id,
                ],
            )
            if payload is not None and keep_payloads is not None:
                self._prune(fetch_id, keep_payloads)
        return digest

    def _keep_body(self, digest: str, body: bytes) -> None:
        """Store a body once, compressed when large: a report compresses about 13 to 1 (in 0.2 s for 30 MB)."""
        if self._db.execute("SELECT 1 FROM payloads WHERE hash = ?", [digest]).fetchone() is not None:
            return
        packed = zlib.compress(body, 6) if len(body) >= _COMPRESS_FROM else body
        compressed = len(packed) < len(body)
        self._db.execute(
            "INSERT INTO payloads (hash, body, compressed) VALUES (?, ?, ?)",
            [digest, packed if compressed else body, int(compressed)],
        )

    def _prune(self, fetch_id: int, keep: int) -> None:
        """Forget the bodies of all but the `keep` newest calls of a fetch's target; drop bodies no call keeps."""
        self._db.execute(
            "UPDATE fetches SET payload = NULL, payload_kept = 0 WHERE id IN ("
            "SELECT id FROM fetches WHERE (source, target) = (SELECT source, target FROM fetches WHERE id = ?) "
            f"AND {HAS_PAYLOAD} ORDER BY id DESC LIMIT -1 OFFSET ?)",
            [fetch_id, keep],
        )
        self._db.execute(FORGET_UNKEPT)
