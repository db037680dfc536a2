"""The state store: runs and audit, the fetch ledger, observations and the outbox over one connection and transaction.

Everything the connector learns or decides is written here before it acts on it, which is what makes pushes
exactly-once and numbers explainable. The schema is versioned with `PRAGMA user_version` and migrated on open.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

import sqlite_utils

from connector.core.errors import StoreBusyError
from connector.store.database import Database, damaged, iso, os_problem, utcnow
from connector.store.ledger import Ledger
from connector.store.observations import Observations
from connector.store.outbox import Outbox
from connector.store.retention import Pruned, prune
from connector.store.runs import AbandonedRun, AlertState, Runs
from connector.store.schema import MIGRATIONS, Migration


class Store:
    """The connector's state store. Open with `Store.open(path)`; use as a context manager to close it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.runs = Runs(database)
        self.ledger = Ledger(database)
        self.observations = Observations(database)
        self.outbox = Outbox(database)
        self.alerts = AlertState(database)
        self._lock: TextIO | None = None  # the sync lock's file, while this process holds it

    @classmethod
    def open(cls, path: Path | str, *, migrations: Sequence[Migration] = MIGRATIONS) -> Store:
        """Open (creating with mode 0600) and migrate the store; `":memory:"` gives a throwaway store."""
        return cls(Database.open(path, migrations))

    @property
    def db(self) -> sqlite_utils.Database:
        return self.database.db

    @property
    def path(self) -> Path | None:
        return self.database.path

    @property
    def schema_version(self) -> int:
        return self.database.schema_version

    def transaction(self) -> AbstractContextManager[None]:
        """One IMMEDIATE transaction across every part of the store; nested uses join it."""
        return self.database.transaction()

    def check_usable(self) -> None:
        """Raise unless the store can be read (a health check: the next run would fail the same way)."""
        self.database.execute("SELECT 1 FROM runs LIMIT 1")

    def close(self) -> None:
        self.release_sync_lock()
        self.database.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        self.close()
        # A damaged page shows only when a read or write reaches it: the command ends with the store's path and the
        # fix (exit 4), not as a bug.
        if isinstance(error, sqlite3.DatabaseError):
            problem = damaged(error, self.path)
            if problem is not None:
                raise problem from error

    def start_run(self, command: str, now: datetime | None = None) -> tuple[int, list[AbandonedRun]]:
        """Record a run starting, and the earlier runs it finds abandoned.

        Only under the sync lock: then no other run is alive, and a run still `running` was killed before it could
        finish. Without the lock, a `running` row may belong to a live sync, so none is touched.
        """
        with self.transaction():
            run_id = self.runs.start(command, now)
            # A store in memory has no other process to exclude: it always holds the lock.
            held = self.path is None or self._lock is not None
            abandoned = self.runs.abandon_running(run_id) if held else []
            for run in abandoned:
                self.ledger.abandon(run.id, run.note)
        return run_id, abandoned

    def prune(self, first_kept: date, now: datetime | None = None) -> Pruned:
        """Drop the observations and report bodies only periods before `first_kept` could use (see retention), and
        say so in the audit trail, in one transaction."""
        with self.transaction():
            pruned = prune(self.database, first_kept)
            if pruned.observations or pruned.payloads:
                self.runs.audit("prune", "store", pruned.to_data(), now)
        return pruned

    # -- one sync at a time: an exclusive `flock` on a file beside the store, naming the process that holds it -----

    def acquire_sync_lock(self, activity: str = "a sync") -> None:
        """Claim the store for a sync (or another `activity` that must not interleave with one, such as onboarding);
        a second process gets StoreBusyError, naming what holds it, instead of interleaved writes."""
        if self.path is None or self._lock is not None:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the life of the sync
        except OSError as error:
            raise os_problem(error, lock_path, "sync lock") from error
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {iso(utcnow())}\n{activity}")
            handle.flush()
        except BlockingIOError:
            handle.seek(0)
            # The holder wrote "pid N since T" and, on the next line, what it does (a file without it: a sync).
            lines = handle.read().splitlines() or [""]
            handle.close()
            holder, running = lines[0].strip() or "another process", " ".join(lines[1:2]).strip() or "a sync"
            raise StoreBusyError(
                f"{running} is already running on {self.path} ({holder}); wait for it to finish"
            ) from None
        except OSError as error:  # e.g. a file system without locks: no sync may run unexcluded
            handle.close()
            raise os_problem(error, lock_path, "sync lock") from error
        self._lock = handle

    def release_sync_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    @contextmanager
    def sync_lock(self, activity: str = "a sync") -> Iterator[None]:
        self.acquire_sync_lock(activity)
        try:
            yield
        finally:
            self.release_sync_lock()
