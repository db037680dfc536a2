"""Observation explanations kept once: each split into parts, and each distinct part stored once, by its digest.

An hourly poll of a large portal explains tens of thousands of observations a day, and almost every part of each
explanation (the rule, the billed types, the list of accounts) is the same as the day before or as the customer's
other products; what changes (a call's id, a count) is a small member. So an explanation is stored as a tree: a node
maps its keys to parts, a leaf is the JSON of one value, and an observation keeps only its root's id. Reading
rebuilds exactly the JSON the explanation was written as (keys sorted, values as `json.dumps(default=str)` gives).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.redact import json_may_hold_secret, redact_data
from connector.store.database import Database

# Levels split into parts: the observation's inputs, their members ("metric", "problems") and theirs ("rule",
# "objects", ...). Deeper values repeat as a whole or not at all, so splitting them would only add nodes.
DEPTH = 2

# What a part is: a value's JSON, a node mapping keys to parts, a patch of another explanation (see `against`), a
# value's JSON compressed (zlib): lists of accounts or users, which change from day to day, compress 2 to 4 times;
# a patch that names the explanation it applies to (`[base id, patch]`, see `rebased`); or a long leaf compressed
# with the leaf it replaces as zlib's dictionary (`[base id, base64]`): an account list one account apart from the
# day before's costs tens of bytes.
LEAF, NODE, PATCH, PACKED, REBASED, DELTA = 0, 1, 2, 3, 4, 5

# Leaves from this long (in characters) are compressed, when that makes them shorter.
_PACK_FROM = 200

# A row explained as a change of the row before it makes a chain that reading follows to its start: after this many
# links the next row starts a chain of its own (a month of daily changes is one chain). Deltas chain alike.
CHAIN = 32

# Parameters per statement stay well under SQLite's limit (32,766 since 3.32; 999 before).
_CHUNK = 500

# Reachable parts from given roots: a node's or a patch's body is JSON whose integers are the ids of parts.
_TREE = (
    "WITH RECURSIVE tree(id) AS (SELECT value FROM json_each(?) UNION "
    "SELECT child.value FROM tree JOIN explanation_parts p ON p.id = tree.id AND p.node IN (1, 2, 4, 5), "
    "json_tree(p.body) child WHERE child.type = 'integer') "
)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _packed(kind: int, body: str) -> tuple[int, str | bytes]:
    """A part as stored: a long leaf compressed when that saves space."""
    if kind != LEAF or len(body) < _PACK_FROM:
        return kind, body
    packed = zlib.compress(body.encode(), 6)
    return (PACKED, packed) if len(packed) < len(body) else (kind, body)


@dataclass(eq=False)
class _Part:
    """One part to store: a leaf's JSON, or a node's children (its JSON is known once they have ids)."""

    children: list[tuple[str, _Part]] | None
    text: str = ""
    id: int = 0
    height: int = 0
    _digest: bytes = b""

    @property
    def digest(self) -> bytes:
        """A leaf's digest is of its JSON; a node's, of its keys and its children's digests (not their ids), so two
        trees compare without storing either. The kind is part of it: a leaf `{"a": 1}` is not a node."""
        if not self._digest:
            if self.children is None:
                content = b"l" + self.text.encode()
            else:
                content = b"n" + _dumps({key: child.digest.hex() for key, child in self.children}).encode()
            self._digest = hashlib.blake2b(content, digest_size=16).digest()
        return self._digest

    def reachable(self) -> Iterator[_Part]:
        yield self
        for _, child in self.children or []:
            yield from child.reachable()


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


def _patch_digest(body: str) -> bytes:
    """A repeat's patch's digest, of its JSON and its kind (leaves and nodes are digested by `_Part`)."""
    return hashlib.blake2b(b"p" + body.encode(), digest_size=16).digest()


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


def _diff(node: _Part, base: _Part, depth: int) -> dict[str, Any]:
    """What turns `base` into `node`: a key's new part (with the one it replaces, if any), None for a key gone, a dict
    for a changed child node (within `depth`); empty when they are equal."""
    base_children = dict(base.children or [])
    patch: dict[str, Any] = {key: None for key in base_children if key not in dict(node.children or [])}
    for key, child in node.children or []:
        old = base_children.get(key)
        if old is not None and old.digest == child.digest:
            continue
        if old is not None and old.children is not None and child.children is not None and depth > 1:
            patch[key] = _diff(child, old, depth - 1)
        else:
            patch[key] = (child, old)
    return patch


class Explanations:
    """The `explanation_parts` table: write within the caller's transaction; read any time."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def keep(self, values: Sequence[Any]) -> list[int]:
        """Store the parts of each value not stored yet; returns each value's root id, in order.

        Call inside a transaction: the ids are only meaningful with the rows that refer to them.
        """
        roots, parts = _split(values)
        self._store_all(parts)
        return [root.id for root in roots]

    def against(self, values: Sequence[Any], bases: Sequence[int | None]) -> list[int]:
        """Store each value as a change of its base explanation; returns 0 for a value equal to its base, else the
        id of a patch (what differs, down to `DEPTH`) or, when there is no base or the shapes differ, of the value.

        A source repeating yesterday's explanation but for one member (the call it came from) costs one patch that
        every customer of that call shares, not a copy of each explanation.
        """
        refs: list[int] = []
        for root, _, patch, rebuilder in self._diffs(values, bases):
            if patch is None:
                refs.append(self._store_tree(root))
            elif not patch:
                refs.append(0)
            else:
                body = _dumps(self._stored(patch, rebuilder))
                refs.append(self._store_parts([(PATCH, body)], [_patch_digest(body)])[0])
        return refs

    def rebased(self, values: Sequence[Any], bases: Sequence[int | None]) -> list[int]:
        """Store each value as a change of its base explanation that names its base; returns the value's id: the
        base's own when they are equal, else a part that needs nothing else to be read.

        A series' next row differs from the row before it in what changed (a grown account's list): it stores that,
        not a new copy of each node above it.
        """
        ids: list[int] = []
        patches: dict[tuple[int, str], int] = {}
        for root, base, patch, rebuilder in self._diffs(values, bases):
            if patch is None or base is None:
                ids.append(self._store_tree(root))
            elif not patch:
                ids.append(base)
            else:
                ids.append(self._store_patch(REBASED, _dumps([base, self._stored(patch, rebuilder)]), patches))
        return ids

    def _diffs(
        self, values: Sequence[Any], bases: Sequence[int | None]
    ) -> Iterator[tuple[_Part, int | None, dict[str, Any] | None, Rebuilder]]:
        """Each value's parts, its base, and what turns the base into it (None when the shapes differ)."""
        roots, _ = _split(values)
        wanted = sorted({base for base in bases if base is not None})
        rebuilder = self.load(wanted)
        # The bases as they read back, split alike: parts compare by digest, as stored ones would.
        splitter = _Splitter()
        known = {base: splitter.split(rebuilder.value(base)) for base in wanted}
        for root, base in zip(roots, bases, strict=True):
            old = known.get(base) if base is not None else None
            if old is None or rebuilder.links(base or 0) >= CHAIN - 1 or old.children is None or root.children is None:
                yield root, base, None, rebuilder
            else:
                yield root, base, _diff(root, old, DEPTH), rebuilder

    def _stored(self, patch: dict[str, Any], rebuilder: Rebuilder) -> dict[str, Any]:
        """A patch as stored: each new part replaced by its id, once its parts are stored."""
        stored: dict[str, Any] = {}
        for key, change in patch.items():
            if change is None:
                stored[key] = None
            elif isinstance(change, dict):
                stored[key] = self._stored(change, rebuilder)
            else:
                part, old = change
                stored[key] = self._store_change(part, old, rebuilder)
        return stored

    def _store_change(self, part: _Part, old: _Part | None, rebuilder: Rebuilder) -> int:
        """A new part in a patch: a long leaf replacing a leaf is stored as its delta when that is shorter."""
        if old is None or part.children is not None or old.children is not None or len(part.text) < _PACK_FROM:
            return self._store_tree(part)
        known = self._ids([part.digest, old.digest])
        base = known.get(old.digest)
        if part.digest in known or base is None or rebuilder.links(base) >= CHAIN - 1:
            return self._store_tree(part)
        packer = zlib.compressobj(6, zdict=old.text.encode())
        delta = base64.b64encode(packer.compress(part.text.encode()) + packer.flush()).decode()
        if len(delta) >= len(_packed(LEAF, part.text)[1]):
            return self._store_tree(part)
        # Its digest is the leaf's: the same content found again later is this part.
        (part.id,) = self._store_parts([(DELTA, _dumps([base, delta]))], [part.digest])
        return part.id

    def _store_tree(self, root: _Part) -> int:
        self._store_all(list({id(part): part for part in root.reachable()}.values()))
        return root.id

    def _store_all(self, parts: list[_Part]) -> None:
        for height in sorted({part.height for part in parts}):
            level = [part for part in parts if part.height == height]
            for part in level:
                if part.children is not None:
                    part.text = _dumps({key: child.id for key, child in part.children})
            self._store(level)

    def _store(self, parts: list[_Part]) -> None:
        rows = {part.digest: (NODE if part.children is not None else LEAF, part.text) for part in parts}
        ids = dict(zip(rows, self._store_parts(list(rows.values()), list(rows)), strict=True))
        for part in parts:
            part.id = ids[part.digest]

    def _store_patch(self, kind: int, body: str, patches: dict[tuple[int, str], int]) -> int:
        """A rebased patch's id: stored without a digest, once per call (`patches`, by its JSON).

        It names the explanation of the row before its own, so no later row meets it again: a digest and its index
        entry (about 45 bytes, as much as the patch) would only cost space. A repeat's patch, by contrast, recurs
        every day its customer's list stays as it became, and is found again by its digest.
        """
        key = (kind, body)
        if key not in patches:
            cursor = self._db.execute("INSERT INTO explanation_parts (node, body) VALUES (?, ?)", key)
            patches[key] = int(cursor.lastrowid or 0)
        return patches[key]

    def _store_parts(self, rows: list[tuple[int, str]], digests: list[bytes]) -> list[int]:
        """Ids of parts (kind, body), each inserted unless a part of that digest is stored already."""
        known = self._ids(digests)
        missing = {d: _packed(kind, body) for d, (kind, body) in zip(digests, rows, strict=True) if d not in known}
        if missing:
            (last,) = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM explanation_parts").fetchone()
            new = {digest: last + number for number, digest in enumerate(missing, start=1)}
            conn = self._db.db.conn
            conn.executemany(
                "INSERT INTO explanation_parts (id, node, body) VALUES (?, ?, ?)",
                [(new[digest], *part) for digest, part in missing.items()],
            )
            conn.executemany("INSERT INTO explanation_digests (digest, id) VALUES (?, ?)", list(new.items()))
            known |= new
        return [known[d] for d in digests]

    def _ids(self, digests: list[bytes]) -> dict[bytes, int]:
        found: dict[bytes, int] = {}
        for start in range(0, len(digests), _CHUNK):
            chunk = digests[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT digest, id FROM explanation_digests WHERE digest IN ({marks})", chunk)
            found.update((bytes(digest), int(part_id)) for digest, part_id in rows)
        return found

    def forget_unreached(self, roots: Iterable[int]) -> int:
        """Delete the parts none of `roots` reaches (after rows are deleted); returns how many."""
        live = {part_id for part_id, _, _ in self._tree(sorted(set(roots)))}
        stored = [part_id for (part_id,) in self._db.execute("SELECT id FROM explanation_parts")]
        dead = [(part_id,) for part_id in stored if part_id not in live]
        self._db.db.conn.executemany("DELETE FROM explanation_parts WHERE id = ?", dead)
        if dead:
            self._db.execute("DELETE FROM explanation_digests WHERE id NOT IN (SELECT id FROM explanation_parts)")
        return len(dead)

    def _tree(self, wanted: list[int]) -> Iterator[tuple[int, int, str]]:
        for start in range(0, len(wanted), _CHUNK):
            yield from self._db.execute(
                _TREE + "SELECT p.id, p.node, p.body FROM tree JOIN explanation_parts p ON p.id = tree.id",
                [json.dumps(wanted[start : start + _CHUNK])],
            )

    def load(self, roots: Iterable[int]) -> Rebuilder:
        """What rebuilds the explanations of these roots: every part they reach, read in one statement."""
        bodies = {int(part_id): (int(kind), body) for part_id, kind, body in self._tree(sorted(set(roots)))}
        return Rebuilder(bodies)


class Rebuilder:
    """Rebuilds explanations from their parts; each call gives a fresh value, so no two observations share one."""

    def __init__(self, bodies: dict[int, tuple[int, Any]]) -> None:
        self._bodies = bodies

    def value(self, part_id: int, base: int | None = None) -> Any:
        """The explanation `part_id` holds; a patch is applied to the explanation `base` holds."""
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

    def links(self, part_id: int) -> int:
        """How many patches or deltas lead from this part to a whole one."""
        count = 0
        kind, body = self._bodies[part_id]
        while kind in (REBASED, DELTA):
            count += 1
            kind, body = self._bodies[json.loads(body)[0]]
        return count

    def _text(self, part_id: int) -> str:
        """A leaf's JSON, a delta's after its chain is applied from the whole leaf it starts at."""
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
        return dict(sorted(value.items()))  # keys in order, as the explanation was written
