"""Retention: observations and report bodies of billing periods long closed are dropped, never a line or its history.

`[store] keep_periods = N` keeps the open period and the N closed ones before it, for every billing period kind a
mapped line uses. What may go is older than all of them, and older than every line still waiting (pending, held or
failed), whatever its period. Lines, their history, runs, the audit trail and the fetch ledger's rows are kept: they
are the record of what was billed. A fetch keeps its time, outcome and hash; only its body goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from connector.store.database import Database, chunks, iso
from connector.store.explanations import Explanations
from connector.store.ledger import FORGET_UNKEPT, HAS_PAYLOAD
from mappings.calendar import BillingCalendar
from mappings.enums import BillingPeriod
from mappings.lines import LineStatus
from mappings.periods import CALENDAR_KINDS, parse_period_key, period_containing

# A vendor's month (YYYY-MM) is a period key SQLite can compare as text.
_MONTH_KEY = "period_key GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'"


@dataclass(frozen=True)
class Pruned:
    """What one pruning dropped: what only periods before `before` (the first day kept) could use."""

    before: date
    observations: int
    payloads: int

    def to_data(self) -> dict[str, object]:
        return {"before": self.before.isoformat(), "observations": self.observations, "payloads": self.payloads}


def first_day_kept(
    calendar: BillingCalendar, kinds: Iterable[BillingPeriod], keep: int, waiting: Iterable[str], now: datetime
) -> date | None:
    """The first day whose data must stay, or None when nothing may be dropped.

    `kinds`: the billing period kinds of the mapped lines; `waiting`: the period keys of lines not yet settled.
    Without an invoice to go by, a period counts as invoiced only once the calendar's fallback day has passed, which
    is never earlier than the PSA's invoices would say: the open period found here is never later than the engine's.
    """
    kinds = set(kinds)
    if not kinds or not kinds <= set(CALENDAR_KINDS):
        return None  # no line, or a period no calendar bounds (on demand): nothing is known to be closed
    starts = []
    for kind in kinds:
        period = calendar.open_period(kind, now)
        for _ in range(keep):
            period = period_containing(kind, period.start - timedelta(days=1))
        starts.append(period.start)
    for key in waiting:
        try:
            starts.append(parse_period_key(key).start)
        except ValueError:
            return None  # a waiting line of a period this connector cannot place: keep everything
    return min(starts)


def prune(database: Database, first_kept: date) -> Pruned:
    """Drop observations and report bodies that only periods before `first_kept` could use.

    A vendor's month (vendors key them in UTC) goes once it ends before the first kept day: the engine counts a
    month only in billing periods it overlaps, by date. Any other row goes once last seen (a body, once fetched)
    before the day before it, in UTC: a day of margin for an MSP's zone whose day starts before or after UTC's.
    """
    moment = datetime.combine(first_kept - timedelta(days=1), time(), tzinfo=UTC)
    with database.transaction():
        doomed = _rows_before(database, first_kept.strftime("%Y-%m"), iso(moment))
        for chunk, marks in chunks(doomed):
            database.execute(f"DELETE FROM observation_repeats WHERE row_id IN ({marks})", chunk)
            database.execute(f"DELETE FROM observation_rows WHERE id IN ({marks})", chunk)
        if doomed:  # what only those rows used; checked only then, as it reads every row and repeat
            database.execute(
                "DELETE FROM observation_series WHERE NOT EXISTS "
                "(SELECT 1 FROM observation_rows WHERE series_id = observation_series.id)"
            )
            Explanations(database).forget_unused()
        payloads = database.execute(
            f"UPDATE fetches SET payload = NULL, payload_kept = 0 WHERE requested_at < ? AND {HAS_PAYLOAD}",
            [iso(moment)],
        ).rowcount
        database.execute(FORGET_UNKEPT)
    return Pruned(first_kept, len(doomed), payloads)


def _rows_before(database: Database, month: str, moment: str) -> list[int]:
    """The rows (each with its repeats) to drop: of a vendor month before `month`, or of another vendor period and
    last seen before `moment`. Every sync asks, so a month's rows are found by their series without reading them."""
    query = (
        "SELECT r.id FROM observation_series s JOIN observation_rows r ON r.series_id = s.id "
        f"WHERE s.{_MONTH_KEY} AND s.period_key < ? "
        "UNION ALL SELECT r.id FROM observation_series s JOIN observation_rows r ON r.series_id = s.id "
        f"WHERE NOT s.{_MONTH_KEY} AND NOT EXISTS "
        "(SELECT 1 FROM observations o WHERE o.id = r.id AND o.observed_at >= ?)"
    )
    return [int(row["id"]) for row in database.rows(query, [month, moment])]


def waiting_periods(database: Database) -> list[str]:
    """The period keys of lines not yet settled (pending, held, failed): their inputs must stay."""
    waiting = (LineStatus.PENDING.value, LineStatus.HELD.value, LineStatus.FAILED.value)
    rows = database.execute("SELECT DISTINCT period_key FROM line_items WHERE status IN (?, ?, ?)", waiting)
    return [key for (key,) in rows]
