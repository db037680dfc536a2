"""Observation history: every change of a measured quantity, where billing takes its peaks and explanations from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connector.store.database import Database, from_iso, iso, masked
from connector.store.explanations import Explanations
from mappings.measure import Observation

_COLUMNS = (
    "source, vendor_customer, metric, period_key, quantity, unit, observed_at, complete, inputs, product, fetch_id, "
    "run_id, explanation_id"
)
_READ = f"id, {_COLUMNS}, repeats"


def encode(entries: Iterable[tuple[int, int]]) -> bytes:
    """Repeats as bytes: per repeat its batch (as the step from the one before) and its explanation, as varints."""
    out, previous = bytearray(), 0
    for batch, ref in entries:
        for number in (batch - previous, ref):
            while number >= 0x80:
                out.append(number & 0x7F | 0x80)
                number >>= 7
            out.append(number)
        previous = batch
    return bytes(out)


def decode(data: bytes | None) -> list[tuple[int, int]]:
    """The (batch, explanation) of each repeat `encode` wrote, in order; explanation 0 is the row's own."""
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


@dataclass
class _Last:
    """The last row of a customer's metric, product and vendor period, as a new observation compares with it."""

    id: int
    quantity: Decimal
    complete: bool
    seen: datetime
    explanation_id: int | None
    repeats: list[tuple[int, int]]

    def same_day(self, observation: Observation) -> bool:
        return self.seen.date() == observation.observed_at.astimezone(UTC).date()


def _keys(*names: str) -> list[str | None]:
    """Names a vendor sent, masked alike when written and when looked up, so a masked name still finds its rows."""
    return [masked(name) for name in names]


class Observations:
    """The `observations` table, each row with the repeats of its quantity, and the batches they were polled in."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self.explanations = Explanations(database)

    def record(self, observations: list[Observation]) -> None:
        """Keep every change of an observed quantity: billing takes peaks and explanations from this history.

        A quantity equal to the last one recorded the same UTC day for the same customer, metric, product and vendor
        period (and as complete) adds nothing a peak could use, so it is not stored again: an hourly poll of a large
        portal would otherwise add tens of thousands of identical rows a day. One a day is kept because billing
        periods shorter than the vendor's month (weekly, twice a month) take only what was observed inside them.
        That daily repeat is appended to the row it repeats (a few bytes: its poll's batch, and its explanation as a
        patch of the row's when it differs); `query` gives it back as the observation it was.

        Explanations are kept in parts, each distinct part once (`Explanations`): the row's `inputs` stays empty. A
        new row of a series keeps what changed from its last row's explanation, naming that one.
        """
        with self._db.transaction():
            news: list[tuple[Observation, int | None]] = []
            repeats: list[tuple[_Last, Observation]] = []
            lasts: dict[int, _Last] = {}
            for observation in observations:
                last = self._last(observation)
                if last is not None:
                    last = lasts.setdefault(last.id, last)  # one row repeated twice in a call keeps both
                if last is None or last.quantity != observation.quantity or last.complete != observation.complete:
                    news.append((observation, None if last is None else last.explanation_id))
                elif not last.same_day(observation):
                    repeats.append((last, observation))
                    last.seen = observation.observed_at.astimezone(UTC)
            batches: dict[tuple[str, int | None, int | None], int] = {}
            self._insert(news, batches)
            self._repeat(repeats, batches)

    def _batch(self, observation: Observation, batches: dict[tuple[str, int | None, int | None], int]) -> int:
        """The batch of the poll an observation came from (its time, call and run), added once per call."""
        key = (iso(observation.observed_at), observation.fetch_id, observation.run_id)
        if key not in batches:
            cursor = self._db.execute(
                "INSERT INTO observation_batches (observed_at, fetch_id, run_id) VALUES (?, ?, ?)", list(key)
            )
            batches[key] = int(cursor.lastrowid or 0)
        return batches[key]

    def _insert(
        self, changes: list[tuple[Observation, int | None]], batches: dict[tuple[str, int | None, int | None], int]
    ) -> None:
        # A series' new row is explained as a change of its last row's explanation (a grown account's list).
        news = [o for o, _ in changes]
        roots = self.explanations.rebased([o.inputs for o in news], [base for _, base in changes])
        series = self._series(news)
        self._db.db.conn.executemany(
            "INSERT INTO observation_rows (series_id, batch_id, quantity, complete, explanation_id) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (serie, self._batch(o, batches), str(o.quantity), int(o.complete), root)
                for o, root, serie in zip(news, roots, series, strict=True)
            ],
        )

    def _series(self, news: list[Observation]) -> list[int]:
        """Each observation's series (its identity, exactly as sent), added when it is the first of its series."""
        ids: dict[tuple[str | None, ...], int] = {}
        for o in news:
            key = (*_keys(o.source, o.vendor_customer, o.metric, o.product), o.period_key, masked(o.unit))
            if key in ids:
                continue
            # The index ignores a name's case; the series is the one spelled exactly so.
            row = self._db.execute(
                "SELECT id FROM observation_series WHERE source = ? AND vendor_customer = ? COLLATE NOCASE "
                "AND metric = ? AND product = ? AND period_key = ? AND vendor_customer = ? AND unit = ?",
                [*key[:5], key[1], key[5]],
            ).fetchone()
            if row is None:
                row = self._db.execute(
                    "INSERT INTO observation_series (source, vendor_customer, metric, product, period_key, unit) "
                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    list(key),
                ).fetchone()
            ids[key] = int(row[0])
        return [
            ids[(*_keys(o.source, o.vendor_customer, o.metric, o.product), o.period_key, masked(o.unit))] for o in news
        ]

    def _repeat(
        self, repeats: list[tuple[_Last, Observation]], batches: dict[tuple[str, int | None, int | None], int]
    ) -> None:
        refs = self.explanations.against([o.inputs for _, o in repeats], [last.explanation_id for last, _ in repeats])
        changed: dict[int, _Last] = {}
        for (last, observation), ref in zip(repeats, refs, strict=True):
            last.repeats.append((self._batch(observation, batches), ref))
            changed[last.id] = last
        self._db.db.conn.executemany(
            "UPDATE observation_rows SET repeats = ?, last_batch = ? WHERE id = ?",
            [(encode(last.repeats), last.repeats[-1][0], last.id) for last in changed.values()],
        )

    def _last(self, observation: Observation) -> _Last | None:
        row = self._db.execute(
            "SELECT id, quantity, complete, COALESCE(last_seen_at, observed_at), explanation_id, repeats "
            "FROM observations WHERE source = ? AND vendor_customer = ? COLLATE NOCASE "
            "AND metric = ? AND product = ? AND period_key = ? ORDER BY id DESC LIMIT 1",
            [
                *_keys(observation.source, observation.vendor_customer, observation.metric, observation.product),
                observation.period_key,
            ],
        ).fetchone()
        if row is None:
            return None
        return _Last(row[0], Decimal(row[1]), bool(row[2]), from_iso(row[3]), row[4], decode(row[5]))

    def query(
        self,
        source: str,
        *,
        vendor_customer: str | None = None,
        metric: str | None = None,
        period_key: str | None = None,
        product: str | None = None,
    ) -> list[Observation]:
        """A source's observations, oldest first, narrowed by whichever of the keys are given.

        Each row comes with its repeats right after it; within one customer, metric, product and vendor period that is
        the order they were recorded in.
        """
        where, params = ["source = ?"], [masked(source)]
        for column, value in (
            ("vendor_customer", vendor_customer),
            ("metric", metric),
            ("period_key", period_key),
            ("product", product),
        ):
            if value is not None:
                # Vendors change a customer name's capitalisation now and then; the engine matches names ignoring
                # case, so the observation history must too, or a month's earlier peak would vanish.
                where.append(f"{column} = ? COLLATE NOCASE" if column == "vendor_customer" else f"{column} = ?")
                params.append(value if column == "period_key" else masked(value))
        rows = self._db.execute(
            f"SELECT {_READ} FROM observations WHERE {' AND '.join(where)} ORDER BY id", params
        ).fetchall()
        repeats = {r[0]: decode(r[14]) for r in rows if r[14]}
        batches = self._batches({batch for entries in repeats.values() for batch, _ in entries})
        explained = self.explanations.load(
            [r[13] for r in rows if r[13] is not None] + [ref for e in repeats.values() for _, ref in e if ref]
        )
        found = []
        for r in rows:
            # Rows written before schema v6 keep their explanation inline.
            row = _observation(r, json.loads(r[9]) if r[13] is None else explained.value(r[13]))
            found.append(row)
            for batch, ref in repeats.get(r[0], []):
                observed_at, fetch_id, run_id = batches[batch]
                inputs = explained.value(r[13]) if ref == 0 else explained.value(ref, base=r[13])
                found.append(replace(row, observed_at=observed_at, fetch_id=fetch_id, run_id=run_id, inputs=inputs))
        return found

    def _batches(self, ids: set[int]) -> dict[int, tuple[datetime, int | None, int | None]]:
        found: dict[int, tuple[datetime, int | None, int | None]] = {}
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._db.execute(
                "SELECT id, observed_at, fetch_id, run_id FROM observation_batches "
                f"WHERE id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update((int(i), (from_iso(at), fetch_id, run_id)) for i, at, fetch_id, run_id in rows)
        return found

    def from_fetch(self, source: str, fetch_id: int) -> bool:
        """Whether observations taken from this ledger call are stored already (as rows, or repeats of rows)."""
        # A call is one source's, and a batch is written only with a row or a repeat: its batch is enough.
        del source
        row = self._db.execute("SELECT 1 FROM observation_batches WHERE fetch_id = ? LIMIT 1", [fetch_id]).fetchone()
        return row is not None


def _observation(r: tuple[Any, ...], inputs: dict[str, Any]) -> Observation:
    return Observation(
        source=r[1],
        vendor_customer=r[2],
        metric=r[3],
        period_key=r[4],
        quantity=Decimal(r[5]),
        unit=r[6],
        observed_at=from_iso(r[7]),
        complete=bool(r[8]),
        inputs=inputs,
        product=r[10],
        fetch_id=r[11],
        run_id=r[12],
    )
