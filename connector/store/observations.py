"""Observation history: every change of a measured quantity, where billing takes its peaks and explanations from."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal

from connector.store.database import Database, from_iso, iso, masked
from connector.store.explanations import Explanations
from mappings.measure import Observation

_COLUMNS = (
    "source, vendor_customer, metric, period_key, quantity, unit, observed_at, complete, inputs, product, fetch_id, "
    "run_id, explanation_id"
)


def _keys(*names: str) -> list[str | None]:
    """Names a vendor sent, masked alike when written and when looked up, so a masked name still finds its rows."""
    return [masked(name) for name in names]


class Observations:
    """The `observations` table."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self.explanations = Explanations(database)

    def record(self, observations: list[Observation]) -> None:
        """Keep every change of an observed quantity: billing takes peaks and explanations from this history.

        A quantity equal to the last one recorded the same UTC day for the same customer, metric, product and vendor
        period (and as complete) adds nothing a peak could use, so it is not stored again: an hourly poll of a large
        portal would otherwise add tens of thousands of identical rows a day. One a day is kept because billing
        periods shorter than the vendor's month (weekly, twice a month) take only what was observed inside them.

        Explanations are kept in parts, each distinct part once (`Explanations`): the row's `inputs` stays empty.
        """
        with self._db.transaction():
            news = [o for o in observations if not self._repeats_last(o)]
            roots = self.explanations.keep([o.inputs for o in news])
            self._db.db.conn.executemany(
                f"INSERT INTO observations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?)",
                [
                    (
                        *_keys(o.source, o.vendor_customer, o.metric),
                        o.period_key,
                        str(o.quantity),
                        masked(o.unit),
                        iso(o.observed_at),
                        int(o.complete),
                        masked(o.product),
                        o.fetch_id,
                        o.run_id,
                        root,
                    )
                    for o, root in zip(news, roots, strict=True)
                ],
            )

    def _repeats_last(self, observation: Observation) -> bool:
        row = self._db.execute(
            "SELECT quantity, complete, observed_at FROM observations WHERE source = ? "
            "AND vendor_customer = ? COLLATE NOCASE "
            "AND metric = ? AND product = ? AND period_key = ? ORDER BY id DESC LIMIT 1",
            [
                *_keys(observation.source, observation.vendor_customer, observation.metric, observation.product),
                observation.period_key,
            ],
        ).fetchone()
        return (
            row is not None
            and Decimal(row[0]) == observation.quantity
            and bool(row[1]) == observation.complete
            and from_iso(row[2]).date() == observation.observed_at.astimezone(UTC).date()
        )

    def query(
        self,
        source: str,
        *,
        vendor_customer: str | None = None,
        metric: str | None = None,
        period_key: str | None = None,
        product: str | None = None,
    ) -> list[Observation]:
        """A source's observations, oldest first, narrowed by whichever of the keys are given."""
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
            f"SELECT {_COLUMNS} FROM observations WHERE {' AND '.join(where)} ORDER BY id", params
        ).fetchall()
        explained = self.explanations.load(r[12] for r in rows if r[12] is not None)
        return [
            Observation(
                source=r[0],
                vendor_customer=r[1],
                metric=r[2],
                period_key=r[3],
                quantity=Decimal(r[4]),
                unit=r[5],
                observed_at=from_iso(r[6]),
                complete=bool(r[7]),
                # Rows written before schema v6 keep their explanation inline.
                inputs=json.loads(r[8]) if r[12] is None else explained.value(r[12]),
                product=r[9],
                fetch_id=r[10],
                run_id=r[11],
            )
            for r in rows
        ]

    def from_fetch(self, source: str, fetch_id: int) -> bool:
        """Whether observations taken from this ledger call are stored already."""
        row = self._db.execute(
            "SELECT 1 FROM observations WHERE source = ? AND fetch_id = ? LIMIT 1", [masked(source), fetch_id]
        ).fetchone()
        return row is not None
