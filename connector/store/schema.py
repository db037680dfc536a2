"""The store's schema, one migration per version: `PRAGMA user_version` says how many have run.

A migration reads what the store holds with code that never changes (the v6 to v10 encodings: `frozen_v10`), never
with the live store code: what an old store upgrades to must not depend on what the store does today.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from typing import Any

import sqlite_utils

from connector.store import frozen_v10

Migration = Callable[[sqlite_utils.Database], None]


def _execute(db: sqlite_utils.Database, *statements: str) -> None:
    for statement in statements:
        db.execute(statement)


def _sql(*statements: str) -> Migration:
    """A migration that only runs these statements, in order."""
    return lambda db: _execute(db, *statements)


_v1 = _sql(
    """CREATE TABLE runs (
            id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
            status TEXT NOT NULL, summary TEXT)""",
    """CREATE TABLE fetches (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL, requested_at TEXT NOT NULL,
            finished_at TEXT, outcome TEXT NOT NULL, status_code INTEGER, content_type TEXT,
            payload_hash TEXT, payload BLOB, error TEXT, run_id INTEGER REFERENCES runs(id))""",
    "CREATE INDEX fetches_by_target ON fetches(source, target, requested_at)",
    """CREATE TABLE observations (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, vendor_customer TEXT NOT NULL, metric TEXT NOT NULL,
            product TEXT NOT NULL DEFAULT '', period_key TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL,
            observed_at TEXT NOT NULL, complete INTEGER NOT NULL, inputs TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id), fetch_id INTEGER REFERENCES fetches(id))""",
    "CREATE INDEX observations_by_key ON observations(source, vendor_customer, metric, period_key, product)",
    """CREATE TABLE line_items (
            id INTEGER PRIMARY KEY, psa_customer TEXT NOT NULL, contract TEXT NOT NULL, period_key TEXT NOT NULL,
            metric TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL, rate TEXT NOT NULL,
            amount TEXT NOT NULL, status TEXT NOT NULL, psa_ref TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT, inputs TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            UNIQUE (psa_customer, contract, period_key, metric))""",
    """CREATE TABLE audit (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL, subject TEXT NOT NULL,
            details TEXT NOT NULL)""",
    # Append-only: the audit trail is evidence, so the database itself refuses to rewrite it.
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END",
)

# Pushed values are corrected, never overwritten blind: remember what the PSA holds and why a line is held.
_v2 = _sql(
    "ALTER TABLE line_items ADD COLUMN pushed_quantity TEXT",
    "ALTER TABLE line_items ADD COLUMN pushed_at TEXT",
    "ALTER TABLE line_items ADD COLUMN hold_reason TEXT",
    "ALTER TABLE line_items ADD COLUMN approved_quantity TEXT",
    "ALTER TABLE line_items ADD COLUMN plan TEXT",
    """CREATE TABLE line_item_history (
            id INTEGER PRIMARY KEY, line_id INTEGER NOT NULL REFERENCES line_items(id), at TEXT NOT NULL,
            status TEXT NOT NULL, quantity TEXT NOT NULL, amount TEXT NOT NULL, note TEXT)""",
)

# Observations are looked up by vendor customer ignoring case; an index in that collation keeps it indexed.
_v3 = _sql(
    "CREATE INDEX observations_by_customer ON observations"
    "(source, vendor_customer COLLATE NOCASE, metric, product, period_key, id)"
)

# Which process ran a run: one killed with `kill -9` never finishes its row, and the next run names the pid.
_v4 = _sql("ALTER TABLE runs ADD COLUMN pid INTEGER", "ALTER TABLE runs ADD COLUMN host TEXT")

# A polled report rarely changes between polls: each distinct body is kept once, by its hash, and a call whose
# body is kept says so (`payload_kept`). Rows written before keep theirs inline in `fetches.payload`.
_v5 = _sql(
    "CREATE TABLE payloads (hash TEXT PRIMARY KEY, body BLOB NOT NULL)",
    "ALTER TABLE fetches ADD COLUMN payload_kept INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX fetches_keeping ON fetches(payload_hash) WHERE payload_kept = 1",
)

# Each observation stored its whole explanation (about 940 bytes), though nearly all of it repeats across a
# customer's products and from one day to the next: explanations are now split into parts kept once by digest
# (connector.store.explanations), and a row refers to its root. Rows written before keep theirs inline.
_v6 = _sql(
    "CREATE TABLE explanation_parts (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, node INTEGER NOT NULL, "
    "body TEXT NOT NULL)",
    # No foreign key: retention deletes unreachable parts in bulk, and SQLite would check each against every row.
    "ALTER TABLE observations ADD COLUMN explanation_id INTEGER",
    # Every lookup by customer goes through the case-insensitive index of v3: the v1 index only cost space. A replayed
    # report asks whether its call's observations are stored, which then needs an index of its own.
    "DROP INDEX observations_by_key",
    "CREATE INDEX observations_by_fetch ON observations(fetch_id)",
)

# A month of hourly polls of a large MSP stores each unchanged quantity once a day: about a million rows a month,
# nearly all repeating the row before them. A repeat is now a few bytes appended to that row (`repeats`: the
# poll's batch, and its explanation when it differs), and `last_seen_at` says when the quantity was last seen.
# The observations of one poll share one time, call and run: `observation_batches` holds them once.
_v7 = _sql(
    "CREATE TABLE observation_batches (id INTEGER PRIMARY KEY, observed_at TEXT NOT NULL, fetch_id INTEGER, "
    "run_id INTEGER)",
    "ALTER TABLE observations ADD COLUMN repeats BLOB",
    "ALTER TABLE observations ADD COLUMN last_seen_at TEXT",
    # A report body compresses about 13 to 1; each distinct one is stored compressed (`compressed` = 1, zlib).
    "ALTER TABLE payloads ADD COLUMN compressed INTEGER NOT NULL DEFAULT 0",
)

# What identifies a series: the columns every observation of it shares.
SERIES_KEY = "source, vendor_customer, metric, product, period_key, unit"

# A batch as a row names it: its time, call and run (a call or a run may be none).
_SAME_BATCH = "b.observed_at = o.observed_at AND b.fetch_id IS o.fetch_id AND b.run_id IS o.run_id"


def _v8(db: sqlite_utils.Database) -> None:
    # Series first: it drops the table `observations`, whose explanation_id the first v6 (commit ff16c4b) made a
    # foreign key to explanation_parts, so that rebuilding the parts' table after it leaves no row to refuse it.
    _series_and_batches(db)
    # A rebased patch is stored without a digest (connector.store.explanations: no later row meets it again).
    _execute(
        db,
        "CREATE TABLE explanation_parts_v8 (id INTEGER PRIMARY KEY, digest BLOB UNIQUE, node INTEGER NOT NULL, "
        "body TEXT NOT NULL)",
        "INSERT INTO explanation_parts_v8 SELECT id, digest, node, body FROM explanation_parts",
        "DROP TABLE explanation_parts",
        "ALTER TABLE explanation_parts_v8 RENAME TO explanation_parts",
    )


def _series_and_batches(db: sqlite_utils.Database) -> None:
    # A row and its index entry spelled out its source, customer, metric, product, vendor period and unit again, and
    # its poll's time, call and run: most of the bytes of a month of observations. A series (`observation_series`)
    # holds the first once, a batch (`observation_batches`, as repeats use since v7) the second; a row
    # (`observation_rows`) refers to both by number, and to the batch it was last seen in. `observations` is a view
    # that reads as the table did. Reads the table `observations` as v7 left it.
    joined = " AND ".join(f"s.{column} = o.{column}" for column in SERIES_KEY.split(", "))
    _execute(
        db,
        "CREATE TABLE observation_series (id INTEGER PRIMARY KEY, source TEXT NOT NULL, vendor_customer TEXT NOT NULL, "
        "metric TEXT NOT NULL, product TEXT NOT NULL, period_key TEXT NOT NULL, unit TEXT NOT NULL)",
        f"INSERT INTO observation_series ({SERIES_KEY}) SELECT {SERIES_KEY} FROM observations "
        f"GROUP BY {SERIES_KEY} ORDER BY MIN(id)",
        # Only the copy below looks series and batches up by their exact key; lookups ignore a name's case (the index
        # after it), and a batch is found by its call.
        f"CREATE UNIQUE INDEX series_exact ON observation_series ({SERIES_KEY})",
        "CREATE INDEX batches_exact ON observation_batches (observed_at, fetch_id, run_id)",
        "INSERT INTO observation_batches (observed_at, fetch_id, run_id) SELECT DISTINCT observed_at, fetch_id, run_id "
        f"FROM observations o WHERE NOT EXISTS (SELECT 1 FROM observation_batches b WHERE {_SAME_BATCH})",
        "CREATE TABLE observation_rows (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, batch_id INTEGER NOT NULL, "
        "quantity TEXT NOT NULL, complete INTEGER NOT NULL, inputs TEXT NOT NULL DEFAULT '', explanation_id INTEGER, "
        "repeats BLOB, last_batch INTEGER)",
        "INSERT INTO observation_rows SELECT o.id, s.id, "
        f"(SELECT b.id FROM observation_batches b WHERE {_SAME_BATCH} LIMIT 1), o.quantity, o.complete, o.inputs, "
        f"o.explanation_id, o.repeats, NULL FROM observations o JOIN observation_series s ON {joined}",
    )
    # A repeated row was last seen in its last repeat's batch.
    repeated = db.query("SELECT id, repeats FROM observation_rows WHERE repeats IS NOT NULL")
    last = [(entries[-1][0], row["id"]) for row in repeated if (entries := frozen_v10.repeats(row["repeats"]))]
    db.conn.executemany("UPDATE observation_rows SET last_batch = ? WHERE id = ?", last)
    _execute(
        db,
        "DROP INDEX series_exact",
        "DROP INDEX batches_exact",
        "DROP TABLE observations",
        "CREATE INDEX series_by_customer ON observation_series "
        "(source, vendor_customer COLLATE NOCASE, metric, product, period_key)",
        # An index entry holds its row's id too: a series' last row is the end of its range.
        "CREATE INDEX observation_rows_by_series ON observation_rows (series_id)",
        "CREATE INDEX observation_batches_by_fetch ON observation_batches (fetch_id)",
        "CREATE VIEW observations AS SELECT r.id, s.source, s.vendor_customer, s.metric, s.product, s.period_key, "
        "r.quantity, s.unit, b.observed_at, r.complete, r.inputs, b.run_id, b.fetch_id, r.explanation_id, r.repeats, "
        "l.observed_at AS last_seen_at, r.series_id, r.batch_id FROM observation_rows r "
        "JOIN observation_series s ON s.id = r.series_id JOIN observation_batches b ON b.id = r.batch_id "
        "LEFT JOIN observation_batches l ON l.id = r.last_batch",
    )


# A part's digest lives only in the table that finds a part by it (WITHOUT ROWID: keyed by the digest itself),
# not also in the parts' table beside an index of it: 17 bytes less per part (connector.store.explanations).
_v9 = _sql(
    "CREATE TABLE explanation_digests (digest BLOB PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT INTO explanation_digests SELECT digest, id FROM explanation_parts WHERE digest IS NOT NULL",
    "CREATE TABLE explanation_parts_v9 (id INTEGER PRIMARY KEY, node INTEGER NOT NULL, body NOT NULL)",
    "INSERT INTO explanation_parts_v9 SELECT id, node, body FROM explanation_parts",
    "DROP TABLE explanation_parts",
    "ALTER TABLE explanation_parts_v9 RENAME TO explanation_parts",
)


def _v10(db: sqlite_utils.Database) -> None:
    # Two version numbers each meant two schemas on main: a store is repaired from what it holds, not its number.
    # The first v2 (commit 77227b7) had no approved quantity or plan; later code reads and writes both.
    present = _columns(db, "line_items")
    for column in ("approved_quantity", "plan"):
        if column not in present:
            db.execute(f"ALTER TABLE line_items ADD COLUMN {column} TEXT")
    # The first v8 (commit ac314fc) kept each row's poll time, call and run in the row, with no batch; v9 stamped
    # such a store without noticing. Its rows are read back as v7 kept them and laid out again as v8 does.
    if "batch_id" not in _columns(db, "observation_rows"):
        flat = ", ".join(f"s.{column}" for column in SERIES_KEY.split(", "))
        _execute(
            db,
            f"CREATE TABLE observations_v7 AS SELECT r.id, {flat}, r.quantity, r.observed_at, r.complete, r.inputs, "
            "r.run_id, r.fetch_id, r.explanation_id, r.repeats FROM observation_rows r "
            "JOIN observation_series s ON s.id = r.series_id",
            "DROP VIEW observations",
            "DROP TABLE observation_rows",
            "DROP TABLE observation_series",
            "ALTER TABLE observations_v7 RENAME TO observations",
        )
        _series_and_batches(db)
    # The alerts already told (connector.operations.alerts) were kept in a table made on first use, outside any version.
    db.execute("CREATE TABLE IF NOT EXISTS alert_state (id INTEGER PRIMARY KEY CHECK (id = 1), told TEXT NOT NULL)")


def _columns(db: sqlite_utils.Database, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_xinfo({table})").fetchall()}


def _v11(db: sqlite_utils.Database) -> None:
    # v6 to v10 kept an explanation as a tree of parts of six kinds (leaves, nodes, patches, compressed leaves, patches
    # naming the row before, zlib deltas of a list) and a row's daily repeats as varints inside the row: a month of a
    # large MSP in 37 MiB instead of 122 (benchmarks/README.md), but four files and a migration to touch whenever a
    # source changed what it explains. Now each distinct explanation is one compressed JSON
    # (connector.store.explanations) and a daily repeat is a row of its own. Every explanation is read as v10 wrote it
    # (frozen_v10) and stored anew.
    _execute(
        db,
        "CREATE TABLE explanations (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, body BLOB NOT NULL)",
        "CREATE TABLE observation_rows_v11 (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, "
        "batch_id INTEGER NOT NULL, quantity TEXT NOT NULL, complete INTEGER NOT NULL, "
        "explanation_id INTEGER NOT NULL)",
        # Keyed by the row it repeats (WITHOUT ROWID): a row's repeats are read together, and the key is the only index.
        "CREATE TABLE observation_repeats (row_id INTEGER NOT NULL, batch_id INTEGER NOT NULL, "
        "explanation_id INTEGER NOT NULL, PRIMARY KEY (row_id, batch_id)) WITHOUT ROWID",
    )
    _explanations_as_json(db)
    # Every observation, a row or a daily repeat, as one: a repeat reads as its row with its own poll and explanation.
    columns = (
        "s.source, s.vendor_customer, s.metric, s.product, s.period_key, r.quantity, s.unit, b.observed_at, "
        "r.complete, b.run_id, b.fetch_id"
    )
    _execute(
        db,
        "DROP VIEW observations",
        "DROP TABLE observation_rows",
        "ALTER TABLE observation_rows_v11 RENAME TO observation_rows",
        "CREATE INDEX observation_rows_by_series ON observation_rows (series_id)",
        "DROP TABLE explanation_parts",
        "DROP TABLE explanation_digests",
        f"CREATE VIEW observations AS SELECT r.id, {columns}, r.explanation_id, r.series_id, r.batch_id, "
        "0 AS is_repeat FROM observation_rows r JOIN observation_series s ON s.id = r.series_id "
        "JOIN observation_batches b ON b.id = r.batch_id "
        f"UNION ALL SELECT r.id, {columns}, p.explanation_id, r.series_id, p.batch_id, 1 AS is_repeat "
        "FROM observation_repeats p JOIN observation_rows r ON r.id = p.row_id "
        "JOIN observation_series s ON s.id = r.series_id JOIN observation_batches b ON b.id = p.batch_id",
    )


def _explanations_as_json(db: sqlite_utils.Database) -> None:
    """Copy every row and repeat to v11's tables, each explanation as v10 read it, stored once as compressed JSON."""
    kept: dict[tuple[int | None, int], int] = {}  # (a row's part, a repeat's part or 0) -> the explanation's new id
    after = 0
    while rows := list(
        db.query("SELECT * FROM observation_rows WHERE id > ? ORDER BY id LIMIT 500", [after])  # a page at a time
    ):
        after = rows[-1]["id"]
        repeats = {row["id"]: frozen_v10.repeats(row["repeats"]) for row in rows}
        parts = frozen_v10.load(
            db.conn,
            [row["explanation_id"] for row in rows if row["explanation_id"] is not None]
            + [ref for entries in repeats.values() for _, ref in entries if ref],
        )
        copied: list[tuple[Any, ...]] = []
        repeated: list[tuple[int, int, int]] = []
        for row in rows:
            own = row["explanation_id"]
            if own is None:  # written before v6: the explanation is in the row
                explained = _keep_v11(db, json.loads(row["inputs"]))
            elif (own, 0) in kept:
                explained = kept[own, 0]
            else:
                explained = kept[own, 0] = _keep_v11(db, parts.value(own))
            copied.append((row["id"], row["series_id"], row["batch_id"], row["quantity"], row["complete"], explained))
            for batch, ref in repeats[row["id"]]:
                if ref and (own, ref) not in kept:
                    kept[own, ref] = _keep_v11(db, parts.value(ref, base=own))
                repeated.append((row["id"], batch, kept[own, ref] if ref else explained))
        db.conn.executemany("INSERT INTO observation_rows_v11 VALUES (?, ?, ?, ?, ?, ?)", copied)
        db.conn.executemany("INSERT INTO observation_repeats VALUES (?, ?, ?)", repeated)


def _keep_v11(db: sqlite_utils.Database, value: Any) -> int:
    """The id of an explanation as v11 stores it (zlib of its sorted JSON, found by 16 bytes of its SHA-256)."""
    text = json.dumps(value, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).digest()[:16]
    for row in db.query("SELECT id FROM explanations WHERE digest = ?", [digest]):
        return int(row["id"])
    cursor = db.execute(
        "INSERT INTO explanations (digest, body) VALUES (?, ?)", [digest, zlib.compress(text.encode(), 9)]
    )
    return int(cursor.lastrowid or 0)


MIGRATIONS: list[Migration] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11]
SCHEMA_VERSION = len(MIGRATIONS)
