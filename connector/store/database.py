"""The one SQLite connection every part of the store shares: private file, WAL, migrations, IMMEDIATE transactions."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from connector.core.errors import StoreError
from connector.core.redact import json_may_hold_secret, redact, redact_data
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


# What to do with a store that is lost or damaged: README, "Back up, check and restore the store". The WAL files go
# first: one left beside a restored store would be replayed onto it.
RESTORE = (
    "restore the last backup (`connector store backup FILE` wrote it): stop every connector process, delete "
    "{path}-wal and {path}-shm, copy the backup to {path}, then run `connector store check`"
)
# SQLite's result codes for a file whose pages are not a database's (SQLITE_CORRUPT, SQLITE_NOTADB).
_DAMAGED = {11, 26}


def damaged(error: sqlite3.DatabaseError, path: Path | str | None) -> StoreError | None:
    """A StoreError naming the path and the fix when SQLite found the file damaged; None for any other error."""
    if (getattr(error, "sqlite_errorcode", 0) & 0xFF) not in _DAMAGED:
        return None
    if "not a database" in str(error):
        return StoreError(
            f"state store {path}: {error}: store.path must name the connector's SQLite store; if it does, the file "
            f"is damaged: {RESTORE.format(path=path)}"
        )
    return StoreError(f"state store {path} is damaged ({error}): {RESTORE.format(path=path)}")


# Values per `IN (...)`: well under SQLite's limit on bound parameters (32,766 since 3.32; 999 before).
CHUNK = 500


def chunks(values: Sequence[Any]) -> Iterator[tuple[list[Any], str]]:
    """The values a chunk at a time, each with its placeholders (`?, ?, ...`)."""
    for start in range(0, len(values), CHUNK):
        chunk = list(values[start : start + CHUNK])
        yield chunk, ", ".join("?" * len(chunk))


def connect(file: Path) -> sqlite3.Connection:
    """A connection to an existing store file, in autocommit mode (the store opens its own transactions)."""
    return sqlite3.connect(file, timeout=30, isolation_level=None, check_same_thread=False)


def existing(file: Path) -> bool:
    """Whether the store file exists; one that exists but cannot be opened to read and write is a StoreError."""
    try:
        descriptor = os.open(file, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError as error:
        raise os_problem(error, file) from error
    os.close(descriptor)
    return True


def refuse_unless_store(conn: sqlite3.Connection, file: Path) -> int:
    """The schema version of an existing store file; an empty file, or a database that is not a connector store, is
    refused: taken for a new store, it would lose the history, the audit trail and the outbox without a word."""
    if file.stat().st_size == 0:
        raise StoreError(
            f"state store {file} is empty (0 bytes): it holds no history, audit trail or outbox, and the connector "
            f"will not start a new store in its place: {RESTORE.format(path=file)}; only if this is a new installation "
            "whose first run was interrupted, delete the file"
        )
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == 0:
        raise StoreError(
            f"state store {file} is not a connector store (an SQLite database without the connector's schema): set "
            f"store.path to the connector's store, or {RESTORE.format(path=file)}"
        )
    return version


def _create(file: Path, migrations: Sequence[Migration]) -> None:
    """A new store, built beside `file` (mode 0600) and linked into place whole: a first run that is interrupted
    leaves no empty file that the next run would have to refuse, and two first runs at once share one store."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".new", dir=file.parent)
        os.close(descriptor)
    except OSError as error:
        raise os_problem(error, file) from error
    fresh = Path(name)
    try:
        database = Database(sqlite_utils.Database(connect(fresh)), file)
        try:
            database.execute("PRAGMA journal_mode=WAL")
            database.migrate(migrations)
        finally:
            database.close()
        # Given its name unless another process created the store meanwhile (then that one is used): a link refuses,
        # rather than replaces, a file that appeared meanwhile.
        try:
            os.link(fresh, file)
        except FileExistsError:
            pass
        except OSError as error:
            # A file system without hard links: a rename, checked first (only two first runs at one instant could race).
            try:
                if not file.exists():
                    os.replace(fresh, file)
            except OSError:
                raise os_problem(error, file) from error
    finally:
        for leftover in (fresh, *(fresh.with_name(fresh.name + end) for end in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)


def os_problem(error: OSError, path: Path, what: str = "state store") -> StoreError:
    """A StoreError that names the file the system refused, why, and what the operator can do about it."""
    if isinstance(error, IsADirectoryError):
        fix = (
            "remove that directory: the connector keeps this file beside the store"
            if what != "state store"
            else f"set store.path to a file, for example {path / 'connector-state.db'}"
        )
        return StoreError(f"{what} {path} is a directory: {fix}")
    # The nearest existing ancestor: a file where a folder must be?
    blocker = next((parent for parent in path.parents if parent.exists()), None)
    if blocker is not None and not blocker.is_dir():
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
        """Open and migrate the store; only where no file exists is a new one created (mode 0600).

        `":memory:"` gives a throwaway database.
        """
        if str(path) == ":memory:":
            database = cls(sqlite_utils.Database(memory=True), None)
        else:
            file = Path(path)
            if not existing(file):
                _create(file, migrations)
            database = cls(sqlite_utils.Database(connect(file)), file)
        try:
            if database.path is not None:
                refuse_unless_store(database.db.conn, database.path)
                database.execute("PRAGMA journal_mode=WAL")
            database.execute("PRAGMA foreign_keys=ON")
            database.migrate(migrations)
        except BaseException as error:
            database.close()  # a store that cannot be used must not keep its file open
            if isinstance(error, sqlite3.DatabaseError):
                problem = damaged(error, path) or StoreError(
                    f"state store {path}: {error}: store.path must name the connector's SQLite store (or a file "
                    "not yet created) in a directory the connector can write"
                )
                raise problem from error
            raise
        return database

    def close(self) -> None:
        self.db.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, list(params))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row the query gives, each by column name."""
        return list(self.db.query(sql, list(params)))

    def row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The query's first row by column name, or None when it gives none."""
        return next(iter(self.db.query(sql, list(params))), None)

    def rows_in(self, sql: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        """`rows` of a query whose `IN ({marks})` takes these values, a chunk at a time."""
        return [row for chunk, marks in chunks(values) for row in self.rows(sql.format(marks=marks), chunk)]

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
