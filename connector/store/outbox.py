"""The outbox: every computed line, written before any push, with where it stands and the history of its values."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from connector.core.errors import StoreError
from connector.core.redact import redact
from connector.store.database import Database, from_iso, iso, masked, to_json, utcnow
from mappings.billing import price
from mappings.lines import Line, LineIdentity, LineStatus, StoredLine, next_status

# A history row that is no status of the line: what the PSA held before the connector first pushed the contract, or
# what a sync found it holding after a push (someone typed another figure there, or it holds the connector's again).
IN_PSA = "in PSA"
_COLUMNS = (
    "id, psa_customer, contract, period_key, metric, quantity, unit, rate, amount, status, psa_ref, attempts, "
    "last_error, inputs, pushed_quantity, hold_reason, approved_quantity, plan, updated_at"
)
_WHERE_IDENTITY = "psa_customer = ? AND contract = ? AND period_key = ? AND metric = ?"


def _written(line: Line, status: LineStatus, reason: str | None, stamp: str) -> list[Any]:
    """What a computed line writes, in the order `stage` and `_rewrite` name the columns."""
    return [
        *(str(line.quantity), line.unit, str(line.rate), str(line.amount), status.value),
        *(to_json(line.inputs), to_json(line.to_record()), masked(reason), stamp),
    ]


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def _stored(row: dict[str, Any]) -> StoredLine:
    inputs = json.loads(row["inputs"])
    plan = json.loads(row["plan"]) if row["plan"] else {}
    if plan:
        line = Line.from_record(plan, inputs)
    else:
        # Staged before the outbox kept the whole line (schema v1): its columns still say what was computed.
        line = Line(
            psa_customer=row["psa_customer"],
            contract=row["contract"],
            period_key=row["period_key"],
            metric=row["metric"],
            quantity=Decimal(row["quantity"]),
            unit=row["unit"],
            rate=Decimal(row["rate"]),
            amount=Decimal(row["amount"]),
            inputs=inputs,
        )
    return StoredLine(
        id=row["id"],
        line=line,
        status=LineStatus(row["status"]),
        psa_ref=row["psa_ref"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        pushed_quantity=_decimal(row["pushed_quantity"]),
        hold_reason=row["hold_reason"],
        approved_quantity=_decimal(row["approved_quantity"]),
        updated_at=from_iso(row["updated_at"]),
        has_plan=bool(plan),
    )


class Outbox:
    """The `line_items` table and its history."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def get(self, identity: LineIdentity) -> StoredLine | None:
        row = self._db.row(f"SELECT {_COLUMNS} FROM line_items WHERE {_WHERE_IDENTITY}", identity)
        return _stored(row) if row else None

    def lines(self, status: LineStatus | None = None) -> list[StoredLine]:
        sql, params = f"SELECT {_COLUMNS} FROM line_items", []
        if status is not None:
            sql, params = sql + " WHERE status = ?", [status.value]
        return [_stored(row) for row in self._db.rows(sql + " ORDER BY id", params)]

    def counts(self) -> dict[LineStatus, int]:
        """How many lines each status has (a summary, without reading every line)."""
        rows = self._db.execute("SELECT status, COUNT(*) FROM line_items GROUP BY status").fetchall()
        return {LineStatus(status): int(count) for status, count in rows}

    def customers(self) -> list[str]:
        """Every PSA customer a line was ever staged for."""
        rows = self._db.execute("SELECT DISTINCT psa_customer FROM line_items ORDER BY psa_customer").fetchall()
        return [name for (name,) in rows]

    def of_customer(self, customer: str, period: str | None = None) -> list[StoredLine]:
        """The lines of a PSA customer named any case (compared casefolded, as Python compares names: SQLite's
        NOCASE folds ASCII letters only), of one period if given, by id: only theirs are read and decoded."""
        wanted = customer.casefold()
        names = [name for name in self.customers() if name.casefold() == wanted]
        if not names:
            return []
        sql = f"SELECT {_COLUMNS} FROM line_items WHERE psa_customer IN ({', '.join('?' * len(names))})"
        params: list[Any] = list(names)
        if period is not None:
            sql, params = sql + " AND period_key = ?", [*params, period]
        return [_stored(row) for row in self._db.rows(sql + " ORDER BY id", params)]

    def measured_from(self, customers: Sequence[str]) -> dict[tuple[str, str], str]:
        """Per (PSA customer, source), the vendor customer its latest line was measured from (the name a mapping by
        the vendor's id found at the last sync), for these PSA customers (names as stored)."""
        rows = self._db.rows_in(
            "SELECT psa_customer, json_extract(inputs, '$.source') AS source, "
            "json_extract(inputs, '$.vendor_customer') AS vendor FROM line_items WHERE psa_customer IN ({marks}) "
            "ORDER BY id",
            list(dict.fromkeys(customers)),
        )
        return {
            (row["psa_customer"], row["source"]): row["vendor"]
            for row in rows
            if isinstance(row["source"], str) and isinstance(row["vendor"], str)
        }

    def of_period(self, period_key: str, inputs: Sequence[str] | None = None) -> list[StoredLine]:
        """Every line of one period, by id (an export reads its period's lines, not every period's). With `inputs`,
        each line's inputs hold only those of their top-level keys it has (SQLite picks them out of the stored JSON:
        decoding every line's whole explanation is most of the cost of reading thousands)."""
        keys = list(inputs or ())
        # Two paths at least: json_extract gives a JSON array of the values only then (one path: the bare value).
        paths = [f"$.{json.dumps(key)}" for key in keys] + ([f"$.{json.dumps(keys[0])}"] if len(keys) == 1 else [])
        picked = f", json_extract(inputs, {', '.join('?' * len(paths))}) AS picked" if keys else ""
        sql = f"SELECT {_COLUMNS}{picked} FROM line_items WHERE period_key = ? ORDER BY id"
        rows = self._db.rows(sql, [*paths, period_key])
        for row in rows if keys else ():
            values = json.loads(row.pop("picked"))[: len(keys)]
            if None in values:  # absent or null: only the whole text tells which
                whole = json.loads(row["inputs"])
                row["inputs"] = json.dumps({key: whole[key] for key in keys if key in whole})
            else:
                row["inputs"] = json.dumps(dict(zip(keys, values, strict=True)))
        return [_stored(row) for row in rows]

    def periods(self) -> list[str]:
        """Every period a line was staged for."""
        rows = self._db.execute("SELECT DISTINCT period_key FROM line_items ORDER BY period_key").fetchall()
        return [period for (period,) in rows]

    def stage(
        self,
        line: Line,
        hold_reason: str | None,
        *,
        now: datetime | None = None,
        recheck: bool = False,
        found_in_psa: tuple[str, Decimal] | None = None,
        in_psa: tuple[Decimal, str] | None = None,
    ) -> StoredLine:
        """Write a computed line as pending (or held) before anything is pushed; `next_status` decides which.

        An identity already pushed with the same quantity stays pushed; a changed quantity goes back to pending
        so the PSA is corrected, and the history keeps both values. `found_in_psa` (the PSA's name, its quantity):
        what the PSA held before the connector ever pushed this contract, the history's first "old" figure.
        `in_psa` (its quantity, the note saying why it is news): what the PSA holds now, after a push, recorded as
        an IN_PSA row (the engine passes it when someone changed the figure there; see `psa_figure`).
        """
        stamp = iso(now or utcnow())
        with self._db.transaction():
            existing = self.get(line.identity)
            status, reason = next_status(line, existing, hold_reason, recheck=recheck)
            if existing is None:
                cursor = self._db.execute(
                    "INSERT INTO line_items (quantity, unit, rate, amount, status, inputs, plan, hold_reason, "
                    "updated_at, psa_customer, contract, period_key, metric, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [*_written(line, status, reason, stamp), *line.identity, stamp],
                )
                line_id = int(cursor.lastrowid or 0)
                if found_in_psa is not None:
                    psa, held = found_in_psa
                    note = f"{psa} held this before the connector's first push"
                    self._history(line_id, IN_PSA, held, price(held, line.rate), note, stamp)
            else:
                line_id = existing.id
                self._rewrite(line_id, line, status, reason, stamp)
            if in_psa is not None:
                figure, why = in_psa
                self._history(line_id, IN_PSA, figure, price(figure, line.rate), why, stamp)
            if existing is None or (existing.status, existing.line.quantity) != (status, line.quantity):
                self._history(line_id, status, line.quantity, line.amount, reason or "computed", stamp)
        return self._require(line.identity)

    def approve(self, identity: LineIdentity, note: str, now: datetime | None = None) -> StoredLine:
        """An operator accepts a held line's quantity: it becomes pending, and that quantity is not held again."""
        return self._decide(
            identity,
            LineStatus.PENDING,
            f"approved: {redact(note)}",
            allowed=(LineStatus.HELD,),
            refused=", not held: nothing to approve",
            also="hold_reason = NULL, approved_quantity = quantity, ",
            now=now,
        )

    def discard(self, identity: LineIdentity, note: str, now: datetime | None = None) -> StoredLine:
        """An operator decides a line not in the PSA is never pushed (e.g. one the PSA can no longer take), or that
        a correction is dealt with (billed by hand): it is no longer listed as waiting."""
        return self._decide(
            identity,
            LineStatus.DISCARDED,
            f"discarded: {redact(note)}",
            allowed=(LineStatus.PENDING, LineStatus.FAILED, LineStatus.HELD, LineStatus.CORRECTION),
            refused=": only pending, failed, held or correction lines can be discarded",
            now=now,
        )

    def _decide(
        self,
        identity: LineIdentity,
        status: LineStatus,
        note: str,
        *,
        allowed: tuple[LineStatus, ...],
        refused: str,
        also: str = "",
        now: datetime | None,
    ) -> StoredLine:
        """A person's decision on a waiting line: the new status, and its note in the line's history."""
        with self._changing(identity, now) as (stored, stamp):
            if stored.status not in allowed:
                raise StoreError(f"line {stored.id} is {stored.status}{refused}")
            self._db.execute(
                f"UPDATE line_items SET status = ?, {also}updated_at = ? WHERE id = ?",
                [status.value, stamp, stored.id],
            )
            self._history(stored.id, status, stored.line.quantity, stored.line.amount, note, stamp)
        return self._require(identity)

    def mark_pushed(self, identity: LineIdentity, psa_ref: str, now: datetime | None = None) -> None:
        """The PSA confirmed it holds the line: only now is it pushed."""
        with self._changing(identity, now) as (stored, stamp):
            self._db.execute(
                "UPDATE line_items SET status = ?, psa_ref = ?, pushed_quantity = quantity, pushed_at = ?, "
                "attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?",
                [LineStatus.PUSHED.value, masked(psa_ref), stamp, stamp, stored.id],
            )
            line = stored.line
            self._history(stored.id, LineStatus.PUSHED, line.quantity, line.amount, f"PSA {psa_ref}", stamp)

    def accept_pushed(self, identity: LineIdentity, quantity: Decimal, note: str, now: datetime | None = None) -> None:
        """The PSA's own quantity (edited there) is accepted by an operator: it counts as the one pushed."""
        with self._changing(identity, now) as (stored, stamp):
            self._db.execute(
                "UPDATE line_items SET pushed_quantity = ?, updated_at = ? WHERE id = ?",
                [str(quantity), stamp, stored.id],
            )
            self._history(stored.id, stored.status, quantity, stored.line.amount, note, stamp)

    def mark_correction(self, line: Line, reason: str, now: datetime | None = None) -> StoredLine:
        """A line of an invoiced period the invoice missed: recorded once with its quantity now (status correction,
        `reason` saying what to bill by hand), never pushed; what was pushed, and so invoiced, stays as it was."""
        with self._changing(line.identity, now) as (stored, stamp):
            self._rewrite(stored.id, line, LineStatus.CORRECTION, reason, stamp)
            self._history(stored.id, LineStatus.CORRECTION, line.quantity, line.amount, reason, stamp)
        return self._require(line.identity)

    def clear_correction(self, line: Line, note: str, now: datetime | None = None) -> StoredLine:
        """A correction whose usage is back at the quantity pushed (and so invoiced): nothing is owed, so the line is
        pushed again as it was before the correction, with `line` as computed now; the history says it cleared."""
        with self._changing(line.identity, now) as (stored, stamp):
            if stored.status is not LineStatus.CORRECTION or stored.pushed_quantity != line.quantity:
                raise StoreError(f"line {stored.id} is {stored.status}, pushed {stored.pushed_quantity}: not cleared")
            self._rewrite(stored.id, line, LineStatus.PUSHED, None, stamp)
            self._history(stored.id, LineStatus.PUSHED, line.quantity, line.amount, note, stamp)
        return self._require(line.identity)

    def mark_failed(self, identity: LineIdentity, error: str, now: datetime | None = None) -> None:
        with self._changing(identity, now) as (stored, stamp):
            self._db.execute(
                "UPDATE line_items SET status = ?, attempts = attempts + 1, last_error = ?, updated_at = ? "
                "WHERE id = ?",
                [LineStatus.FAILED.value, redact(error), stamp, stored.id],
            )
            line = stored.line
            self._history(stored.id, LineStatus.FAILED, line.quantity, line.amount, redact(error), stamp)

    def last_pushed_quantity(self, psa_customer: str, contract: str, metric: str, before_or_at: str) -> Decimal | None:
        """The quantity last pushed for this customer, contract and metric in this period or an earlier one."""
        row = self._db.row(
            "SELECT pushed_quantity FROM line_items WHERE psa_customer = ? AND contract = ? AND metric = ? "
            "AND period_key <= ? AND pushed_quantity IS NOT NULL ORDER BY period_key DESC LIMIT 1",
            [psa_customer, contract, metric, before_or_at],
        )
        return Decimal(row["pushed_quantity"]) if row else None

    def psa_figure(self, line_id: int) -> Decimal | None:
        """The latest figure the history records the PSA holding (IN_PSA) since the line's last push, or None."""
        row = self._db.row(
            "SELECT quantity FROM line_item_history WHERE line_id = ? AND status = ? AND id > "
            "COALESCE((SELECT MAX(id) FROM line_item_history WHERE line_id = ? AND status = ?), 0) "
            "ORDER BY id DESC LIMIT 1",
            [line_id, IN_PSA, line_id, LineStatus.PUSHED.value],
        )
        return Decimal(row["quantity"]) if row else None

    def history(self, identity: LineIdentity) -> list[dict[str, Any]]:
        """Every status and value the line has had, oldest first."""
        line_id = self._require(identity).id
        return self.histories([line_id])[line_id]

    def histories(self, line_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """`history` of many lines by id, in a few queries (the review of hundreds of held lines reads them all)."""
        found: dict[int, list[dict[str, Any]]] = {line_id: [] for line_id in line_ids}
        for row in self._db.rows_in(
            "SELECT line_id, at, status, quantity, amount, note FROM line_item_history WHERE line_id IN ({marks}) "
            "ORDER BY id",
            line_ids,
        ):
            found[row.pop("line_id")].append(
                row | {"quantity": Decimal(row["quantity"]), "amount": Decimal(row["amount"])}
            )
        return found

    @contextmanager
    def _changing(self, identity: LineIdentity, now: datetime | None) -> Iterator[tuple[StoredLine, str]]:
        """A staged line and the time of its change, in one transaction (StoreError for a line never staged)."""
        stamp = iso(now or utcnow())
        with self._db.transaction():
            yield self._require(identity), stamp

    def _require(self, identity: LineIdentity) -> StoredLine:
        stored = self.get(identity)
        if stored is None:
            raise StoreError(f"no staged line item {tuple(identity)}")
        return stored

    def _rewrite(self, line_id: int, line: Line, status: LineStatus, reason: str | None, stamp: str) -> None:
        """Write what was computed for a line, its status and why it is held."""
        self._db.execute(
            "UPDATE line_items SET quantity = ?, unit = ?, rate = ?, amount = ?, status = ?, inputs = ?, plan = ?, "
            "hold_reason = ?, updated_at = ? WHERE id = ?",
            [*_written(line, status, reason, stamp), line_id],
        )

    def _history(self, line_id: int, status: str, quantity: Decimal, amount: Decimal, note: str, at: str) -> None:
        self._db.execute(
            "INSERT INTO line_item_history (line_id, at, status, quantity, amount, note) VALUES (?, ?, ?, ?, ?, ?)",
            [line_id, at, str(status), str(quantity), str(amount), masked(note)],
        )
