"""Writes the fixture stores in this folder: each is a store as a commit of main that changed the schema left it.

Run from the repository (`.venv/bin/python tests/connector/stores/make_stores.py [NAME ...]`, every fixture or those
named). For each fixture, every commit in its list is unpacked with `git archive` into a temporary folder and its own
store code writes three days of runs, calls, observations, lines and audit into the store (so a later commit's list
upgrades what an earlier one wrote, as an operator's store was). The store is saved as an SQL dump with its
`user_version`: text that reviews in a diff; for the fixtures in `READ_BACK`, with the observations that code read
back from it, as JSON.
The clock is fixed, so running this again writes the same files.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

# Fixture name -> the commits whose code wrote it, oldest first. One fixture per schema that landed on main, named by
# its version and commit; where one version number meant two schemas, one of each; and the stores those left behind
# once a later commit upgraded them.
FIXTURES: dict[str, list[str]] = {
    "v2-77227b7": ["77227b7"],  # v2 without line_items.approved_quantity and plan
    "v2-c7a3ef2": ["c7a3ef2"],  # v2 with them
    "v3-673993e": ["673993e"],
    "v3-156aacc": ["156aacc"],  # the store as a package, same schema
    "v4-219db8a": ["219db8a"],
    "v5-d614840": ["d614840"],
    "v6-ff16c4b": ["ff16c4b"],  # v6 whose observations.explanation_id is a foreign key
    "v6-5abe62d": ["5abe62d"],  # v6 without it
    "v7-f846213": ["f846213"],
    "v8-ac314fc": ["ac314fc"],  # v8 whose rows spell out time, call and run: no batch_id, no last_batch
    "v8-74dfa97": ["74dfa97"],  # v8 with batches, explanation_parts.digest NOT NULL
    "v8-5ff11d9": ["5ff11d9"],  # v8 as it stayed: digest nullable
    "v9-f78cacd": ["f78cacd"],
    "v10-0235289": ["0235289"],  # explanations in parts of all six kinds, as 0.2.0 shipped them
    # Upgraded by a later commit: what an operator who kept updating has.
    "v7-f846213-from-v6-ff16c4b": ["ff16c4b", "f846213"],
    "v9-f78cacd-from-v2-77227b7": ["77227b7", "f78cacd"],
    "v9-f78cacd-from-v8-ac314fc": ["ac314fc", "f78cacd"],
}

DAYS = 3

# Fixtures whose observations are also saved as that commit's own code read them back (`<name>.json`), so a test can
# tell that an upgrade changes no explanation: those of an encoding a later schema replaced.
READ_BACK = {"v10-0235289"}

# Run in the commit's own tree: writes one day (argv[2]) to the store at argv[1] through that commit's store API.
WRITER = """
import os, socket, sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import time_machine

socket.gethostname = lambda: "fixture-host"
os.getpid = lambda: 4242
path, day = sys.argv[1], int(sys.argv[2])
start = datetime(2026, 11, 2, 9, tzinfo=UTC) + timedelta(days=day)
time_machine.travel(start, tick=False).start()
import connector.store as package
from connector.store import Store

assert package.__file__.startswith(sys.argv[3]), package.__file__
identity = ("Contoso Ltd", "Backup users", "2026-11", "billed_users")
held = ("Fabrikam", "Backup storage", "2026-11", "storage_gb")
users = 12 + min(day, 1)  # a change on the second day, a repeat on the third


def inputs(hour):
    accounts = [{"account": f"acct-{n}", "users": [f"user-{n}-{u}" for u in range(3 + min(day, 1))]} for n in range(3)]
    return {"accounts": accounts, "report": {"call": hour, "rows": 9 + day}}


store = Store.open(path)
if hasattr(store, "outbox"):
    from mappings.lines import Line
    from mappings.measure import Observation

    run = store.runs.start("sync", now=start)
    call = store.ledger.reserve("vendor", "report-link", timedelta(minutes=5), now=start, run_id=run)
    store.ledger.complete(call.fetch_id, "ok", status_code=200, content_type="text/csv",
                          payload=f"report of day {day}".encode(), now=start)
    for hour in range(3):
        store.observations.record([
            Observation("vendor", "Contoso", "billed_users", "2026-11", Decimal(users), "user",
                        start + timedelta(hours=hour), True, inputs(hour), product=product,
                        fetch_id=call.fetch_id, run_id=run)
            for product in ("M365", "Endpoint")
        ])
    line = Line(*identity, quantity=Decimal(users), unit="user", rate=Decimal("3.50"), amount=Decimal(users) * 7 / 2)
    store.outbox.stage(line, None, now=start)
    store.outbox.mark_pushed(identity, f"psa-{day}", now=start)
    storage = Line(*held, quantity=Decimal(400 + 300 * day), unit="GB", rate=Decimal("0.10"),
                   amount=Decimal(40 + 30 * day))
    store.outbox.stage(storage, "a jump of 75% needs review", now=start)
    store.runs.audit("push", identity[0], {"quantity": str(users)}, now=start)
    store.runs.finish(run, "held", {"pushed": 1, "held": 1}, now=start + timedelta(hours=3))
else:
    from connector.store import Observation

    run = store.start_run("sync", now=start)
    call = store.reserve_fetch("vendor", "report-link", timedelta(minutes=5), now=start, run_id=run)
    store.complete_fetch(call.fetch_id, "ok", status_code=200, content_type="text/csv",
                         payload=f"report of day {day}".encode(), now=start)
    store.record_observations([
        Observation("vendor", "Contoso", "billed_users", "2026-11", Decimal(users), "user",
                    start + timedelta(hours=hour), True, inputs(hour), product=product,
                    fetch_id=call.fetch_id, run_id=run)
        for hour in range(3) for product in ("M365", "Endpoint")
    ])
    common = {"unit": "user", "rate": Decimal("3.50"), "inputs": {"users": users}, "now": start}
    store.stage_line(identity, quantity=Decimal(users), amount=Decimal(users) * 7 / 2, **common)
    store.mark_line_pushed(identity, f"psa-{day}", now=start)
    store.stage_line(held, quantity=Decimal(400 + 300 * day), amount=Decimal(40 + 30 * day), unit="GB",
                     rate=Decimal("0.10"), inputs={}, hold_reason="a jump of 75% needs review", now=start)
    store.audit("push", identity[0], {"quantity": str(users)}, now=start)
    store.finish_run(run, "held", {"pushed": 1, "held": 1}, now=start + timedelta(hours=3))
store.close()
"""


# Run in the commit's own tree: every observation of the store at argv[1], as that code reads them, as JSON on stdout.
READER = """
import json, sys
from connector.store import Store

store = Store.open(sys.argv[1])
observed = [
    {"vendor_customer": o.vendor_customer, "metric": o.metric, "product": o.product, "period_key": o.period_key,
     "quantity": str(o.quantity), "unit": o.unit, "observed_at": o.observed_at.isoformat(), "complete": o.complete,
     "inputs": o.inputs, "fetch_id": o.fetch_id, "run_id": o.run_id}
    for o in store.observations.query("vendor")
]
store.close()
print(json.dumps(observed, indent=1, sort_keys=True))
"""


def unpack(commit: str, into: Path) -> Path:
    """The commit's packages, as `git archive` gives them (read-only: the working tree is not touched)."""
    tree = into / commit
    if not tree.exists():
        listed = subprocess.run(["git", "ls-tree", "--name-only", commit], cwd=REPO, check=True, capture_output=True)
        packages = [name for name in listed.stdout.decode().split() if name in {"connector", "mappings", "providers"}]
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, *packages],
            cwd=REPO,
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
    return tree


def write(commits: list[str], scratch: Path) -> sqlite3.Connection:
    """The store as the commits left it, three days each."""
    path = scratch / "store.db"
    path.unlink(missing_ok=True)
    day = 0
    for step, commit in enumerate(commits):
        tree = unpack(commit, scratch)
        for _ in range(DAYS):
            environment = {**os.environ, "PYTHONPATH": str(tree)}
            command = [sys.executable, "-c", WRITER, str(path), str(day), str(tree)]
            done = subprocess.run(command, cwd=tree, env=environment, capture_output=True, text=True)
            # An upgrade may migrate the store and then fail to write it: that store is what the operator kept.
            if done.returncode != 0 and step == 0:
                raise RuntimeError(done.stderr)
            if done.returncode != 0:
                print(f"  {commit} day {day}: {done.stderr.strip().splitlines()[-1]}")
            day += 1
    return sqlite3.connect(path)


def dump(conn: sqlite3.Connection) -> str:
    """The store as SQL, with the version its code stamped on it."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return "\n".join([*conn.iterdump(), f"PRAGMA user_version = {version};", ""])


def read_back(commit: str, scratch: Path) -> str:
    """The store's observations as the commit's code reads them (the store is at its version: nothing migrates)."""
    tree = unpack(commit, scratch)
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", READER, str(scratch / "store.db")]
    return subprocess.run(command, cwd=tree, env=environment, capture_output=True, text=True, check=True).stdout


def main(names: list[str]) -> None:
    """Write every fixture, or only those named."""
    with tempfile.TemporaryDirectory() as folder:
        for name, commits in FIXTURES.items():
            if names and name not in names:
                continue
            conn = write(commits, Path(folder))
            (HERE / f"{name}.sql").write_text(dump(conn), encoding="utf-8")
            conn.close()
            print(f"{name}.sql")
            if name in READ_BACK:
                (HERE / f"{name}.json").write_text(read_back(commits[-1], Path(folder)), encoding="utf-8")
                print(f"{name}.json")


if __name__ == "__main__":
    main(sys.argv[1:])
