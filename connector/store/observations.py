"""Observation history: every change of a measured quantity, where billing takes its peaks and explanations from.

An observation is stored as a row when its quantity changes, and once a day when it does not: that daily repeat is
a row of `observation_repeats` (the row it repeats, its poll's batch, its explanation). A row names its series
(`observation_series`: source, vendor customer, metric, product, vendor period, unit) and its poll
(`observation_batches`: time, call, run) by number, and its explanation (`explanations`) by id. The view
`observations` reads every observation, rows and repeats alike, as one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connector.store.database import Database, from_iso, iso, masked
from connector.store.explanations import Explanations
from mappings.measure import Observation

# A batch as the observations of one call of `record` from one poll share it: its time, call and run.
BatchKey = tuple[str, int | None, int | None]


@dataclass
class _Last:
    """The last row of a customer's metric, product and vendor period, as a new observation compares with it."""

    id: int
    quantity: Decimal
    complete: bool
    seen: datetime


def _keys(*names: str) -> list[str | None]:
    """Names a vendor sent, masked alike when written and when looked up, so a masked name still finds its rows."""
    return [masked(name) for name in names]


class Observations:
    """The observations: rows, their daily repeats, and the batches they were polled in."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self.explanations = Explanations(database)

    def record(self, observations: list[Observation]) -> None:
        """Keep every change of an observed quantity: billing takes peaks and explanations from this history.

        A quantity equal to the last one recorded the same UTC day for the same customer, metric, product and vendor
        period (and as complete) adds nothing a peak could use, so it is not stored again: an hourly poll of a large
        portal would otherwise add tens of thousands of identical rows a day. One a day is kept because billing
        periods shorter than the vendor's month (weekly, twice a month) take only what was observed inside them;
        it is a repeat of the row, with its own poll and explanation.
        """
        with self._db.transaction():
            news: list[Observation] = []
            repeats: list[tuple[int, Observation]] = []
            lasts: dict[int, _Last] = {}
            for observation in observations:
                last = self._last(observation)
                if last is not None:
                    last = lasts.setdefault(last.id, last)  # one row repeated twice in a call keeps both
                if last is None or last.quantity != observation.quantity or last.complete != observation.complete:
                    news.append(observation)
                elif last.seen.date() != observation.observed_at.astimezone(UTC).date():
                    repeats.append((last.id, observation))
                    last.seen = observation.observed_at.astimezone(UTC)
            explained = self.explanations.keep([o.inputs for o in news] + [o.inputs for _, o in repeats])
            batches: dict[BatchKey, int] = {}
            self._db.db.conn.executemany(
                "INSERT INTO observation_rows (series_id, batch_id, quantity, complete, explanation_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (serie, self._batch(o, batches), str(o.quantity), int(o.complete), explanation)
                    for o, explanation, serie in zip(news, explained[: len(news)], self._series(news), strict=True)
                ],
            )
            self._db.db.conn.executemany(
                "INSERT INTO observation_repeats (row_id, batch_id, explanation_id) VALUES (?, ?, ?)",
                [
                    (row_id, self._batch(o, batches), explanation)
                    for (row_id, o), explanation in zip(repeats, explained[len(news) :], strict=True)
                ],
            )

    def _batch(self, observation: Observation, batches: dict[BatchKey, int]) -> int:
        """The batch of the poll an observation came from (its time, call and run), added once per call."""
        key = (iso(observation.observed_at), observation.fetch_id, observation.run_id)
        if key not in batches:
            cursor = self._db.execute(
                "INSERT INTO observation_batches (observed_at, fetch_id, run_id) VALUES (?, ?, ?)", list(key)
            )
            batches[key] = int(cursor.lastrowid or 0)
        return batches[key]

    def _series(self, news: list[Observation]) -> list[int]:
        """Each observation's series (its identity, exactly as sent), added when it is the first of its series."""
        keys = [(*_keys(o.source, o.vendor_customer, o.metric, o.product), o.period_key, masked(o.unit)) for o in news]
        ids: dict[tuple[str | None, ...], int] = {}
        for key in dict.fromkeys(keys):
            # The index ignores a name's case; the series is the one spelled exactly so.
            found = self._db.row(
                "SELECT id FROM observation_series WHERE source = ? AND vendor_customer = ? COLLATE NOCASE "
                "AND metric = ? AND product = ? AND period_key = ? AND vendor_customer = ? AND unit = ?",
                [*key[:5], key[1], key[5]],
            ) or self._db.row(
                "INSERT INTO observation_series (source, vendor_customer, metric, product, period_key, unit) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                key,
            )
            assert found is not None  # an INSERT ... RETURNING gives its row
            ids[key] = int(found["id"])
        return [ids[key] for key in keys]

    def _last(self, observation: Observation) -> _Last | None:
        """The series' last row, and when it was last seen (its own poll's time, or its last repeat's)."""
        row = self._db.row(
            "SELECT id, quantity, complete, observed_at FROM observations WHERE source = ? "
            "AND vendor_customer = ? COLLATE NOCASE AND metric = ? AND product = ? AND period_key = ? "
            "ORDER BY id DESC, is_repeat DESC, batch_id DESC LIMIT 1",
            [
                *_keys(observation.source, observation.vendor_customer, observation.metric, observation.product),
                observation.period_key,
            ],
        )
        if row is None:
            return None
        return _Last(row["id"], Decimal(row["quantity"]), bool(row["complete"]), from_iso(row["observed_at"]))

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
        for condition, value in (
            # Vendors change a customer name's capitalisation now and then; the engine matches names ignoring case,
            # so the observation history must too, or a month's earlier peak would vanish.
            ("vendor_customer = ? COLLATE NOCASE", masked(vendor_customer)),
            ("metric = ?", masked(metric)),
            ("period_key = ?", period_key),
            ("product = ?", masked(product)),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        rows = self._db.rows(
            f"SELECT * FROM observations WHERE {' AND '.join(where)} ORDER BY id, is_repeat, batch_id", params
        )
        texts = self.explanations.texts(row["explanation_id"] for row in rows)
        return [_observation(row, json.loads(texts[row["explanation_id"]])) for row in rows]

    def quantities(self, series: Sequence[tuple[str, str, str]], months: Sequence[str]) -> list[dict[str, Any]]:
        """The observations (rows and repeats) of these (source, metric, product) and of vendor periods starting in
        these months (YYYY-MM), every vendor customer's: their keys as stored, period and quantity, without their
        explanations, in `query`'s order (an export's charts read a whole period's in one query)."""
        keys = list(
            dict.fromkeys((masked(source), masked(metric), masked(product)) for source, metric, product in series)
        )
        wanted = list(dict.fromkeys(months))
        if not keys or not wanted:
            return []
        return self._db.rows(
            "SELECT source, vendor_customer, metric, product, period_key, quantity FROM observations "
            f"WHERE (source, metric, product) IN (VALUES {', '.join(['(?, ?, ?)'] * len(keys))}) "
            f"AND substr(period_key, 1, 7) IN ({', '.join('?' * len(wanted))}) ORDER BY id, is_repeat, batch_id",
            [*(value for key in keys for value in key), *wanted],
        )

    def customers_seen(self, source: str) -> tuple[datetime | None, list[str]]:
        """The vendor customers of a source as the store last saw its list: every customer observed on the UTC day of
        the source's last observation (a poll records each customer it lists that day, as a row or a daily repeat),
        and the time of that last observation; (None, []) when nothing of the source is recorded."""
        # The tables under the `observations` view, rows and repeats apart (the view would join every row first),
        # read once: each customer's last observation.
        rows = self._db.execute(
            "SELECT name, MAX(at) FROM (SELECT s.vendor_customer AS name, b.observed_at AS at "
            "FROM observation_series s JOIN observation_rows r ON r.series_id = s.id "
            "JOIN observation_batches b ON b.id = r.batch_id "
            "WHERE s.source = ? UNION ALL SELECT s.vendor_customer, b.observed_at FROM observation_series s "
            "JOIN observation_rows r ON r.series_id = s.id JOIN observation_repeats p ON p.row_id = r.id "
            "JOIN observation_batches b ON b.id = p.batch_id WHERE s.source = ?) GROUP BY name ORDER BY name",
            [masked(source)] * 2,
        ).fetchall()
        if not rows:
            return None, []
        last = max(at for _, at in rows)
        return from_iso(last), [name for name, at in rows if at >= last[:10]]

    def from_fetch(self, source: str, fetch_id: int) -> bool:
        """Whether observations taken from this ledger call are stored already (as rows, or repeats of rows)."""
        # A call is one source's, and a batch is written only with a row or a repeat: its batch is enough.
        del source
        return self._db.row("SELECT 1 FROM observation_batches WHERE fetch_id = ? LIMIT 1", [fetch_id]) is not None


def _observation(row: dict[str, Any], inputs: dict[str, Any]) -> Observation:
    keys = ("source", "vendor_customer", "metric", "period_key", "unit", "product", "fetch_id", "run_id")
    return Observation(
        **{key: row[key] for key in keys},
        quantity=Decimal(row["quantity"]),
        observed_at=from_iso(row["observed_at"]),
        complete=bool(row["complete"]),
        inputs=inputs,
    )
