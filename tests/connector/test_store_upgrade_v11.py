"""Schema v11 keeps every explanation as one compressed JSON: a v10 store's explanations, in parts of six kinds with
their patches, deltas and chains, and its rows' daily repeats, read back after the upgrade exactly as v10 read them."""

from __future__ import annotations

import base64
import json
import sqlite3
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from connector.store import MIGRATIONS, SCHEMA_VERSION, Store
from mappings.measure import Observation

STORES = Path(__file__).resolve().parent / "stores"
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def as_read(observation: Observation) -> dict[str, Any]:
    """An observation as tests/connector/stores/make_stores.py saves what the old code read back."""
    return {
        "vendor_customer": observation.vendor_customer,
        "metric": observation.metric,
        "product": observation.product,
        "period_key": observation.period_key,
        "quantity": str(observation.quantity),
        "unit": observation.unit,
        "observed_at": observation.observed_at.isoformat(),
        "complete": observation.complete,
        "inputs": observation.inputs,
        "fetch_id": observation.fetch_id,
        "run_id": observation.run_id,
    }


def test_a_v10_store_reads_back_what_v10_read(tmp_path: Path) -> None:
    """The fixture was written and read back by the v10 code (make_stores.py): parts of all six kinds."""
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.executescript((STORES / "v10-0235289.sql").read_text(encoding="utf-8"))
    kinds = {kind for (kind,) in conn.execute("SELECT DISTINCT node FROM explanation_parts")}
    conn.close()
    assert kinds == set(range(6))
    before = json.loads((STORES / "v10-0235289.json").read_text(encoding="utf-8"))
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [as_read(o) for o in store.observations.query("vendor")] == before


def packed(text: str) -> bytes:
    return zlib.compress(text.encode())


def delta(text: str, base: str) -> str:
    packer = zlib.compressobj(6, zdict=base.encode())
    return base64.b64encode(packer.compress(text.encode()) + packer.flush()).decode()


def varints(entries: list[tuple[int, int]]) -> bytes:
    """Repeats as v10 appended them to a row: per repeat, the step from the batch before and the explanation."""
    out, previous = bytearray(), 0
    for batch, ref in entries:
        for number in (batch - previous, ref):
            while number >= 0x80:
                out.append(number & 0x7F | 0x80)
                number >>= 7
            out.append(number)
        previous = batch
    return bytes(out)


USERS = [f"user{n}@contoso.example" for n in range(12)]
LISTS = [json.dumps(USERS[:10]), json.dumps(USERS[:11]), json.dumps(USERS)]

# Parts as v10 wrote them: (id, kind, body). 0 leaf, 1 node, 2 a repeat's patch, 3 compressed leaf, 4 a patch naming
# the explanation it applies to, 5 a delta of a leaf, its chain starting at a whole leaf.
PARTS: list[tuple[int, int, Any]] = [
    (1, 0, json.dumps("r")),
    (2, 3, packed(LISTS[0])),
    (3, 1, json.dumps({"objects": 2, "rule": 1})),
    (4, 1, json.dumps({"metric": 3, "problems": 5})),
    (5, 0, "[]"),
    (6, 5, json.dumps([2, delta(LISTS[1], LISTS[0])])),
    (7, 5, json.dumps([6, delta(LISTS[2], LISTS[1])])),
    (8, 4, json.dumps([4, {"metric": {"objects": 6}}])),
    (9, 4, json.dumps([8, {"metric": {"objects": 7, "rule": None}}])),
    (10, 2, json.dumps({"metric": {"fetch_ids": 11}})),
    (11, 0, "[7]"),
]
# Rows: (id, batch, quantity, explanation, inline explanation of a row written before v6, repeats (batch, part)).
ROWS: list[tuple[int, int, int, int | None, str, list[tuple[int, int]]]] = [
    (1, 1, 10, 4, "", [(2, 0), (3, 10)]),
    (2, 4, 11, 8, "", [(5, 10)]),
    (3, 6, 12, 9, "", []),
    (4, 1, 1, None, json.dumps({"metric": {"before v6": True}, "problems": []}), [(2, 4)]),
]


def explained(objects: int, *, rule: bool = True, call: bool = False) -> dict[str, Any]:
    metric: dict[str, Any] = {"objects": USERS[:objects]}
    if rule:
        metric["rule"] = "r"
    if call:
        metric["fetch_ids"] = [7]
    return {"metric": metric, "problems": []}


def test_every_kind_of_v10_part_and_chain_reads_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path, migrations=MIGRATIONS[:10]) as old:
        old.db.conn.executemany("INSERT INTO explanation_parts (id, node, body) VALUES (?, ?, ?)", PARTS)
        for series, customer in ((1, "Contoso"), (2, "Fabrikam")):
            old.db.execute(
                "INSERT INTO observation_series VALUES (?, 'vendor', ?, 'users', '', '2026-11', 'user')",
                [series, customer],
            )
        for batch in range(1, 7):
            at = (T0 + timedelta(days=batch)).isoformat()
            old.db.execute("INSERT INTO observation_batches VALUES (?, ?, ?, NULL)", [batch, at, 100 + batch])
        for row, batch, quantity, explanation, inline, repeats in ROWS:
            old.db.execute(
                "INSERT INTO observation_rows VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
                [
                    row,
                    2 if explanation is None else 1,
                    batch,
                    str(quantity),
                    inline,
                    explanation,
                    varints(repeats) if repeats else None,
                    repeats[-1][0] if repeats else None,
                ],
            )
    with Store.open(path) as store:
        read = [(o.vendor_customer, o.quantity, o.fetch_id, o.inputs) for o in store.observations.query("vendor")]
        assert read == [
            ("Contoso", 10, 101, explained(10)),
            ("Contoso", 10, 102, explained(10)),
            ("Contoso", 10, 103, explained(10, call=True)),
            ("Contoso", 11, 104, explained(11)),
            ("Contoso", 11, 105, explained(11, call=True)),
            ("Contoso", 12, 106, explained(12, rule=False)),
            ("Fabrikam", 1, 101, {"metric": {"before v6": True}, "problems": []}),
            ("Fabrikam", 1, 102, explained(10)),
        ]
        tables = {name for (name,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not tables & {"explanation_parts", "explanation_digests"}
        # Each distinct explanation once; the same one recorded now is found, not stored again.
        assert store.db.execute("SELECT COUNT(*) FROM explanations").fetchone()[0] == 6
        store.observations.record(
            [
                Observation(
                    "vendor", "Contoso", "users", "2026-11", Decimal(13), "user", T0, True, explained(12, rule=False)
                )
            ]
        )
        assert store.db.execute("SELECT COUNT(*) FROM explanations").fetchone()[0] == 6
        # The last row is still the one a new observation repeats: the same quantity a day later adds a repeat.
        later = T0 + timedelta(days=20)
        store.observations.record(
            [Observation("vendor", "Fabrikam", "users", "2026-11", Decimal(1), "user", later, True, explained(10))]
        )
        fabrikam = store.observations.query("vendor", vendor_customer="fabrikam")
        assert [(o.quantity, o.observed_at) for o in fabrikam][-1] == (1, later)
        assert store.db.execute("SELECT COUNT(*) FROM observation_rows").fetchone()[0] == 5
