"""Stores written by earlier commits of main open, upgrade and work: one fixture per schema that landed (stores/).

Where one version number meant two schemas (v2, v6, v8), a fixture of each; and the stores a later commit upgraded
and stamped while leaving what it did not know about (a v8 without batches stamped v9). Each must come out with the
schema a new store has, read back what the old code wrote, take a write, and pass SQLite's own checks.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import connector
from connector.interfaces.ledger import FetchReserved
from connector.store import SCHEMA_VERSION, Store
from mappings.lines import Line, LineIdentity, LineStatus
from mappings.measure import Observation

REPO = Path(__file__).resolve().parents[2]
STORES = Path(__file__).resolve().parent / "stores"
FIXTURES = sorted(STORES.glob("*.sql"))

# What tests/connector/stores/make_stores.py writes: its first day, and each day's line and quantity.
FIRST_DAY = datetime(2026, 11, 2, 9, tzinfo=UTC)
PUSHED = LineIdentity("Contoso Ltd", "Backup users", "2026-11", "billed_users")
HELD = LineIdentity("Fabrikam", "Backup storage", "2026-11", "storage_gb")

# Schema version -> the package version that first shipped it. A schema change records its release here, and that
# release must be newer than the one before it and no newer than the package: no schema change without a version bump.
RELEASED = {10: "0.2.0", 11: "0.3.0"}


def load(fixture: Path, path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(fixture.read_text(encoding="utf-8"))
    conn.close()


def shape(conn: sqlite3.Connection) -> dict[str, Any]:
    """Every table's, view's, index's and trigger's name, and every table's columns (name, type, not null, key)."""
    objects = conn.execute("SELECT type, name, tbl_name FROM sqlite_master ORDER BY type, name").fetchall()
    columns = {
        name: [(*column[1:4], column[5]) for column in conn.execute(f"PRAGMA table_xinfo('{name}')")]
        for kind, name, _ in objects
        if kind == "table"
    }
    return {"objects": objects, "columns": columns}


def written_inputs(observed_at: datetime) -> dict[str, Any]:
    """The explanation make_stores.py wrote for a poll at this time."""
    day, hour = (observed_at.date() - FIRST_DAY.date()).days, observed_at.hour - FIRST_DAY.hour
    users = range(3 + min(day, 1))
    accounts = [{"account": f"acct-{n}", "users": [f"user-{n}-{u}" for u in users]} for n in range(3)]
    return {"accounts": accounts, "report": {"call": hour, "rows": 9 + day}}


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def package_version() -> str:
    with (REPO / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture.stem for fixture in FIXTURES])
def test_a_store_an_earlier_commit_wrote_upgrades_and_works(tmp_path: Path, fixture: Path) -> None:
    path = tmp_path / "state.db"
    load(fixture, path)
    Store.open(tmp_path / "new.db").close()
    expected = shape(sqlite3.connect(tmp_path / "new.db"))

    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        # What the old code wrote reads back.
        pushed, held = store.outbox.get(PUSHED), store.outbox.get(HELD)
        assert pushed is not None and pushed.status is LineStatus.PUSHED and pushed.pushed_quantity == Decimal(13)
        assert held is not None and held.status is LineStatus.HELD
        observed = store.observations.query("vendor", vendor_customer="contoso")
        assert {o.observed_at.date() for o in observed} >= {FIRST_DAY.date() + timedelta(days=d) for d in range(3)}
        for seen in observed:
            assert seen.inputs == written_inputs(seen.observed_at), seen
            assert seen.quantity == (12 if seen.observed_at.date() == FIRST_DAY.date() else 13)
        assert len([event for event in store.runs.audit_events() if event["event"] == "push"]) >= 3
        # And the store takes a day's sync.
        later = FIRST_DAY + timedelta(days=10)
        run_id, _ = store.start_run("sync", now=later)
        call = store.ledger.reserve("vendor", "report-link", timedelta(minutes=5), now=later, run_id=run_id)
        assert isinstance(call, FetchReserved)
        store.ledger.complete(call.fetch_id, "ok", payload=b"report of day 10", now=later, keep_payloads=2)
        inputs = {"accounts": [{"account": "acct-9", "users": ["user-9-0"]}], "report": {"call": 0, "rows": 1}}
        store.observations.record(
            [
                Observation(
                    "vendor",
                    "Contoso",
                    "billed_users",
                    "2026-11",
                    Decimal(14),
                    "user",
                    later,
                    True,
                    inputs,
                    product=product,
                    fetch_id=call.fetch_id,
                    run_id=run_id,
                )
                for product in ("M365", "Endpoint")
            ]
        )
        store.outbox.stage(
            Line(*PUSHED, quantity=Decimal(14), unit="user", rate=Decimal("3.50"), amount=Decimal(49)), None
        )
        store.outbox.mark_pushed(PUSHED, "psa-10", now=later)
        store.runs.audit("push", PUSHED.psa_customer, {"quantity": "14"}, now=later)
        store.runs.finish(run_id, "ok", {"pushed": 1}, now=later)
        store.prune(date(2026, 10, 1), now=later)

    with Store.open(path) as store:
        again = store.outbox.get(PUSHED)
        assert again is not None and again.pushed_quantity == Decimal(14)
        newest = store.observations.query("vendor", product="M365")[-1]
        assert (newest.quantity, newest.inputs, newest.observed_at) == (Decimal(14), inputs, later)
        good = store.ledger.last_good("vendor", "report-link")
        assert good is not None and good.payload == b"report of day 10"
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert store.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert shape(sqlite3.connect(path)) == expected


def test_every_schema_version_that_landed_has_a_fixture_store() -> None:
    # The next schema change needs a store of this one, written by the commit that lands it (make_stores.py).
    versions = {int(match.group(1)) for f in FIXTURES if (match := re.match(r"v(\d+)-", f.name))}
    assert versions >= set(range(2, SCHEMA_VERSION))


def test_the_package_version_rises_with_each_schema_version() -> None:
    assert SCHEMA_VERSION in RELEASED, f"schema v{SCHEMA_VERSION}: record the package version that ships it"
    releases = [version(RELEASED[schema]) for schema in sorted(RELEASED)]
    assert releases == sorted(set(releases)), "each schema version needs a package version of its own"
    assert version(package_version()) >= version(RELEASED[SCHEMA_VERSION])
    assert connector.__version__ == package_version()


def test_the_changelog_says_what_the_release_changed_in_the_store() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{package_version()}]" in changelog
    section = changelog.split(f"## [{RELEASED[SCHEMA_VERSION]}]", 1)[1].split("\n## [", 1)[0]
    assert f"schema version {SCHEMA_VERSION}" in section and "connector store backup" in section
