"""How schema v6 to v10 kept explanations and daily repeats, frozen: only migrations read it, and it never changes.

Until v11 an explanation was a tree of parts (`explanation_parts`: a node maps keys to parts, a leaf is one value's
JSON) with patches, compressed leaves and deltas on top, and a row's daily repeats were varints appended to it
(`observation_rows.repeats`). The v8 migration reads repeats and the v11 one reads both, as the v10 code wrote them.
This is a copy of that code's decoding, so that a later change to the live store cannot change what an old store
upgrades to: change the live code, never this.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

# A part's kind (`explanation_parts.node`): a value's JSON; a node mapping keys to part ids; a patch of the explanation
# a repeat's row has; a value's JSON compressed; a patch naming the explanation it applies to (`[base, patch]`); a
# leaf compressed with the leaf it replaces as zlib's dictionary (`[base, base64]`).
LEAF, NODE, PATCH, PACKED, REBASED, DELTA = 0, 1, 2, 3, 4, 5

# Parameters per statement, well under SQLite's limit.
_CHUNK = 500

# Every part reachable from the given ids: a node's, a patch's or a delta's body is JSON whose integers are part ids.
_TREE = (
    "WITH RECURSIVE tree(id) AS (SELECT value FROM json_each(?) UNION "
    "SELECT child.value FROM tree JOIN explanation_parts p ON p.id = tree.id AND p.node IN (1, 2, 4, 5), "
    "json_tree(p.body) child WHERE child.type = 'integer') "
    "SELECT p.id, p.node, p.body FROM tree JOIN explanation_parts p ON p.id = tree.id"
)


def repeats(data: bytes | None) -> list[tuple[int, int]]:
    """A row's daily repeats: (batch, explanation) each, in the order appended; explanation 0 is the row's own.

    Stored as varints, two per repeat: its batch as the step from the one before, and its explanation.
    """
    numbers, number, shift = [], 0, 0
    for byte in data or b"":
        number |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            numbers.append(number)
            number, shift = 0, 0
    entries, batch = [], 0
    for step, ref in zip(numbers[::2], numbers[1::2], strict=True):
        batch += step
        entries.append((batch, ref))
    return entries


def load(conn: sqlite3.Connection, roots: Iterable[int]) -> Rebuilder:
    """What rebuilds the explanations of these part ids: every part they reach."""
    wanted = sorted(set(roots))
    bodies: dict[int, tuple[int, Any]] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows: Iterator[tuple[int, int, Any]] = conn.execute(_TREE, [json.dumps(wanted[start : start + _CHUNK])])
        bodies.update((int(part_id), (int(kind), body)) for part_id, kind, body in rows)
    return Rebuilder(bodies)


class Rebuilder:
    """Rebuilds explanations from their parts; each call gives a fresh value."""

    def __init__(self, bodies: dict[int, tuple[int, Any]]) -> None:
        self._bodies = bodies

    def value(self, part_id: int, base: int | None = None) -> Any:
        """The explanation `part_id` holds; a patch (a repeat's) is applied to the explanation `base` holds."""
        kind, body = self._bodies[part_id]
        if kind == REBASED:
            return self._rebased(part_id)
        if kind == DELTA:
            return json.loads(self._text(part_id))
        if kind == LEAF:
            return json.loads(body)
        if kind == PACKED:
            return json.loads(zlib.decompress(body))
        if kind == NODE:
            return {key: self.value(child) for key, child in json.loads(body).items()}
        if base is None:
            raise ValueError(f"explanation part {part_id} is a patch, and no explanation was given to apply it to")
        return self._apply(self.value(base), json.loads(body))

    def _text(self, part_id: int) -> str:
        """A delta's JSON: its chain applied from the whole leaf it starts at."""
        deltas = []
        kind, body = self._bodies[part_id]
        while kind == DELTA:
            part_id, delta = json.loads(body)
            deltas.append(base64.b64decode(delta))
            kind, body = self._bodies[part_id]
        text = zlib.decompress(body).decode() if kind == PACKED else str(body)
        for delta in reversed(deltas):
            text = zlib.decompressobj(zdict=text.encode()).decompress(delta).decode()
        return text

    def _rebased(self, part_id: int) -> Any:
        patches = []
        kind, body = self._bodies[part_id]
        while kind == REBASED:
            part_id, patch = json.loads(body)
            patches.append(patch)
            kind, body = self._bodies[part_id]
        value = self.value(part_id)
        for patch in reversed(patches):
            value = self._apply(value, patch)
        return value

    def _apply(self, value: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        for key, change in patch.items():
            if change is None:
                value.pop(key, None)
            elif isinstance(change, int):
                value[key] = self.value(change)
            else:
                value[key] = self._apply(value[key], change)
        return dict(sorted(value.items()))
