"""Observation explanations kept once: each split into parts, and each distinct part stored once, by its digest.

An hourly poll of a large portal explains tens of thousands of observations a day, and almost every part of each
explanation (the rule, the billed types, the list of accounts) is the same as the day before or as the customer's
other products; what changes (a call's id, a count) is a small member. So an explanation is stored as a tree: a node
maps its keys to parts, a leaf is the JSON of one value, and an observation keeps only its root's id. Reading
rebuilds exactly the JSON the explanation was written as (keys sorted, values as `json.dumps(default=str)` gives).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.redact import json_may_hold_secret, redact_data
from connector.store.database import Database

# Levels split into parts: the observation's inputs, their members ("metric", "problems") and theirs ("rule",
# "objects", ...). Deeper values repeat as a whole or not at all, so splitting them would only add nodes.
DEPTH = 2

# Parameters per statement stay well under SQLite's limit (32,766 since 3.32; 999 before).
_CHUNK = 500

# Reachable parts from given roots: a node's body is a JSON object of its children's ids.
_TREE = (
    "WITH RECURSIVE tree(id) AS (SELECT value FROM json_each(?) UNION "
    "SELECT child.value FROM tree JOIN explanation_parts p ON p.id = tree.id AND p.node = 1, json_each(p.body) child) "
)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(eq=False)
class _Part:
    """One part to store: a leaf's JSON, or a node's children (its JSON is known once they have ids)."""

    children: list[tuple[str, _Part]] | None
    text: str = ""
    id: int = 0
    height: int = 0

    @property
    def digest(self) -> bytes:
        # The kind is part of the digest: a leaf `{"a": 1}` is a value, a node `{"a": 1}` points at part 1.
        kind = b"n" if self.children is not None else b"l"
        return hashlib.blake2b(kind + self.text.encode(), digest_size=16).digest()


@dataclass
class _Splitter:
    """Splits values into parts; a value met again (the same object, or equal JSON) becomes the same part.

    `masking` masks every string of a leaf (and a node's keys) that may hold a secret; without it, texts are kept as
    they are, and `texts` collects them so one search can tell whether masking was needed at all.
    """

    masking: bool = False
    seen: dict[int, tuple[Any, _Part]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)

    def split(self, value: Any, depth: int = DEPTH) -> _Part:
        hit = self.seen.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        part = self._new(value, depth)
        # The value is kept alongside so its id cannot be reused by another object while this splitter lives.
        self.seen[id(value)] = (value, part)
        return part

    def _new(self, value: Any, depth: int) -> _Part:
        if depth > 0 and isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            keys = sorted(value)
            names = _dumps(keys)
            if self.masking and json_may_hold_secret(names):
                # A key that may be a secret: the whole value is one masked leaf (keys are masked only as data).
                return _Part(None, text=_dumps(redact_data(value)))
            self.texts.append(names)
            children = [(key, self.split(value[key], depth - 1)) for key in keys]
            return _Part(children, height=1 + max(child.height for _, child in children))
        text = _dumps(value)
        if self.masking and json_may_hold_secret(text):
            text = _dumps(redact_data(value))
        self.texts.append(text)
        return _Part(None, text=text)


def _split(values: Sequence[Any]) -> tuple[list[_Part], list[_Part]]:
    """The roots of the values and every distinct part under them, secrets masked.

    Searching each text for secrets is most of the cost of recording a large run; one search of them all together
    says when none could hold one (the usual case), and only then are they searched one by one.
    """
    splitter = _Splitter()
    roots = [splitter.split(value) for value in values]
    if json_may_hold_secret("\n".join(splitter.texts)):
        splitter = _Splitter(masking=True)
        roots = [splitter.split(value) for value in values]
    return roots, [part for _, part in splitter.seen.values()]


class Explanations:
    """The `explanation_parts` table: write within the caller's transaction; read any time."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def keep(self, values: Sequence[Any]) -> list[int]:
        """Store the parts of each value not stored yet; returns each value's root id, in order.

        Call inside a transaction: the ids are only meaningful with the rows that refer to them.
        """
        roots, parts = _split(values)
        for height in sorted({part.height for part in parts}):
            level = [part for part in parts if part.height == height]
            for part in level:
                if part.children is not None:
                    part.text = _dumps({key: child.id for key, child in part.children})
            self._store(level)
        return [root.id for root in roots]

    def _store(self, parts: list[_Part]) -> None:
        by_digest: dict[bytes, list[_Part]] = {}
        for part in parts:
            by_digest.setdefault(part.digest, []).append(part)
        known = self._ids(list(by_digest))
        missing = [(digest, int(group[0].children is not None), group[0].text) for digest, group in by_digest.items()]
        missing = [row for row in missing if row[0] not in known]
        if missing:
            self._db.db.conn.executemany("INSERT INTO explanation_parts (digest, node, body) VALUES (?, ?, ?)", missing)
            known |= self._ids([row[0] for row in missing])
        for digest, group in by_digest.items():
            for part in group:
                part.id = known[digest]

    def _ids(self, digests: list[bytes]) -> dict[bytes, int]:
        found: dict[bytes, int] = {}
        for start in range(0, len(digests), _CHUNK):
            chunk = digests[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT digest, id FROM explanation_parts WHERE digest IN ({marks})", chunk)
            found.update((bytes(digest), int(part_id)) for digest, part_id in rows)
        return found

    def load(self, roots: Iterable[int]) -> Rebuilder:
        """What rebuilds the explanations of these roots: every part they reach, read in one statement."""
        wanted = sorted(set(roots))
        bodies: dict[int, tuple[bool, str]] = {}
        for start in range(0, len(wanted), _CHUNK):
            rows = self._db.execute(
                _TREE + "SELECT p.id, p.node, p.body FROM tree JOIN explanation_parts p ON p.id = tree.id",
                [json.dumps(wanted[start : start + _CHUNK])],
            )
            bodies.update((int(part_id), (bool(node), body)) for part_id, node, body in rows)
        return Rebuilder(bodies)


class Rebuilder:
    """Rebuilds explanations from their parts; each call gives a fresh value, so no two observations share one."""

    def __init__(self, bodies: dict[int, tuple[bool, str]]) -> None:
        self._bodies = bodies

    def value(self, part_id: int) -> Any:
        node, body = self._bodies[part_id]
        if not node:
            return json.loads(body)
        return {key: self.value(child) for key, child in json.loads(body).items()}
