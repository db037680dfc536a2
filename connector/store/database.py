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
from connector.redact import redact_data
from connector.store.schema import MIGRATIONS, Migration


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def to_json(value: Any) -> str:
    """JSON for a store column, every string in it redacted: secrets never reach the file."""
    return json.dumps(redact_data(value), sort_keys=True, default=str)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite creates it with the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)


class Database:
    """The store's connection and its transaction; `path` is None for a throwaway in-memory store."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path | str, migrations: Sequence[Migration] = MIGRATIONS) -> Database:
        """Open (creating with mode 0600) and migrate; `":memory:"` gives a throwaway database."""
        try:
            if str(path) == ":memory:":
                database = cls(sqlite_utils.Database(memory=True), None)
            else:
                file = Path(path)
                _create_private(file)
                conn = sqlite3.connect(file, timeout=30, isolation_level=None, check_same_thread=False)
                database = cls(sqlite_utils.Database(conn), file)
                database.execute("PRAGMA journal_mode=WAL")
            database.execute("PRAGMA foreign_keys=ON")
            database.migrate(migrations)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"state store {path}: {error}") from error
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
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
