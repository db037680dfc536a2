"""Read-only queries over runs, line history and the fetch ledger, for `connector status` and `connector history`."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from connector.store.database import Database


def recent_runs(database: Database, limit: int = 10) -> list[dict[str, Any]]:
    """The last runs, newest first, each with the totals its report recorded."""
    runs = database.rows(
        "SELECT id AS run_id, command, started_at, finished_at, status, summary FROM runs ORDER BY id DESC LIMIT ?",
        [limit],
    )
    for run in runs:
        data = json.loads(run.pop("summary") or "{}")
        run |= {"dry_run": bool(data.get("dry_run", False)), "totals": data.get("totals", {})}
        run |= {key: data.get(key, []) for key in ("unmapped", "problems", "strays", "sources")}
    return runs


def push_progress(database: Database) -> list[dict[str, Any]]:
    """Per period with lines still to push (pending): how many of its lines the PSA holds, and how many wait.

    A first sync of a large MSP takes several cycles when the PSA's rate limit stops a cycle early; its lines are
    staged (pending) before any push, so the outbox alone says how far it got. Discarded lines are not counted.
    """
    rows = database.execute(
        "SELECT period_key, COUNT(*), SUM(status = 'pushed'), SUM(status = 'pending'), SUM(status = 'failed'), "
        "SUM(status = 'held') FROM line_items WHERE status != 'discarded' GROUP BY period_key "
        "HAVING SUM(status = 'pending') > 0 ORDER BY period_key"
    ).fetchall()
    return [
        {"period": period, "planned": planned, "pushed": pushed, "pending": pending, "failed": failed, "held": held}
        for period, planned, pushed, pending, failed, held in rows
    ]


def latest_periods(database: Database) -> dict[tuple[str, str, str], str]:
    """Per (customer, contract, metric), the latest period a line was staged for: the period its contract carries
    now, as far as the store knows (the PSA's invoice moves it on)."""
    rows = database.execute(
        "SELECT psa_customer, contract, metric, MAX(period_key) FROM line_items GROUP BY psa_customer, contract, metric"
    ).fetchall()
    return {(customer, contract, metric): period for customer, contract, metric, period in rows}


def last_calls(database: Database) -> list[tuple[str, str, str, str | None]]:
    """Per (source, target), the last call's start and end: when the vendor last heard from us."""
    return database.execute(
        "SELECT source, target, requested_at, finished_at FROM fetches WHERE id IN "
        "(SELECT MAX(id) FROM fetches GROUP BY source, target) ORDER BY source, target"
    ).fetchall()


def line_history(database: Database, customer: str | None, period: str | None) -> list[dict[str, Any]]:
    """Every recorded change of every line (of a customer, any case; of a period), oldest first.

    `previous_quantity` is the quantity the line's history held before this row, so a person sees old and new.
    """
    # In the order each row says them; `previous_quantity` is filled in below.
    sql = (
        "SELECT h.line_id, h.at, l.psa_customer, l.contract, l.period_key AS period, l.metric, h.status, "
        "NULL AS previous_quantity, h.quantity, l.unit, h.amount, h.note "
        "FROM line_item_history h JOIN line_items l ON l.id = h.line_id WHERE 1 = 1"
    )
    params: list[Any] = []
    if customer is not None:
        sql, params = sql + " AND l.psa_customer = ? COLLATE NOCASE", [*params, customer]
    if period is not None:
        sql, params = sql + " AND l.period_key = ?", [*params, period]
    previous: dict[int, Decimal] = {}
    found = database.rows(sql + " ORDER BY h.id", params)
    for row in found:
        row |= {"previous_quantity": previous.get(row["line_id"]), "amount": Decimal(row["amount"])}
        row["quantity"] = previous[row["line_id"]] = Decimal(row["quantity"])
    return found
