"""The local state store (SQLite via sqlite-utils): runs, the vendor fetch ledger, observations, the outbox, audit.

Everything the connector learns or decides is written here before it acts on it, which is what makes pushes
exactly-once and numbers explainable. The schema is versioned with `PRAGMA user_version` and migrated on open.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import sqlite_utils

from connector.errors import StoreBusyError, StoreError
from connector.redact import redact, redact_data

Migration = Callable[[sqlite_utils.Database], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _json(value: Any) -> str:
    return json.dumps(redact_data(value), sort_keys=True, default=str)


def _v1(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
            status TEXT NOT NULL, summary TEXT)"""
    )
    db.execute(
        """CREATE TABLE fetches (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, requested_at TEXT NOT NULL,
            finished_at TEXT, outcome TEXT NOT NULL, status_code INTEGER, content_type TEXT,
            payload_hash TEXT, payload BLOB, error TEXT, run_id INTEGER REFERENCES runs(id))"""
    )
    db.execute("CREATE INDEX fetches_by_target ON fetches(source, target, requested_at)")
    db.execute(
        """CREATE TABLE observations (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, vendor_customer TEXT NOT NULL, metric TEXT NOT NULL,
            product TEXT NOT NULL DEFAULT '', period_key TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL,
            observed_at TEXT NOT NULL, complete INTEGER NOT NULL, inputs TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id), fetch_id INTEGER REFERENCES fetches(id))"""
    )
    db.execute("CREATE INDEX observations_by_key ON observations(source, vendor_customer, metric, period_key, product)")
    db.execute(
        """CREATE TABLE line_items (
            id INTEGER PRIMARY KEY, psa_customer TEXT NOT NULL, contract TEXT NOT NULL, period_key TEXT NOT NULL,
            metric TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL, rate TEXT NOT NULL,
            amount TEXT NOT NULL, status TEXT NOT NULL, psa_ref TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT, inputs TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            UNIQUE (psa_customer, contract, period_key, metric))"""
    )
    db.execute(
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL, subject TEXT NOT NULL,
            details TEXT NOT NULL)"""
    )
    # Append-only: the audit trail is evidence, so the database itself refuses to rewrite it.
    db.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END"
    )


def _v2(db: sqlite_utils.Database) -> None:
    # Pushed values are corrected, never overwritten blind: remember what the PSA holds and why a line is held.
    db.execute("ALTER TABLE line_items ADD COLUMN pushed_quantity TEXT")
    db.execute("ALTER TABLE line_items ADD COLUMN pushed_at TEXT")
    db.execute("ALTER TABLE line_items ADD COLUMN hold_reason TEXT")
    db.execute("ALTER TABLE line_items ADD COLUMN approved_quantity TEXT")
    db.execute("ALTER TABLE line_items ADD COLUMN plan TEXT")
    db.execute(
        """CREATE TABLE line_item_history (
            id INTEGER PRIMARY KEY, line_id INTEGER NOT NULL REFERENCES line_items(id), at TEXT NOT NULL,
            status TEXT NOT NULL, quantity TEXT NOT NULL, amount TEXT NOT NULL, note TEXT)"""
    )


def _v3(db: sqlite_utils.Database) -> None:
    # Observations are looked up by vendor customer ignoring case; an index in that collation keeps it indexed.
    db.execute(
        "CREATE INDEX observations_by_customer ON observations"
        "(source, vendor_customer COLLATE NOCASE, metric, product, period_key, id)"
    )


MIGRATIONS: list[Migration] = [_v1, _v2, _v3]
SCHEMA_VERSION = len(MIGRATIONS)

LINE_STATUSES = ("pending", "pushed", "failed", "held", "discarded")


@dataclass(frozen=True)
class FetchRecord:
    """One row of the fetch ledger."""

    id: int
    source: str
    target: str
    requested_at: datetime
    outcome: str
    status_code: int | None
    content_type: str | None
    payload_hash: str | None
    payload: bytes | None
    error: str | None
    finished_at: datetime | None = None

    @property
    def last_contact(self) -> datetime:
        """When the vendor last heard from us for this call: retries inside one call may end well after it began."""
        return max(self.requested_at, self.finished_at or self.requested_at)


@dataclass(frozen=True)
class FetchReserved:
    """The caller may call the vendor now; it must report the outcome with `complete_fetch(fetch_id, ...)`."""

    fetch_id: int
    previous: FetchRecord | None


@dataclass(frozen=True)
class FetchTooSoon:
    """A call was made within the window: the caller must not call again before `next_allowed_at`."""

    last: FetchRecord
    next_allowed_at: datetime


@dataclass(frozen=True)
class Observation:
    """One measured quantity for one vendor customer, as the provider saw it at `observed_at`."""

    source: str
    vendor_customer: str
    metric: str
    period_key: str
    quantity: Decimal
    unit: str
    observed_at: datetime
    complete: bool
    inputs: dict[str, Any]
    product: str = ""
    fetch_id: int | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class StoredLine:
    """A line item as the outbox holds it."""

    id: int
    psa_customer: str
    contract: str
    period_key: str
    metric: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal
    status: str
    psa_ref: str | None
    attempts: int
    last_error: str | None
    inputs: dict[str, Any]
    pushed_quantity: Decimal | None
    hold_reason: str | None
    approved_quantity: Decimal | None = None
    plan: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.psa_customer, self.contract, self.period_key, self.metric)


def _open_private(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite creates it with the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)


class Store:
    """The connector's state store. Open with `Store.open(path)`; use as a context manager to close it."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None) -> None:
        self.db = db
        self.path = path
        self._lock_file: TextIO | None = None

    @classmethod
    def open(cls, path: Path | str, *, migrations: list[Migration] | None = None) -> Store:
        """Open (creating with mode 0600) and migrate the store; `":memory:"` gives a throwaway store."""
        try:
            if str(path) == ":memory:":
                db = sqlite_utils.Database(memory=True)
                store = cls(db, None)
            else:
                file = Path(path)
                _open_private(file)
                conn = sqlite3.connect(file, timeout=30, isolation_level=None, check_same_thread=False)
                db = sqlite_utils.Database(conn)
                db.execute("PRAGMA journal_mode=WAL")
                store = cls(db, file)
            db.execute("PRAGMA foreign_keys=ON")
            store._migrate(MIGRATIONS if migrations is None else migrations)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"state store {path}: {error}") from error
        return store

    def close(self) -> None:
        self.release_sync_lock()
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, migrations: list[Migration]) -> None:
        with self.transaction():
            current = self.schema_version
            if current > len(migrations):
                raise StoreError(
                    f"state store {self.path} has schema version {current}, newer than this connector "
                    f"understands ({len(migrations)}); upgrade the connector"
                )
            for version, migration in enumerate(migrations[current:], start=current + 1):
                migration(self.db)
                self.db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """An IMMEDIATE transaction: takes the write lock up front so check-then-write is atomic across processes."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- one sync at a time -------------------------------------------------------------------------------------

    def acquire_sync_lock(self) -> None:
        """Claim the store for a sync; a second process gets StoreBusyError instead of interleaved writes."""
        if self.path is None or self._lock_file is not None:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the life of the sync
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreBusyError(
                f"a sync is already running on {self.path} ({holder}); wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {_iso(utcnow())}")
        handle.flush()
        self._lock_file = handle

    def release_sync_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    @contextmanager
    def sync_lock(self) -> Iterator[None]:
        self.acquire_sync_lock()
        try:
            yield
        finally:
            self.release_sync_lock()

    # -- runs and audit -----------------------------------------------------------------------------------------

    def start_run(self, command: str, now: datetime | None = None) -> int:
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (command, started_at, status) VALUES (?, ?, 'running')",
                [redact(command), _iso(now or utcnow())],
            )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any], now: datetime | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                [_iso(now or utcnow()), status, _json(summary), run_id],
            )

    def audit(self, event: str, subject: str, details: dict[str, Any], now: datetime | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO audit (at, event, subject, details) VALUES (?, ?, ?, ?)",
                [_iso(now or utcnow()), event, redact(subject), _json(details)],
            )

    def audit_events(self, subject: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT at, event, subject, details FROM audit", []
        if subject is not None:
            sql, params = sql + " WHERE subject = ?", [subject]
        rows = self.db.execute(sql + " ORDER BY id", params).fetchall()
        return [{"at": r[0], "event": r[1], "subject": r[2], "details": json.loads(r[3])} for r in rows]

    # -- the fetch ledger ---------------------------------------------------------------------------------------

    def _fetch_from_row(self, row: sqlite3.Row | tuple[Any, ...]) -> FetchRecord:
        return FetchRecord(
            id=row[0],
            source=row[1],
            target=row[2],
            requested_at=_from_iso(row[3]),
            outcome=row[4],
            status_code=row[5],
            content_type=row[6],
            payload_hash=row[7],
            payload=row[8],
            error=row[9],
            finished_at=_from_iso(row[10]) if row[10] else None,
        )

    _FETCH_COLUMNS = ", ".join(
        (
            *("id", "source", "target", "requested_at", "outcome", "status_code", "content_type"),
            *("payload_hash", "payload", "error", "finished_at"),
        )
    )

    def last_fetch(self, source: str, target: str) -> FetchRecord | None:
        """The most recent call recorded for a target, whatever its outcome."""
        row = self.db.execute(
            f"SELECT {self._FETCH_COLUMNS} FROM fetches WHERE source = ? AND target = ? ORDER BY id DESC LIMIT 1",
            [source, target],
        ).fetchone()
        return self._fetch_from_row(row) if row else None

    def last_good_fetch(self, source: str, target: str) -> FetchRecord | None:
        """The most recent call that returned a usable payload."""
        row = self.db.execute(
            f"SELECT {self._FETCH_COLUMNS} FROM fetches WHERE source = ? AND target = ? AND outcome = 'ok' "
            "AND payload IS NOT NULL ORDER BY id DESC LIMIT 1",
            [source, target],
        ).fetchone()
        return self._fetch_from_row(row) if row else None

    def reserve_fetch(
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
        with self.transaction():
            last = self.last_fetch(source, target)
            if last is not None and moment - last.last_contact < min_interval:
                return FetchTooSoon(last=last, next_allowed_at=last.last_contact + min_interval)
            cursor = self.db.execute(
                "INSERT INTO fetches (source, target, requested_at, outcome, run_id) VALUES (?, ?, ?, 'started', ?)",
                [source, target, _iso(moment), run_id],
            )
        return FetchReserved(fetch_id=int(cursor.lastrowid or 0), previous=last)

    def complete_fetch(
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
        """Record how a reserved call ended; returns the payload's SHA-256.

        With `keep_payloads`, only that many of the target's newest payloads stay in full: an hourly poll of a large
        report would otherwise grow the store without end. Older calls keep their time, outcome and hash.
        """
        digest = hashlib.sha256(payload).hexdigest() if payload is not None else None
        with self.transaction():
            self.db.execute(
                "UPDATE fetches SET finished_at = ?, outcome = ?, status_code = ?, content_type = ?, "
                "payload_hash = ?, payload = ?, error = ? WHERE id = ?",
                [
                    _iso(now or utcnow()),
                    outcome,
                    status_code,
                    content_type,
                    digest,
                    payload,
                    redact(error) if error else None,
                    fetch_id,
                ],
            )
            if payload is not None and keep_payloads is not None:
                self.db.execute(
                    "UPDATE fetches SET payload = NULL WHERE payload IS NOT NULL AND id IN ("
                    "SELECT id FROM fetches WHERE (source, target) = (SELECT source, target FROM fetches WHERE id = ?) "
                    "AND payload IS NOT NULL ORDER BY id DESC LIMIT -1 OFFSET ?)",
                    [fetch_id, keep_payloads],
                )
        return digest

    # -- observations -------------------------------------------------------------------------------------------

    def record_observations(self, observations: list[Observation]) -> None:
        """Keep every change of an observed quantity: billing takes peaks and explanations from this history.

        A quantity equal to the last one recorded the same UTC day for the same customer, metric, product and vendor
        period (and as complete) adds nothing a peak could use, so it is not stored again: an hourly poll of a large
        portal would otherwise add tens of thousands of identical rows a day. One a day is kept because billing
        periods shorter than the vendor's month (weekly, twice a month) take only what was observed inside them.
        """
        with self.transaction():
            observations = [o for o in observations if not self._repeats_last(o)]
            self.db.conn.executemany(
                "INSERT INTO observations (source, vendor_customer, metric, product, period_key, quantity, unit, "
                "observed_at, complete, inputs, run_id, fetch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        o.source,
                        o.vendor_customer,
                        o.metric,
                        o.product,
                        o.period_key,
                        str(o.quantity),
                        o.unit,
                        _iso(o.observed_at),
                        int(o.complete),
                        _json(o.inputs),
                        o.run_id,
                        o.fetch_id,
                    )
                    for o in observations
                ],
            )

    def _repeats_last(self, observation: Observation) -> bool:
        row = self.db.execute(
            "SELECT quantity, complete, observed_at FROM observations WHERE source = ? "
            "AND vendor_customer = ? COLLATE NOCASE "
            "AND metric = ? AND product = ? AND period_key = ? ORDER BY id DESC LIMIT 1",
            [
                observation.source,
                observation.vendor_customer,
                observation.metric,
                observation.product,
                observation.period_key,
            ],
        ).fetchone()
        return (
            row is not None
            and Decimal(row[0]) == observation.quantity
            and bool(row[1]) == observation.complete
            and _from_iso(row[2]).date() == observation.observed_at.astimezone(UTC).date()
        )

    def observations(
        self,
        source: str,
        *,
        vendor_customer: str | None = None,
        metric: str | None = None,
        period_key: str | None = None,
        product: str | None = None,
    ) -> list[Observation]:
        where, params = ["source = ?"], [source]
        for column, value in (
            ("vendor_customer", vendor_customer),
            ("metric", metric),
            ("period_key", period_key),
            ("product", product),
        ):
            if value is not None:
                # Vendors change a customer name's capitalisation now and then; the engine matches names ignoring
                # case, so the observation history must too, or a month's earlier peak would vanish.
                where.append(f"{column} = ? COLLATE NOCASE" if column == "vendor_customer" else f"{column} = ?")
                params.append(value)
        rows = self.db.execute(
            "SELECT source, vendor_customer, metric, period_key, quantity, unit, observed_at, complete, inputs, "
            f"product, fetch_id, run_id FROM observations WHERE {' AND '.join(where)} ORDER BY id",
            params,
        ).fetchall()
        return [
            Observation(
                source=r[0],
                vendor_customer=r[1],
                metric=r[2],
                period_key=r[3],
                quantity=Decimal(r[4]),
                unit=r[5],
                observed_at=_from_iso(r[6]),
                complete=bool(r[7]),
                inputs=json.loads(r[8]),
                product=r[9],
                fetch_id=r[10],
                run_id=r[11],
            )
            for r in rows
        ]

    # -- the outbox ---------------------------------------------------------------------------------------------

    _LINE_COLUMNS = (
        "id, psa_customer, contract, period_key, metric, quantity, unit, rate, amount, status, psa_ref, attempts, "
        "last_error, inputs, pushed_quantity, hold_reason, approved_quantity, plan, updated_at"
    )

    def _line_from_row(self, row: tuple[Any, ...]) -> StoredLine:
        return StoredLine(
            id=row[0],
            psa_customer=row[1],
            contract=row[2],
            period_key=row[3],
            metric=row[4],
            quantity=Decimal(row[5]),
            unit=row[6],
            rate=Decimal(row[7]),
            amount=Decimal(row[8]),
            status=row[9],
            psa_ref=row[10],
            attempts=row[11],
            last_error=row[12],
            inputs=json.loads(row[13]),
            pushed_quantity=Decimal(row[14]) if row[14] is not None else None,
            hold_reason=row[15],
            approved_quantity=Decimal(row[16]) if row[16] is not None else None,
            plan=json.loads(row[17]) if row[17] else {},
            updated_at=_from_iso(row[18]),
        )

    def line(self, identity: tuple[str, str, str, str]) -> StoredLine | None:
        row = self.db.execute(
            f"SELECT {self._LINE_COLUMNS} FROM line_items "
            "WHERE psa_customer = ? AND contract = ? AND period_key = ? AND metric = ?",
            list(identity),
        ).fetchone()
        return self._line_from_row(row) if row else None

    def lines(self, status: str | None = None) -> list[StoredLine]:
        sql, params = f"SELECT {self._LINE_COLUMNS} FROM line_items", []
        if status is not None:
            sql, params = sql + " WHERE status = ?", [status]
        return [self._line_from_row(r) for r in self.db.execute(sql + " ORDER BY id", params).fetchall()]

    def stage_line(
        self,
        identity: tuple[str, str, str, str],
        *,
        quantity: Decimal,
        unit: str,
        rate: Decimal,
        amount: Decimal,
        inputs: dict[str, Any],
        plan: dict[str, Any] | None = None,
        hold_reason: str | None = None,
        now: datetime | None = None,
    ) -> StoredLine:
        """Write a computed line as pending (or held) before anything is pushed.

        An identity already pushed with the same quantity stays pushed; a changed quantity goes back to pending
        so the PSA is corrected, and the history keeps both values.
        """
        stamp = _iso(now or utcnow())
        with self.transaction():
            existing = self.line(identity)
            if existing is not None and existing.status == "pushed" and existing.pushed_quantity == quantity:
                status, hold_reason = "pushed", None
            elif existing is not None and existing.status == "discarded" and existing.quantity == quantity:
                # An operator decided this quantity is not billed; only a different quantity is news again.
                status, hold_reason = "discarded", existing.hold_reason
            else:
                status = "held" if hold_reason else "pending"
            values = [
                str(quantity),
                unit,
                str(rate),
                str(amount),
                status,
                _json(inputs),
                _json(plan or {}),
                hold_reason,
                stamp,
            ]
            if existing is None:
                cursor = self.db.execute(
                    "INSERT INTO line_items (quantity, unit, rate, amount, status, inputs, plan, hold_reason, "
                    "updated_at, psa_customer, contract, period_key, metric, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [*values, *identity, stamp],
                )
                line_id = int(cursor.lastrowid or 0)
            else:
                line_id = existing.id
                self.db.execute(
                    "UPDATE line_items SET quantity = ?, unit = ?, rate = ?, amount = ?, status = ?, inputs = ?, "
                    "plan = ?, hold_reason = ?, updated_at = ? WHERE id = ?",
                    [*values, line_id],
                )
            if existing is None or (existing.status, existing.quantity) != (status, quantity):
                self._history(line_id, status, quantity, amount, hold_reason or "computed", stamp)
        staged = self.line(identity)
        assert staged is not None
        return staged

    def approve_line(self, identity: tuple[str, str, str, str], note: str, now: datetime | None = None) -> StoredLine:
        """An operator accepts a held line's quantity: it becomes pending, and that quantity is not held again."""
        stamp = _iso(now or utcnow())
        with self.transaction():
            line = self._require_line(identity)
            if line.status != "held":
                raise StoreError(f"line {line.id} is {line.status}, not held: nothing to approve")
            self.db.execute(
                "UPDATE line_items SET status = 'pending', hold_reason = NULL, approved_quantity = quantity, "
                "updated_at = ? WHERE id = ?",
                [stamp, line.id],
            )
            self._history(line.id, "pending", line.quantity, line.amount, f"approved: {redact(note)}", stamp)
        return self._require_line(identity)

    def discard_line(self, identity: tuple[str, str, str, str], note: str, now: datetime | None = None) -> StoredLine:
        """An operator decides a line that is not in the PSA will not be pushed (e.g. one Atera can no longer take)."""
        stamp = _iso(now or utcnow())
        with self.transaction():
            line = self._require_line(identity)
            if line.status not in ("pending", "failed", "held"):
                raise StoreError(
                    f"line {line.id} is {line.status}: only pending, failed or held lines can be discarded"
                )
            self.db.execute(
                "UPDATE line_items SET status = 'discarded', updated_at = ? WHERE id = ?",
                [stamp, line.id],
            )
            self._history(line.id, "discarded", line.quantity, line.amount, f"discarded: {redact(note)}", stamp)
        return self._require_line(identity)

    def last_pushed_quantity(self, psa_customer: str, contract: str, metric: str, before_or_at: str) -> Decimal | None:
        """The quantity last pushed for this customer, contract and metric in this period or an earlier one."""
        row = self.db.execute(
            "SELECT pushed_quantity FROM line_items WHERE psa_customer = ? AND contract = ? AND metric = ? "
            "AND period_key <= ? AND pushed_quantity IS NOT NULL ORDER BY period_key DESC LIMIT 1",
            [psa_customer, contract, metric, before_or_at],
        ).fetchone()
        return Decimal(row[0]) if row else None

    def mark_line_pushed(self, identity: tuple[str, str, str, str], psa_ref: str, now: datetime | None = None) -> None:
        stamp = _iso(now or utcnow())
        with self.transaction():
            line = self._require_line(identity)
            self.db.execute(
                "UPDATE line_items SET status = 'pushed', psa_ref = ?, pushed_quantity = quantity, pushed_at = ?, "
                "attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?",
                [psa_ref, stamp, stamp, line.id],
            )
            self._history(line.id, "pushed", line.quantity, line.amount, f"PSA {psa_ref}", stamp)

    def mark_line_failed(self, identity: tuple[str, str, str, str], error: str, now: datetime | None = None) -> None:
        stamp = _iso(now or utcnow())
        with self.transaction():
            line = self._require_line(identity)
            self.db.execute(
                "UPDATE line_items SET status = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ? "
                "WHERE id = ?",
                [redact(error), stamp, line.id],
            )
            self._history(line.id, "failed", line.quantity, line.amount, redact(error), stamp)

    def line_history(self, identity: tuple[str, str, str, str]) -> list[dict[str, Any]]:
        line = self._require_line(identity)
        rows = self.db.execute(
            "SELECT at, status, quantity, amount, note FROM line_item_history WHERE line_id = ? ORDER BY id",
            [line.id],
        ).fetchall()
        return [
            {"at": r[0], "status": r[1], "quantity": Decimal(r[2]), "amount": Decimal(r[3]), "note": r[4]} for r in rows
        ]

    def _require_line(self, identity: tuple[str, str, str, str]) -> StoredLine:
        line = self.line(identity)
        if line is None:
            raise StoreError(f"no staged line item {identity}")
        return line

    def _history(self, line_id: int, status: str, quantity: Decimal, amount: Decimal, note: str, at: str) -> None:
        self.db.execute(
            "INSERT INTO line_item_history (line_id, at, status, quantity, amount, note) VALUES (?, ?, ?, ?, ?, ?)",
            [line_id, at, status, str(quantity), str(amount), note],
        )
