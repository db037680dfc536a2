"""Observation explanations are kept in parts, each distinct part once, and read back exactly as they were written."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.store import MIGRATIONS, Store
from connector.store.explanations import CHAIN
from connector.store.observations import encode
from mappings.measure import Observation

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.decimals(allow_nan=False, places=2),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def observation(
    inputs: dict[str, Any], *, product: str = "", at: datetime = T0, quantity: int = 3, customer: str = "Contoso"
) -> Observation:
    return Observation(
        "axcient", customer, "axcient.pc_gb", "2026-11", Decimal(quantity), "GB", at, True, inputs, product
    )


def explanation(customer: int, call: int) -> dict[str, Any]:
    """A source's explanation: mostly the same from one day to the next; the call's id changes every poll."""
    objects = [f"user{j}@customer{customer}.example" for j in range(10)]
    return {
        "metric": {
            "rule": "distinct object names among rows of a billed user type",
            "objects": objects,
            "excluded": {"shared mailbox": objects[:3]},
            "fetch_ids": [call],
        },
        "problems": [],
    }


@settings(max_examples=60, deadline=None)
@given(inputs=st.dictionaries(st.text(max_size=6), json_values, max_size=5))
def test_any_explanation_reads_back_as_the_json_it_was_written_as(inputs: dict[str, Any]) -> None:
    store = Store.open(":memory:")
    store.observations.record([observation(inputs), observation(inputs, product="Select")])
    expected = json.loads(json.dumps(inputs, sort_keys=True, default=str))
    assert [o.inputs for o in store.observations.query("axcient")] == [expected, expected]


def test_what_repeats_across_products_and_days_is_stored_once() -> None:
    store = Store.open(":memory:")
    for day in range(30):
        inputs = [explanation(customer, call=day) for customer in range(20)]
        store.observations.record(
            [
                observation(
                    inputs[customer], product=product, at=T0 + timedelta(days=day), customer=f"Customer {customer}"
                )
                for customer in range(20)
                for product in ("", "Select")
            ]
        )
    stored = store.observations.query("axcient")
    assert len(stored) == 30 * 20 * 2
    assert [(o.observed_at, o.inputs) for o in stored[-30:]] == [
        (T0 + timedelta(days=day), explanation(19, call=day)) for day in range(30)
    ]
    # One row per customer and product; each later day a repeat of it, a few bytes long.
    rows, longest = store.db.execute("SELECT COUNT(*), MAX(LENGTH(repeats)) FROM observations").fetchone()
    assert rows == 40 and longest <= 29 * 3
    parts = store.db.execute("SELECT COUNT(*), SUM(LENGTH(body)) FROM explanation_parts").fetchone()
    whole = sum(len(json.dumps(o.inputs, sort_keys=True)) for o in stored)
    # Per customer once: its objects, its exclusions and two nodes; per day once: the call's id and a patch naming it.
    assert parts[0] <= 20 * 4 + 30 * 2 + 3
    assert parts[1] * 40 < whole  # a fortieth of the text, measured


def test_a_repeat_whose_explanation_changed_shape_is_kept_whole() -> None:
    store = Store.open(":memory:")
    first = {"metric": {"accounts": [1, 2], "rule": "r"}, "problems": []}
    changes = [
        {"metric": {"accounts": [1, 3], "rule": "r"}, "problems": []},  # a member changed
        {"metric": {"accounts": [1, 3]}, "problems": ["late"], "new": {"a": 1}},  # one gone, one new, one added
        {"metric": "no longer a mapping"},
        {"metric": {"accounts": [1, 3], "rule": "r"}, "problems": []},
        [1, 2],
    ]
    store.observations.record([observation(first)])
    for day, inputs in enumerate(changes, start=1):
        store.observations.record([observation(inputs, at=T0 + timedelta(days=day))])
    stored = store.observations.query("axcient")
    assert [o.inputs for o in stored] == [first, *changes]
    assert store.db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 1


@pytest.mark.parametrize("schema", [5, 6, 7])
def test_a_store_of_an_earlier_schema_keeps_its_rows_and_they_take_repeats(tmp_path: Path, schema: int) -> None:
    """Before v6 an explanation was stored inline; v6 stored it in parts; since v7 a daily repeat joins its row; since
    v8 a row refers to its series (source, customer, metric, product, period and unit kept once)."""
    path = tmp_path / "state.db"
    with Store.open(path, migrations=MIGRATIONS[:schema]) as old:
        assert old.schema_version == schema
        inline = json.dumps(explanation(1, call=6)) if schema == 5 else ""
        for customer in ("Contoso", "CONTOSO", "Fabrikam"):  # a name whose capitalisation changed stays as sent
            old.db.execute(
                "INSERT INTO observations (source, vendor_customer, metric, product, period_key, quantity, unit, "
                "observed_at, complete, inputs) VALUES ('axcient', ?, 'axcient.pc_gb', '', '2026-11', '3', "
                "'GB', ?, 1, ?)",
                [customer, T0.isoformat(), inline],
            )
        if schema >= 6:  # as v6 to v8 wrote it: in parts, each with its digest (here one part, a leaf)
            text = json.dumps(explanation(1, call=6), sort_keys=True, default=str)
            digest = hashlib.blake2b(b"l" + text.encode(), digest_size=16).digest()
            root = old.db.execute(
                "INSERT INTO explanation_parts (digest, node, body) VALUES (?, 0, ?)", [digest, text]
            ).lastrowid
            old.db.execute("UPDATE observations SET explanation_id = ?", [root])
        if schema == 7:  # as v7 wrote a daily repeat: appended to its row, with its poll's batch
            batch = old.db.execute(
                "INSERT INTO observation_batches (observed_at, fetch_id, run_id) VALUES (?, NULL, NULL)",
                [(T0 + timedelta(hours=12)).isoformat()],
            ).lastrowid
            old.db.execute(
                "UPDATE observations SET repeats = ?, last_seen_at = ? WHERE vendor_customer = 'Fabrikam'",
                [encode([(batch, 0)]), (T0 + timedelta(hours=12)).isoformat()],
            )
    with Store.open(path) as new:
        assert new.schema_version == len(MIGRATIONS)
        new.observations.record([observation(explanation(1, call=7), at=T0 + timedelta(days=1), customer="CONTOSO")])
        new.observations.record(
            [observation(explanation(1, call=7), at=T0 + timedelta(days=2), quantity=4, customer="CONTOSO")]
        )
        stored = new.observations.query("axcient", vendor_customer="contoso")
        assert [(o.vendor_customer, o.observed_at - T0, o.quantity, o.inputs) for o in stored] == [
            ("Contoso", timedelta(0), 3, explanation(1, call=6)),
            ("CONTOSO", timedelta(0), 3, explanation(1, call=6)),
            ("CONTOSO", timedelta(days=1), 3, explanation(1, call=7)),
            ("CONTOSO", timedelta(days=2), 4, explanation(1, call=7)),
        ]
        fabrikam = new.observations.query("axcient", vendor_customer="Fabrikam")
        repeated = [timedelta(0), timedelta(hours=12)] if schema == 7 else [timedelta(0)]
        assert [(o.observed_at - T0, o.quantity, o.unit, o.inputs) for o in fabrikam] == [
            (at, 3, "GB", explanation(1, call=6)) for at in repeated
        ]
        inline = new.db.execute("SELECT inputs = '', repeats IS NOT NULL FROM observations ORDER BY id").fetchall()
        assert inline == [(schema >= 6, 0), (schema >= 6, 1), (schema >= 6, schema == 7), (1, 0)]
        # Three series came from the old rows, the new row joined one of them; no series was added for it.
        assert new.db.execute("SELECT COUNT(*) FROM observation_series").fetchone()[0] == 3


def test_a_series_next_row_keeps_only_what_changed_and_reads_back_whole() -> None:
    """A grown account changes a customer's quantity and its account list: the new row stores a patch naming the row
    before's explanation and the list as a delta of the list before, not new nodes above it; every CHAIN rows a
    whole explanation starts again."""
    store = Store.open(":memory:")
    accounts = [[f"acc{i}", f"pc-{i:04d}", "Business Plan", "pc", 1000 + i] for i in range(20)]
    written = []
    days = 2 * CHAIN + 5
    for day in range(days):
        accounts[day % 20][4] += 1
        inputs = {
            "metric": {"accounts": [list(a) for a in accounts], "rule": "sum of used MB", "storage": "compressed"},
            "problems": [],
        }
        written.append(inputs)
        store.observations.record([observation(inputs, at=T0 + timedelta(days=day), quantity=day)])
    stored = store.observations.query("axcient")
    assert [(o.quantity, o.inputs) for o in stored] == [(day, inputs) for day, inputs in enumerate(written)]
    kinds = dict(store.db.execute("SELECT node, COUNT(*) FROM explanation_parts GROUP BY node").fetchall())
    # Three whole explanations (two nodes each, their leaves shared but the list, compressed); on every other row a
    # patch naming the row before's, and its list as a delta of the list before.
    assert (kinds[1], kinds[4], kinds[0], kinds[3], kinds[5]) == (3 * 2, days - 3, 3, 3, days - 3)
    whole, delta = store.db.execute(
        "SELECT MAX(LENGTH(body)) FILTER (WHERE node = 3), MAX(LENGTH(body)) FILTER (WHERE node = 5) "
        "FROM explanation_parts"
    ).fetchone()
    assert delta * 3 < whole  # one account apart: a delta is a fraction of the compressed list
    # A patch is never met again a later day: it is stored without a digest (nor its index entry).
    undigested = "SELECT COUNT(*) FROM explanation_parts WHERE id NOT IN (SELECT id FROM explanation_digests)"
    assert store.db.execute(undigested).fetchone()[0] == days - 3
    # The same explanation again on a new row refers to the row before's explanation, adding nothing.
    before = store.db.execute("SELECT COUNT(*) FROM explanation_parts").fetchone()[0]
    store.observations.record([observation(written[-1], at=T0 + timedelta(days=days + 1), quantity=7)])
    assert store.db.execute("SELECT COUNT(*) FROM explanation_parts").fetchone()[0] == before
    assert store.observations.query("axcient")[-1].inputs == written[-1]


long_lists = st.lists(st.lists(st.text(min_size=5, max_size=12), min_size=3, max_size=3), min_size=8, max_size=12)


@settings(max_examples=40, deadline=None)
@given(
    days=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.dictionaries(st.sampled_from(["accounts", "rule", "other"]), json_values | long_lists, max_size=3),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_history_of_changes_and_repeats_reads_back_as_written(days: list[tuple[int, dict[str, Any]]]) -> None:
    """New rows (patches naming the row before's, deltas of long lists) and repeats (shared patches) alike."""
    store = Store.open(":memory:")
    written = []
    for day, (quantity, metric) in enumerate(days):
        inputs = {"metric": metric, "problems": []}
        store.observations.record([observation(inputs, at=T0 + timedelta(days=day), quantity=quantity)])
        written.append((quantity, json.loads(json.dumps(inputs, sort_keys=True, default=str))))
    assert [(o.quantity, o.inputs) for o in store.observations.query("axcient")] == written


def test_a_repeat_that_keeps_differing_from_its_row_the_same_way_shares_one_patch() -> None:
    """A customer's device count stays while an account grew once: each later day's repeat is the same patch."""
    store = Store.open(":memory:")
    first = {"metric": {"accounts": [["a1", 10], ["a2", 20]], "rule": "r"}, "problems": []}
    grown = {"metric": {"accounts": [["a1", 10], ["a2", 25]], "rule": "r"}, "problems": []}
    store.observations.record([observation(first)])
    for day in range(1, 8):
        store.observations.record([observation(grown, at=T0 + timedelta(days=day))])
    assert [o.inputs for o in store.observations.query("axcient")] == [first] + [grown] * 7
    assert store.db.execute("SELECT COUNT(*) FROM explanation_parts WHERE node = 2").fetchone()[0] == 1


def test_a_schema_8_store_keeps_its_explanation_parts_with_their_digests_kept_apart(tmp_path: Path) -> None:
    """Since v9 a part's digest is in `explanation_digests` only: the parts read back as they did, a part found again
    by its digest is not stored twice, and a part without one (a rebased patch) stays without one."""
    path = tmp_path / "state.db"
    text = json.dumps(["Ann", "Bo"])  # a list is a leaf at any depth
    digest = hashlib.blake2b(b"l" + text.encode(), digest_size=16).digest()
    with Store.open(path, migrations=MIGRATIONS[:8]) as old:
        leaf = old.db.execute("INSERT INTO explanation_parts (digest, node, body) VALUES (?, 0, ?)", [digest, text])
        node = old.db.execute(
            "INSERT INTO explanation_parts (digest, node, body) VALUES (?, 1, ?)",
            [b"n" * 16, json.dumps({"metric": leaf.lastrowid})],
        )
        rebased = old.db.execute(
            "INSERT INTO explanation_parts (digest, node, body) VALUES (NULL, 4, ?)",
            [json.dumps([node.lastrowid, {"count": leaf.lastrowid}])],
        )
    with Store.open(path) as new:
        assert new.schema_version == len(MIGRATIONS)
        columns = [row[1] for row in new.db.execute("PRAGMA table_info(explanation_parts)")]
        assert columns == ["id", "node", "body"]
        digests = dict(new.db.execute("SELECT digest, id FROM explanation_digests").fetchall())
        assert digests == {digest: leaf.lastrowid, b"n" * 16: node.lastrowid}
        explanations = new.observations.explanations
        rebuilt = explanations.load([rebased.lastrowid]).value(rebased.lastrowid)
        assert rebuilt == {"metric": ["Ann", "Bo"], "count": ["Ann", "Bo"]}
        with new.db.conn:
            assert explanations.keep([["Ann", "Bo"]]) == [leaf.lastrowid]
        assert new.db.execute("SELECT COUNT(*) FROM explanation_parts").fetchone()[0] == 3
