"""A sync killed with `kill -9` leaves its run `running`; the next sync records it as abandoned, naming the pid."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.interfaces.ledger import FetchReserved, FetchTooSoon
from connector.store import MIGRATIONS, Store
from tests.clock import frozen_python

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 12, 12, 0, tzinfo=UTC)  # before the frozen clock: a run's clock is never behind the last

# `connector sync` as the operator runs it, stopped mid-run (while fetching) until the test kills it.
KILLED_SYNC = """
import sys, time
from connector.cli import main
from connector.sync.engine import SyncEngine

def hang(self, report, run_id):
    print("running", run_id, flush=True)
    time.sleep(600)

SyncEngine._collect = hang
main(["sync", "--config", sys.argv[1]])
"""


def runs(path: Path) -> list[dict[str, Any]]:
    with Store.open(path) as store:
        rows = store.db.execute("SELECT id, command, status, pid, host, summary FROM runs ORDER BY id").fetchall()
    keys = ("id", "command", "status", "pid", "host", "summary")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def test_a_sync_killed_with_kill_9_is_recorded_as_abandoned_by_the_next_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "connector.toml"
    config.write_text('[store]\npath = "state.db"\n', encoding="utf-8")
    killed = subprocess.Popen(
        frozen_python("-c", KILLED_SYNC, str(config)), stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert killed.stdout is not None
        assert killed.stdout.readline().split() == ["running", "1"]
    finally:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=20)
    (stuck,) = runs(tmp_path / "state.db")
    assert (stuck["status"], stuck["pid"], stuck["host"]) == ("running", killed.pid, socket.gethostname())

    code = main(["sync", "--config", str(config), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    (abandoned,) = report["abandoned"]
    assert abandoned["run_id"] == 1 and abandoned["pid"] == killed.pid
    assert f"pid {killed.pid}" in abandoned["note"] and "run 1" in err and f"pid {killed.pid}" in err

    first, second = runs(tmp_path / "state.db")
    assert first["status"] == "abandoned" and second["status"] == "ok"
    note = json.loads(first["summary"])["abandoned"]
    assert f"pid {killed.pid} on {socket.gethostname()}" in note and "found by run 2" in note
    # Recorded once: a third sync finds nothing left to abandon.
    assert main(["sync", "--config", str(config), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["abandoned"] == []


def test_a_run_left_running_in_an_older_store_is_abandoned_with_its_pid_unknown(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path, migrations=MIGRATIONS[:3]) as old:
        old.db.execute("INSERT INTO runs (command, started_at, status) VALUES ('sync', ?, 'running')", [T0.isoformat()])
    with Store.open(path) as store, store.sync_lock():
        run_id, abandoned = store.start_run("sync")
    assert [(a.id, a.pid) for a in abandoned] == [(1, None)]
    assert "pid unknown" in abandoned[0].note and run_id == 2
    assert [r["status"] for r in runs(path)] == ["abandoned", "running"]


def test_only_a_run_holding_the_sync_lock_abandons_others(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as live, live.sync_lock():
        live.start_run("sync")
        # Another process's view of the same store, without the lock: the live run must not be mistaken for dead.
        with Store.open(path) as other:
            _, abandoned = other.start_run("sync")
    assert abandoned == []
    assert [r["status"] for r in runs(path)] == ["running", "running"]


def test_an_abandoned_run_is_not_abandoned_again_and_finished_runs_are_left_alone(tmp_path: Path) -> None:
    with Store.open(tmp_path / "state.db") as store, store.sync_lock():
        done, _ = store.start_run("sync")
        store.runs.finish(done, "ok", {})
        killed, _ = store.start_run("sync --period 2026-11")
        _, abandoned = store.start_run("sync")
        assert [a.id for a in abandoned] == [killed]
        assert abandoned[0].command == "sync --period 2026-11"
        _, again = store.start_run("sync")
        assert [a.id for a in again] == [killed + 1]
    assert [r["status"] for r in runs(tmp_path / "state.db")] == ["ok", "abandoned", "abandoned", "running"]


def test_a_call_the_killed_run_left_started_is_closed_as_abandoned_and_still_counts_for_the_window(
    tmp_path: Path,
) -> None:
    window = timedelta(minutes=5)
    with Store.open(tmp_path / "state.db") as store, store.sync_lock():
        killed, _ = store.start_run("sync")
        reserved = store.ledger.reserve("altaro", "link-a", window, now=T0, run_id=killed)
        outside = store.ledger.reserve("altaro", "link-b", window, now=T0)  # a view's call, in no run
        assert isinstance(reserved, FetchReserved) and isinstance(outside, FetchReserved)
        _, abandoned = store.start_run("sync")
        last = store.ledger.last("altaro", "link-a")
        assert last is not None and last.outcome == "abandoned" and last.requested_at == T0
        assert last.error is not None and f"run {killed}" in last.error
        # The vendor may have answered the killed process: the 5-minute rule still counts that call.
        assert isinstance(store.ledger.reserve("altaro", "link-a", window, now=T0 + timedelta(minutes=1)), FetchTooSoon)
        other = store.ledger.last("altaro", "link-b")
        assert other is not None and other.outcome == "started"
    assert [a.id for a in abandoned] == [killed]
