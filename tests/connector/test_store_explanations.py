"""Observation explanations are kept once each, shared by the observations they explain, and read back exactly as
they were written; stores of earlier schemas keep theirs."""

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
from mappings.measure import Observation

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.decimals(allow_nan=False, places=2),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def encode(entries: list[tuple[int, int]]) -> bytes:
    """Daily repeats as v7 to v10 appended them to their row: per repeat, its batch (as the step from the one before)
    and its explanation, as varints."""
    out, previous = bytearray(), 0
    for batch, ref in entries:
        for number in (batch - previous, ref):
            while number >= 0x80:
                out.append(number & 0x7F | 0x80)
                number >>= 7
            out.append(number)
        previous = batch
    return bytes(out)


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


def count(store: Store, table: str) -> int:
    return int(store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_what_repeats_across_products_and_days_is_stored_once() -> None:
    store = Store.open(":memory:")
    for day in range(30):
        inputs = [explanation(customer, call=day % 3) for customer in range(20)]
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
        (T0 + timedelta(days=day), explanation(19, call=day % 3)) for day in range(30)
    ]
    # One row per customer and product, and each later day a repeat of it.
    assert (count(store, "observation_rows"), count(store, "observation_repeats")) == (40, 29 * 40)
    # An explanation per customer and call, whichever product and day it explains.
    assert count(store, "explanations") == 20 * 3
    (compressed,) = store.db.execute("SELECT SUM(LENGTH(body)) FROM explanations").fetchone()
    whole = sum(len(json.dumps(o.inputs, sort_keys=True)) for o in stored)
    assert compressed * 40 < whole


def test_a_repeat_keeps_its_explanation_whatever_its_shape() -> None:
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
    # One row; every later day a repeat of it, with the explanation it came with (the fourth change is the first's).
    tables = ("observation_rows", "observation_repeats", "explanations")
    assert [count(store, table) for table in tables] == [1, 5, 5]


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
        # One row per observation but the repeats: Fabrikam's of v7, and the day-1 CONTOSO one.
        assert (count(new, "observation_rows"), count(new, "observation_repeats")) == (4, 1 + (schema == 7))
        # Three series came from the old rows, the new row joined one of them; no series was added for it.
        assert new.db.execute("SELECT COUNT(*) FROM observation_series").fetchone()[0] == 3


def test_a_series_whose_list_grows_every_day_reads_back_whole() -> None:
    """A grown account changes a customer's quantity and its account list every day: each row keeps its own
    explanation, and one that comes back (the same list again) is the one stored before."""
    store = Store.open(":memory:")
    accounts = [[f"acc{i}", f"pc-{i:04d}", "Business Plan", "pc", 1000 + i] for i in range(20)]
    written = []
    days = 40
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
    assert (count(store, "observation_rows"), count(store, "explanations")) == (days, days)
    store.observations.record([observation(written[-1], at=T0 + timedelta(days=days + 1), quantity=7)])
    store.observations.record([observation(written[0], at=T0 + timedelta(days=days + 2), quantity=8)])
    assert count(store, "explanations") == days
    assert [o.inputs for o in store.observations.query("axcient")[-2:]] == [written[-1], written[0]]


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


def test_a_repeat_that_keeps_differing_from_its_row_the_same_way_shares_one_explanation() -> None:
    """A customer's device count stays while an account grew once: each later day's repeat is the same explanation."""
    store = Store.open(":memory:")
    first = {"metric": {"accounts": [["a1", 10], ["a2", 20]], "rule": "r"}, "problems": []}
    grown = {"metric": {"accounts": [["a1", 10], ["a2", 25]], "rule": "r"}, "problems": []}
    store.observations.record([observation(first)])
    for day in range(1, 8):
        store.observations.record([observation(grown, at=T0 + timedelta(days=day))])
    assert [o.inputs for o in store.observations.query("axcient")] == [first] + [grown] * 7
    assert (count(store, "observation_repeats"), count(store, "explanations")) == (7, 2)


def test_observations_read_alike_one_at_a_time_and_all_together() -> None:
    """Each row with its repeats right after it, in the order recorded, whichever keys narrow the query."""
    store = Store.open(":memory:")
    for day in range(3):
        store.observations.record(
            [
                observation({"day": day, "customer": name}, at=T0 + timedelta(days=day), customer=name, quantity=q)
                for name, q in (("Contoso", 3), ("Fabrikam", 4 + day))
            ]
        )
    everything = store.observations.query("axcient")
    assert [(o.vendor_customer, o.quantity, (o.observed_at - T0).days) for o in everything] == [
        ("Contoso", 3, 0),
        ("Contoso", 3, 1),
        ("Contoso", 3, 2),
        ("Fabrikam", 4, 0),
        ("Fabrikam", 5, 1),
        ("Fabrikam", 6, 2),
    ]
    assert [o.inputs["day"] for o in everything] == [0, 1, 2, 0, 1, 2]
    contoso = store.observations.query("axcient", vendor_customer="CONTOSO", metric="axcient.pc_gb", product="")
    assert contoso == everything[:3]
    assert store.observations.query("axcient", period_key="2026-10") == []
    # Every observation is a fresh value: changing one read changes no other.
    everything[0].inputs["day"] = 99
    assert store.observations.query("axcient")[0].inputs["day"] == 0
