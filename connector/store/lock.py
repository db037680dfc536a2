"""One sync at a time: an exclusive `flock` on a file beside the store, naming the process that holds it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TextIO

from connector.core.errors import StoreBusyError
from connector.store.database import iso, os_problem, utcnow


class SyncLock:
    """The store's sync lock; a store without a file (in memory) has no other process to exclude."""

    def __init__(self, store_path: Path | None) -> None:
        self.store_path = store_path
        self._handle: TextIO | None = None

    @property
    def held(self) -> bool:
        """True while this process holds the lock (always for a store in memory: no other process can see it)."""
        return self.store_path is None or self._handle is not None

    def acquire(self, activity: str = "a sync") -> None:
        """Claim the store for a sync (or another `activity` that must not interleave with one, such as onboarding);
        a second process gets StoreBusyError, naming what holds it, instead of interleaved writes."""
        if self.store_path is None or self._handle is not None:
            return
        lock_path = self.store_path.with_name(self.store_path.name + ".lock")
        try:
            handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the life of the sync
        except OSError as error:
            raise os_problem(error, lock_path, "sync lock") from error
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            # The holder wrote "pid N since T" and, on the next line, what it does (a file without it: a sync).
            lines = handle.read().splitlines() or [""]
            handle.close()
            holder, running = lines[0].strip() or "another process", " ".join(lines[1:2]).strip() or "a sync"
            raise StoreBusyError(
                f"{running} is already running on {self.store_path} ({holder}); wait for it to finish"
            ) from None
        except OSError as error:  # e.g. a file system without locks: no sync may run unexcluded
            handle.close()
            raise os_problem(error, lock_path, "sync lock") from error
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {iso(utcnow())}\n{activity}")
            handle.flush()
        except OSError as error:
            handle.close()
            raise os_problem(error, lock_path, "sync lock") from error
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
