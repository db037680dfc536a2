"""Checking and backing up the store file as it is: neither migrates it or writes to it, and both run beside a sync."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connector.core.errors import StoreError
from connector.store.database import RESTORE, connect, damaged, existing, refuse_unless_store

# How many of SQLite's findings a message names; the first few say enough to know the file is damaged.
SHOWN = 5


@contextmanager
def _store_file(path: Path) -> Iterator[tuple[sqlite3.Connection, int]]:
    """A plain connection to an existing store and its schema version; a damaged file ends as a StoreError."""
    if not existing(path):
        raise StoreError(f"state store {path} does not exist: check store.path (the first sync creates the store)")
    conn = connect(path)
    try:
        yield conn, refuse_unless_store(conn, path)
    except sqlite3.DatabaseError as error:
        raise (damaged(error, path) or StoreError(f"state store {path}: {error}")) from error
    finally:
        conn.close()


def check(path: Path) -> int:
    """SQLite's integrity check and foreign key check of the whole store; its schema version when both pass.

    Raises StoreError naming the first problems found and the fix.
    """
    with _store_file(path) as (conn, version):
        problems = [str(row[0]) for row in conn.execute(f"PRAGMA integrity_check({SHOWN})")]
        problems = [] if problems == ["ok"] else problems
        problems += [
            f"{table} row {row} refers to a missing row of {parent}"
            for table, row, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchmany(SHOWN)
        ]
    if problems:
        raise StoreError(f"state store {path} is damaged: {'; '.join(problems[:SHOWN])}: {RESTORE.format(path=path)}")
    return version


def backup(path: Path, target: Path) -> int:
    """Copy the store to `target` with SQLite's online backup (a consistent copy while a sync writes); its version.

    The copy is made beside `target`, owner-only (0600), checked, and renamed onto it: `target` is the whole new
    backup or what it was before, and a symbolic link there is replaced, never written through. Raises StoreError
    for the store, OSError for `target`.
    """
    with _store_file(path) as (source, version):
        if target.exists() and os.path.samefile(target, path):
            raise OSError(errno.EEXIST, "that is the store itself: give a file beside it, or elsewhere", str(target))
        # mkstemp creates with O_EXCL and mode 0600: no one else can have opened or linked the file first.
        descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(descriptor)
        copy_path = Path(name)
        try:
            _copy(source, copy_path, path)
            os.replace(copy_path, target)
        finally:
            for leftover in (copy_path, *(copy_path.with_name(copy_path.name + end) for end in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
    # Put the rename itself on disk, so a crash right after cannot bring the old backup back.
    with contextlib.suppress(OSError):
        descriptor = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return version


def _copy(source: sqlite3.Connection, copy_path: Path, path: Path) -> None:
    copy = sqlite3.connect(copy_path, isolation_level=None)
    try:
        source.backup(copy)
        # One self-contained file: a restore is a copy of it, with no WAL beside it to carry along.
        copy.execute("PRAGMA journal_mode=DELETE")
        verdict = copy.execute("PRAGMA quick_check").fetchall()
    finally:
        copy.close()
    if verdict != [("ok",)]:
        raise StoreError(
            f"state store {path} is damaged ({verdict[0][0]}), so no backup was written: {RESTORE.format(path=path)}"
        )
    with open(copy_path, "rb") as file:
        os.fsync(file.fileno())
