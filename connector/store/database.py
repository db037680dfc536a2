"""The one SQLite connection every part of the store shares: private file, WAL, migrations, IMMEDIATE transactions."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from connector.errors import StoreError
from connector.redact import json_may_hold_secret, redact, redact_data
from connector.store.schema import MIGRATIONS, Migration


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def masked(text: str | None) -> str | None:
    """A text column as the store keeps it: registered secrets and credential headers masked.

    Every column holding text from outside (vendor data, errors, notes, names) passes here or through `to_json`.
    Lookup keys pass here on reads as well, so a masked key still finds its rows. Times, decimals, statuses and
    period keys the connector formats itself are not masked: a short secret that looked like a date must not
    corrupt one.
    """
    return None if text is None else redact(text)


def to_json(value: Any) -> str:
    """JSON for a store column, every string in it redacted: secrets never reach the file."""
    text = json.dumps(value, sort_keys=True, default=str)
    # Walking every string is most of the cost of recording a large run; one search of the text says when the
    # walk could change nothing (no registered secret or credential header appears in it).
    if not json_may_hold_secret(text):
        return text
    return json.dumps(redact_data(value), sort_keys=True, default=str)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite creates it with the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)


def _not_a_directory(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` that is not a directory (a file where a folder must be), if any."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def os_problem(error: OSError, path: Path, what: str = "state store") -> StoreError:
    """A StoreError that names the file the system refused, why, and what the operator can do about it."""
    if isinstance(error, IsADirectoryError):
        fix = (
            "remove that directory: the connector keeps this file beside the store"
            if what != "state store"
            else f"set store.path to a file, for example {path / 'connector-state.db'}"
        )
        return StoreError(f"{what} {path} is a directory: {fix}")
    blocker = _not_a_directory(path)
    if blocker is not None:
        return StoreError(f"{what} {path}: {blocker} is not a directory: set store.path to a file in a directory")
    if isinstance(error, PermissionError):
        return StoreError(
            f"{what} {path}: permission denied: let the connector's user create and write files in {path.parent}, "
            "or set store.path to a place it can write"
        )
    reason = error.strerror or str(error)
    return StoreError(f"{what} {path}: {reason}: check the disk, or set store.path to a writable place")


class Database:
    """The store's connection and its transaction; `path` is None for a throwaway in-memory store."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path | str, migrations: Sequence[Migration] = MIGRATIONS) -> Database:
        """Open (creating with mode 0600) and migrate; `":memory:"` gives a throwaway database."""
        if str(path) == ":memory:":
            database = cls(sqlite_utils.Database(memory=True), None)
        else:
            file = Path(path)
            try:
                _create_private(file)
                conn = sqlite3.connect(file, timeout=30, isolation_level=None, check_same_thread=False)
            except OSError as error:
                raise os_problem(error, file) from error
            database = cls(sqlite_utils.Database(conn), file)
        try:
            if database.path is not None:
                database.execute("PRAGMA journal_mode=WAL")
            database.execute("PRAGMA foreign_keys=ON")
            database.migrate(migrations)
        except BaseException as error:
            database.close()  # a store that cannot be used must not keep its file open
            if isinstance(error, sqlite3.DatabaseError):
                raise StoreError(
                    f"state store {path}: {error}: store.path must name the connector's SQLite store (or a file "
                    "not yet created) in a directory the connector can write"
                ) from error
            raise
        return database

    def close(self) -> None:
        self.db.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, list(params))

    @property
    def schema_version(self) -> int:
        return int(self.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, migrations: Sequence[Migration]) -> None:
        with self.transaction():
            current = self.schema_version
            if current > len(migrations):
                raise StoreError(
                    f"state store {self.path} has schema version {current}, newer than this connector "
                    f"understands ({len(migrations)}); upgrade the connector"
                )
            for version, migration in enumerate(migrations[current:], start=current + 1):
                migration(self.db)
                self.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """An IMMEDIATE transaction: takes the write lock up front so check-then-write is atomic across processes.

        Nested uses join the outer transaction, so the store's parts compose into one atomic step.
        """
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            # A full disk, a read-only file or a store held too long by another process: the store, not a bug.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(
                f"state store {self.path or ':memory:'}: {error}: check the disk's free space and that the file "
                "is writable (a store held by another process for over 30 seconds ends the same way)"
            ) from error
