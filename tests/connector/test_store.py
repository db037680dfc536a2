"""State store: private file, WAL, migrations that keep rows, one sync at a time, the ledger, the outbox."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connector.core.errors import StoreBusyError, StoreError
from connector.interfaces.ledger import FetchReserved, FetchTooSoon
from connector.store import MIGRATIONS, SCHEMA_VERSION, Store
from connector.store.ledger import PAYLOAD_COLUMN
from mappings.lines import Line, LineIdentity, LineStatus
from mappings.measure import Observation
from tests.clock import frozen_python

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
IDENTITY = LineIdentity("Contoso Ltd", "Backup users", "2026-11", "altaro.billed_users")


def line(quantity: int, amount: str, identity: LineIdentity = IDENTITY) -> Line:
    return Line(*identity, quantity=Decimal(quantity), unit="user", rate=Decimal("3.50"), amount=Decimal(amount))


def test_new_store_is_private_wal_and_current(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_migrates_an_older_schema_without_losing_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path, migrations=MIGRATIONS[:1]) as old:
        assert old.schema_version == 1
        old.db.execute(
            "INSERT INTO line_items (psa_customer, contract, period_key, metric, quantity, unit, rate, amount, "
            "status, inputs, created_at, updated_at) VALUES (?, ?, ?, ?, '12', 'user', '3.50', '42.00', 'pushed', "
            "'{}', ?, ?)",
            [*IDENTITY, T0.isoformat(), T0.isoformat()],
        )
        old.runs.audit("push", "Contoso Ltd", {"quantity": "12"})
    with Store.open(path) as new:
        assert new.schema_version == SCHEMA_VERSION
        stored = new.outbox.get(IDENTITY)
        assert stored is not None and stored.line.quantity == Decimal(12) and stored.line.amount == Decimal("42.00")
        assert stored.pushed_quantity is None and stored.status is LineStatus.PUSHED and not stored.has_plan
        assert [e["event"] for e in new.runs.audit_events()] == ["push"]
        assert new.outbox.stage(line(13, "45.50"), None).has_plan
        assert [h["quantity"] for h in new.outbox.history(IDENTITY)] == [Decimal(13)]


def test_refuses_a_store_from_a_newer_connector(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this connector understands"):
        Store.open(path)


def test_audit_is_append_only(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        store.runs.audit("push", "A", {})
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute("DELETE FROM audit")


HOLD_LOCK = """
import sys
from connector.store import Store
with Store.open(sys.argv[1]) as store, store.sync_lock():
    print("ready", flush=True)
    sys.stdin.readline()
"""


def test_second_sync_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    holder = subprocess.Popen(
        frozen_python("-c", HOLD_LOCK, str(path)), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with Store.open(path) as store:
            with pytest.raises(StoreBusyError, match=r"a sync is already running on .*state.db \(pid \d+"):
                store.acquire_sync_lock()
            # Refused, not corrupted: reads and writes of this process still work.
            store.runs.audit("check", "store", {})
    finally:
        holder.communicate("done\n", timeout=20)
    with Store.open(path) as store, store.sync_lock():
        assert [e["event"] for e in store.runs.audit_events()] == ["check"]


def test_fetch_ledger_enforces_the_window() -> None:
    store = Store.open(":memory:")
    window = timedelta(minutes=5)
    first = store.ledger.reserve("altaro", "link-a", window, now=T0)
    assert isinstance(first, FetchReserved) and first.previous is None
    store.ledger.complete(first.fetch_id, "ok", status_code=200, payload=b"a,b\n", now=T0)
    too_soon = store.ledger.reserve("altaro", "link-a", window, now=T0 + timedelta(minutes=4, seconds=59))
    assert isinstance(too_soon, FetchTooSoon)
    assert too_soon.next_allowed_at == T0 + window
    assert isinstance(store.ledger.reserve("altaro", "link-b", window, now=T0), FetchReserved)
    later = store.ledger.reserve("altaro", "link-a", window, now=T0 + window)
    assert isinstance(later, FetchReserved) and later.previous is not None
    store.ledger.complete(later.fetch_id, "failed", status_code=500, error="HTTP 500", now=T0 + window)
    good = store.ledger.last_good("altaro", "link-a")
    assert good is not None and good.payload == b"a,b\n" and good.payload_hash is not None


def test_the_window_runs_from_the_end_of_a_call_that_retried_for_a_while() -> None:
    store = Store.open(":memory:")
    window = timedelta(minutes=5)
    first = store.ledger.reserve("altaro", "link-a", window, now=T0)
    assert isinstance(first, FetchReserved)
    # Retries inside the call: its last attempt reached the vendor two minutes after it began.
    store.ledger.complete(first.fetch_id, "ok", status_code=200, payload=b"x", now=T0 + timedelta(minutes=2))
    too_soon = store.ledger.reserve("altaro", "link-a", window, now=T0 + timedelta(minutes=6))
    assert isinstance(too_soon, FetchTooSoon)
    assert too_soon.next_allowed_at == T0 + timedelta(minutes=7)
    assert isinstance(store.ledger.reserve("altaro", "link-a", window, now=T0 + timedelta(minutes=7)), FetchReserved)


def test_observations_round_trip_exactly() -> None:
    store = Store.open(":memory:")
    store.observations.record(
        [Observation("axcient", "Contoso", "axcient.pc_gb", "2026-11", Decimal("0.1"), "GB", T0, True, {"ids": [1]})]
    )
    (seen,) = store.observations.query("axcient", vendor_customer="Contoso")
    assert seen.quantity == Decimal("0.1") and seen.inputs == {"ids": [1]} and seen.observed_at == T0


def test_observations_of_a_customer_are_found_whatever_the_vendor_s_capitalisation() -> None:
    store = Store.open(":memory:")
    seen = [
        Observation("altaro", name, "altaro.billed_users", "2026-11", Decimal(n), "user", T0, True, {})
        for name, n in (("Contoso Ltd", 12), ("CONTOSO LTD", 9), ("Fabrikam", 4))
    ]
    store.observations.record(seen)
    found = store.observations.query("altaro", vendor_customer="contoso ltd")
    assert [o.quantity for o in found] == [Decimal(12), Decimal(9)]


def test_outbox_keeps_pushed_values_and_reopens_changed_ones() -> None:
    outbox = Store.open(":memory:").outbox
    outbox.stage(line(12, "42.00"), None)
    outbox.mark_pushed(IDENTITY, "contract:7")
    again = outbox.stage(line(12, "42.00"), None)
    assert again.status is LineStatus.PUSHED and again.psa_ref == "contract:7"
    changed = outbox.stage(line(14, "49.00"), None)
    assert changed.status is LineStatus.PENDING and changed.pushed_quantity == Decimal(12)
    held = outbox.stage(line(40, "140.00"), "tripled")
    assert held.status is LineStatus.HELD and held.hold_reason == "tripled"
    statuses = [h["status"] for h in outbox.history(IDENTITY)]
    # Re-staging an unchanged pushed line adds no history; every change of value or status does.
    assert statuses == ["pending", "pushed", "pending", "held"]
    approved = outbox.approve(IDENTITY, "customer onboarded 26 users")
    assert approved.status is LineStatus.PENDING and approved.approved_quantity == Decimal(40)
    with pytest.raises(StoreError, match="not held: nothing to approve"):
        outbox.approve(IDENTITY, "again")
    assert outbox.last_pushed_quantity("Contoso Ltd", "Backup users", "altaro.billed_users", "2026-12") == Decimal(12)
    assert outbox.last_pushed_quantity("Contoso Ltd", "Backup users", "altaro.billed_users", "2026-10") is None
    with pytest.raises(StoreError, match="no staged line item"):
        outbox.mark_pushed(LineIdentity("x", "y", "z", "w"), "ref")


def test_times_must_be_timezone_aware() -> None:
    store = Store.open(":memory:")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.runs.start("sync", now=datetime(2026, 1, 1))


def test_a_discarded_line_stays_discarded_until_its_quantity_changes() -> None:
    outbox = Store.open(":memory:").outbox
    outbox.stage(line(12, "42.00"), None)
    outbox.mark_failed(IDENTITY, "Atera refused the older period")
    discarded = outbox.discard(IDENTITY, "November was invoiced by hand")
    assert discarded.status is LineStatus.DISCARDED
    assert outbox.stage(line(12, "42.00"), None).status is LineStatus.DISCARDED
    assert outbox.stage(line(13, "45.50"), None).status is LineStatus.PENDING
    notes = [h["note"] for h in outbox.history(IDENTITY)]
    assert "discarded: November was invoiced by hand" in notes
    outbox.mark_pushed(IDENTITY, "contract:7")
    with pytest.raises(StoreError, match="only pending, failed, held or correction lines can be discarded"):
        outbox.discard(IDENTITY, "too late")


def test_only_the_newest_payloads_of_a_target_are_kept_in_full() -> None:
    store = Store.open(":memory:")
    window = timedelta(minutes=5)
    for n in range(5):
        for target in ("link-a", "link-b"):
            call = store.ledger.reserve("altaro", target, window, now=T0 + n * window)
            assert isinstance(call, FetchReserved)
            store.ledger.complete(
                call.fetch_id, "ok", payload=f"{target} {n}".encode(), now=T0 + n * window, keep_payloads=2
            )
    rows = store.db.execute(f"SELECT target, {PAYLOAD_COLUMN}, payload_hash FROM fetches ORDER BY id").fetchall()
    kept = [(target, payload) for target, payload, _ in rows if payload is not None]
    assert kept == [("link-a", b"link-a 3"), ("link-b", b"link-b 3"), ("link-a", b"link-a 4"), ("link-b", b"link-b 4")]
    # Every call stays in the ledger with its hash.
    assert len(rows) == 10 and all(digest for _, _, digest in rows)
    good = store.ledger.last_good("altaro", "link-a")
    assert good is not None and good.payload == b"link-a 4"


def test_an_identical_payload_is_stored_once_and_dropped_when_no_call_keeps_it() -> None:
    store = Store.open(":memory:")
    window = timedelta(minutes=5)
    bodies = [b"same report", b"same report", b"same report", b"new report"]
    for n, body in enumerate(bodies):
        call = store.ledger.reserve("altaro", "link", window, now=T0 + n * window)
        assert isinstance(call, FetchReserved)
        store.ledger.complete(call.fetch_id, "ok", payload=body, now=T0 + n * window, keep_payloads=2)
        if n == 2:
            assert store.db.execute("SELECT COUNT(*) FROM payloads").fetchone()[0] == 1
    stored = store.db.execute("SELECT body FROM payloads ORDER BY body").fetchall()
    assert [body for (body,) in stored] == [b"new report", b"same report"]
    good = store.ledger.last_good("altaro", "link")
    assert good is not None and good.payload == b"new report"
    # The older identical calls no longer keep it, the newest of them still does.
    kept = store.db.execute(f"SELECT {PAYLOAD_COLUMN} FROM fetches ORDER BY id").fetchall()
    assert [body for (body,) in kept] == [None, None, b"same report", b"new report"]


def test_a_store_from_before_shared_payloads_still_answers_with_its_inline_bodies(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path, migrations=MIGRATIONS[:4]) as old:
        old.db.execute(
            "INSERT INTO fetches (source, target, requested_at, finished_at, outcome, payload_hash, payload) "
            "VALUES ('altaro', 'link', ?, ?, 'ok', 'h', ?)",
            [T0.isoformat(), T0.isoformat(), b"old report"],
        )
    with Store.open(path) as new:
        good = new.ledger.last_good("altaro", "link")
        assert good is not None and good.payload == b"old report"
        call = new.ledger.reserve("altaro", "link", timedelta(0), now=T0 + timedelta(hours=1))
        assert isinstance(call, FetchReserved)
        new.ledger.complete(call.fetch_id, "ok", payload=b"next", keep_payloads=1)
        rows = new.db.execute(f"SELECT {PAYLOAD_COLUMN} FROM fetches ORDER BY id").fetchall()
        assert [body for (body,) in rows] == [None, b"next"]


def test_an_unchanged_quantity_is_recorded_once_a_day() -> None:
    store = Store.open(":memory:")

    def observe(at: datetime, quantity: int, complete: bool = True) -> None:
        store.observations.record(
            [Observation("axcient", "Contoso", "axcient.pc_gb", "2026-11", Decimal(quantity), "GB", at, complete, {})]
        )

    for hour in range(5):  # hourly polls, nothing changes
        observe(T0 + timedelta(hours=hour), 40)
    observe(T0 + timedelta(hours=5), 41)  # a change is kept
    observe(T0 + timedelta(hours=6), 41, complete=False)  # so is a change of completeness
    observe(T0 + timedelta(days=1), 41, complete=False)  # and the first of a new day
    kept = [(o.observed_at - T0, o.quantity, o.complete) for o in store.observations.query("axcient")]
    assert kept == [
        (timedelta(0), Decimal(40), True),
        (timedelta(hours=5), Decimal(41), True),
        (timedelta(hours=6), Decimal(41), False),
        (timedelta(days=1), Decimal(41), False),
    ]


def test_a_staged_line_comes_back_whole_with_its_psa_options_and_inputs() -> None:
    outbox = Store.open(":memory:").outbox
    computed = Line(
        *IDENTITY,
        quantity=Decimal(12),
        unit="user",
        rate=Decimal("3.50"),
        amount=Decimal("42.00"),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        psa={"rate_sku": "M365-USER", "create_if_missing": True},
        inputs={"observations": {"peak_vendor_period": "2026-11"}},
    )
    stored = outbox.stage(computed, None)
    assert stored.line == computed and stored.has_plan
    assert stored.line.psa == computed.psa and stored.line.inputs == computed.inputs
    assert [s.identity for s in outbox.lines(LineStatus.PENDING)] == [IDENTITY] and outbox.lines(LineStatus.HELD) == []


def test_a_line_planned_by_an_older_connector_keeps_its_psa_options(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.outbox.stage(line(12, "42.00"), None)
        # Before PSA options had their own key, the plan kept them on the line itself.
        plan = {**line(12, "42.00").to_record(), "rate_sku": "M365-USER", "create_if_missing": True}
        del plan["psa"]
        store.db.execute("UPDATE line_items SET plan = ?", [json.dumps(plan)])
    with Store.open(path) as store:
        stored = store.outbox.get(IDENTITY)
    assert stored is not None and stored.line.psa == {"rate_sku": "M365-USER", "create_if_missing": True}


def test_the_store_s_parts_share_one_transaction() -> None:
    store = Store.open(":memory:")
    with pytest.raises(RuntimeError), store.transaction():
        store.runs.audit("staged", "Contoso Ltd", {})
        store.outbox.stage(line(12, "42.00"), None)
        raise RuntimeError("crash before the transaction ends")
    assert store.runs.audit_events() == [] and store.outbox.lines() == []


def test_many_lines_histories_and_status_counts_agree_with_reading_each_line() -> None:
    outbox = Store.open(":memory:").outbox
    identities = [LineIdentity(f"Customer {n}", "Backup users", "2026-11", "altaro.billed_users") for n in range(1203)]
    for n, identity in enumerate(identities):
        outbox.stage(line(n, f"{n * 3.5:.2f}", identity), "held" if n % 3 == 0 else None)
        if n % 3 == 1:
            outbox.mark_pushed(identity, f"contract:{n}")
    stored = outbox.lines()
    # More ids than one query binds: the chunks together give each line's history, as `history` does.
    histories = outbox.histories([s.id for s in stored])
    assert all(histories[s.id] == outbox.history(s.identity) for s in stored)
    assert outbox.histories([]) == {}
    assert outbox.counts() == {LineStatus.HELD: 401, LineStatus.PUSHED: 401, LineStatus.PENDING: 401}
