"""Observation explanations are kept in parts, each distinct part once, and read back exactly as they were written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

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


def observation(inputs: dict[str, Any], *, product: str = "", at: datetime = T0, quantity: int = 3) -> Observation:
    return Observation(
        "axcient", "Contoso", "axcient.pc_gb", "2026-11", Decimal(quantity), "GB", at, True, inputs, product
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
                observation(inputs[customer], product=product, at=T0 + timedelta(days=day), quantity=customer)
                for customer in range(20)
                for product in ("", "Select")
            ]
        )
    stored = store.observations.query("axcient")
    assert len(stored) == 30 * 20 * 2
    assert stored[-1].inputs == explanation(19, call=29)
    parts = store.db.execute("SELECT COUNT(*), SUM(LENGTH(body)) FROM explanation_parts").fetchone()
    whole = sum(len(json.dumps(o.inputs, sort_keys=True)) for o in stored)
    # Per customer once: its objects, its exclusions; per day once: the call's id and the nodes naming it.
    assert parts[0] < 20 * 2 + 30 * (1 + 20 * 2) + 10
    assert parts[1] * 8 < whole  # a tenth of the text, measured


def test_a_store_of_the_previous_schema_keeps_its_inline_explanations(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    before = len(MIGRATIONS) - 1
    with Store.open(path, migrations=MIGRATIONS[:before]) as old:
        assert old.schema_version == before
        old.db.execute(
            "INSERT INTO observations (source, vendor_customer, metric, product, period_key, quantity, unit, "
            "observed_at, complete, inputs) VALUES ('axcient', 'Contoso', 'axcient.pc_gb', '', '2026-11', '3', 'GB', "
            "?, 1, ?)",
            [T0.isoformat(), json.dumps({"metric": {"objects": ["a"]}})],
        )
    with Store.open(path) as new:
        new.observations.record([observation(explanation(1, call=7), at=T0 + timedelta(days=1))])
        old_row, new_row = new.observations.query("axcient", vendor_customer="contoso")
        assert old_row.inputs == {"metric": {"objects": ["a"]}} and old_row.observed_at == T0
        assert new_row.inputs == explanation(1, call=7)
        inline = new.db.execute("SELECT inputs FROM observations ORDER BY id").fetchall()
        assert [text for (text,) in inline] == [json.dumps({"metric": {"objects": ["a"]}}), ""]
