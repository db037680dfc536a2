"""Observation explanations, each distinct one stored once: its JSON compressed, found again by a digest of the JSON.

The sources explain every observation (the rule, the objects counted, what was excluded), and most explanations are
the same as another observation's: a customer's products share one, and an unchanged customer's repeats yesterday's.
So an explanation is stored as one row of `explanations` (zlib of its canonical JSON: keys sorted, values as
`json.dumps(default=str)` gives them, secrets masked) and every observation it explains refers to that row. Reading
gives back exactly that JSON, as a fresh value per observation.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from connector.core.redact import json_may_hold_secret
from connector.store.database import Database, to_json


class Explanations:
    """The `explanations` table: write within the caller's transaction; read any time."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def keep(self, values: Sequence[Any]) -> list[int]:
        """Store each value not stored yet; returns each value's explanation id, in order.

        Call inside a transaction: the ids are only meaningful with the rows that refer to them.
        """
        texts = [json.dumps(value, sort_keys=True, default=str) for value in values]
        # Searching each text for secrets is most of the cost of recording a large run; one search of them all
        # together says when none could hold one (the usual case), and only then is each masked on its own.
        if json_may_hold_secret("\n".join(texts)):
            texts = [to_json(value) for value in values]
        # What finds an explanation again: 16 bytes of its JSON's SHA-256. Half the hash tells explanations apart
        # (among 2^32 of them, the chance that two share a digest is about 2^-65), and a month of a large MSP stores
        # a few hundred thousand digests, each twice (the table and its unique index).
        digests = [hashlib.sha256(text.encode()).digest()[:16] for text in texts]
        sql = "SELECT digest, id FROM explanations WHERE digest IN ({marks})"
        known = {bytes(row["digest"]): int(row["id"]) for row in self._db.rows_in(sql, sorted(set(digests)))}
        for key, text in zip(digests, texts, strict=True):
            if key not in known:
                cursor = self._db.execute(
                    "INSERT INTO explanations (digest, body) VALUES (?, ?)", [key, zlib.compress(text.encode(), 9)]
                )
                known[key] = int(cursor.lastrowid or 0)
        return [known[key] for key in digests]

    def texts(self, ids: Iterable[int]) -> dict[int, str]:
        """The JSON of each of these explanations, by id."""
        rows = self._db.rows_in("SELECT id, body FROM explanations WHERE id IN ({marks})", sorted(set(ids)))
        return {int(row["id"]): zlib.decompress(row["body"]).decode() for row in rows}

    def forget_unused(self) -> int:
        """Delete the explanations no observation refers to any more (after retention deleted some); how many."""
        return self._db.execute(
            "DELETE FROM explanations WHERE id NOT IN "
            "(SELECT explanation_id FROM observation_rows UNION SELECT explanation_id FROM observation_repeats)"
        ).rowcount
