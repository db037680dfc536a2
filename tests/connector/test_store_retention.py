"""Retention: `[store] keep_periods` drops observations and report bodies of long-closed periods, never a line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connector.interfaces.ledger import FetchReserved
from connector.operations.run import retain
from connector.store import Store
from connector.store.retention import first_day_kept, waiting_periods
from connector.wiring import settings_from_data
from mappings.calendar import BillingCalendar, Mode
from mappings.enums import BillingPeriod
from mappings.lines import Line, LineIdentity
from mappings.measure import Observation

CALENDAR = BillingCalendar(Mode.ARREARS, "UTC", invoice_day=5)
MONTHLY = [BillingPeriod.MONTHLY]
# The 15th of December: November was invoiced on the 5th, so December is the open period.
NOW = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "keep", "first"),
    [
        (NOW, 1, date(2026, 11, 1)),  # December open, November the one closed period kept
        (NOW, 3, date(2026, 9, 1)),
        (datetime(2026, 12, 3, tzinfo=UTC), 1, date(2026, 10, 1)),  # November not invoiced yet: it is open
    ],
)
def test_the_open_period_and_n_closed_ones_are_kept(now: datetime, keep: int, first: date) -> None:
    assert first_day_kept(CALENDAR, MONTHLY, keep, [], now) == first


def test_every_kind_in_use_and_every_waiting_line_keeps_its_period() -> None:
    quarterly = [BillingPeriod.MONTHLY, BillingPeriod.QUARTERLY]
    assert first_day_kept(CALENDAR, quarterly, 1, [], NOW) == date(2026, 7, 1)  # Q3, closed before Q4
    assert first_day_kept(CALENDAR, MONTHLY, 1, ["2026-06", "2026-W40"], NOW) == date(2026, 6, 1)


def test_nothing_is_dropped_when_no_period_is_known_closed() -> None:
    assert first_day_kept(CALENDAR, [], 1, [], NOW) is None  # no line mapped
    assert first_day_kept(CALENDAR, [BillingPeriod.ON_DEMAND], 1, [], NOW) is None
    assert first_day_kept(CALENDAR, MONTHLY, 1, ["not a period"], NOW) is None


def observe(store: Store, month: str, at: datetime, **inputs: Any) -> None:
    store.observations.record(
        [
            Observation(
                "altaro", "Contoso", "altaro.billed_users", month, Decimal(3), "user", at, True, {"metric": inputs}
            )
        ]
    )


def fetch(store: Store, at: datetime, body: bytes) -> None:
    call = store.ledger.reserve("altaro", "link", timedelta(minutes=5), now=at)
    assert isinstance(call, FetchReserved)
    store.ledger.complete(call.fetch_id, "ok", payload=body, now=at)


def line(period_key: str) -> Line:
    identity = LineIdentity("Contoso Ltd", "M365 backup", period_key, "altaro.billed_users")
    return Line(*identity, quantity=Decimal(3), unit="user", rate=Decimal("3.50"), amount=Decimal("10.50"))


def a_year_of_history(store: Store) -> None:
    """Observations and one report a month from January to December; every line pushed but June's, still held."""
    for month in range(1, 13):
        key, at = f"2026-{month:02d}", datetime(2026, month, 20, tzinfo=UTC)
        observe(store, key, at, objects=[f"user{month}"], rule="shared by every month")
        # The next day, the same quantity from another call: a repeat of that row, with its own explanation.
        observe(store, key, at + timedelta(days=1), objects=[f"user{month}"], rule="shared by every month", call=month)
        fetch(store, at, f"report {month}".encode())
        store.outbox.stage(line(key), "held for review" if month == 6 else None, now=at)
        if month != 6:
            store.outbox.mark_pushed(line(key).identity, f"contract:{month}", now=at)


def test_a_sync_drops_only_what_no_kept_or_waiting_period_uses() -> None:
    store = Store.open(":memory:")
    a_year_of_history(store)
    assert waiting_periods(store.database) == ["2026-06"]
    first = first_day_kept(CALENDAR, MONTHLY, 1, waiting_periods(store.database), NOW)
    assert first == date(2026, 6, 1)
    pruned = store.prune(first, NOW)
    assert (pruned.observations, pruned.payloads) == (5, 5)
    kept = store.observations.query("altaro")
    assert [o.period_key for o in kept] == [f"2026-{m:02d}" for m in range(6, 13) for _ in range(2)]
    assert kept[0].inputs == {"metric": {"objects": ["user6"], "rule": "shared by every month"}}
    assert kept[1].inputs == {"metric": {"call": 6, "objects": ["user6"], "rule": "shared by every month"}}
    # Lines, their history and the ledger's rows stay: they are the record of what was billed.
    assert len(store.outbox.lines()) == 12 and len(store.outbox.history(line("2026-01").identity)) >= 1
    rows = store.db.execute("SELECT payload_kept FROM fetches ORDER BY id").fetchall()
    assert [kept for (kept,) in rows] == [0] * 5 + [1] * 7
    assert store.db.execute("SELECT COUNT(*) FROM payloads").fetchone()[0] == 7
    # The explanations only January to May used are gone: June to December's rows and repeats keep two each.
    ids = [row["id"] for row in store.db.query("SELECT id FROM explanations")]
    texts = store.observations.explanations.texts(ids).values()
    assert len(ids) == 14 and not any('"user1"' in text for text in texts)
    (event,) = [e for e in store.runs.audit_events() if e["event"] == "prune"]
    assert event["details"] == {"before": "2026-06-01", "observations": 5, "payloads": 5}
    assert store.prune(first, NOW).observations == 0  # nothing more to drop, and no second audit event
    assert len([e for e in store.runs.audit_events() if e["event"] == "prune"]) == 1


def test_a_vendor_month_goes_when_it_ends_before_the_first_kept_day_other_rows_a_day_later() -> None:
    store = Store.open(":memory:")
    observe(store, "2026-10", datetime(2026, 11, 2, tzinfo=UTC))  # October, seen in November: ended before
    observe(store, "2026-11", datetime(2026, 11, 2, tzinfo=UTC))
    observe(store, "2026-10-01..2026-10-30", datetime(2026, 10, 30, 23, tzinfo=UTC))
    observe(store, "2026-10-31..2026-11-30", datetime(2026, 10, 31, 1, tzinfo=UTC))  # the eve, in UTC
    assert store.prune(date(2026, 11, 1)).observations == 2
    kept = [o.period_key for o in store.observations.query("altaro")]
    assert kept == ["2026-11", "2026-10-31..2026-11-30"]


def settings(**store: Any) -> Any:
    return settings_from_data(
        {
            "store": {"path": ":memory:", **store},
            "billing": {"invoice_day": 5},
            "customers": [
                {
                    "psa_customer": "Contoso Ltd",
                    "altaro_customer": "Contoso",
                    "lines": [{"metric": "altaro.billed_users", "contract": "M365 backup", "rate": "3.50"}],
                }
            ],
        }
    )


def test_retention_follows_the_setting_and_keeps_13_closed_periods_unless_told() -> None:
    store = Store.open(":memory:")
    a_year_of_history(store)
    for month in (10, 11):
        observe(store, f"2025-{month}", datetime(2025, month, 20, tzinfo=UTC))
    retain(settings(), store, NOW)  # December open: November 2025 is the 13th closed period before it
    periods = [o.period_key for o in store.observations.query("altaro")]
    assert len(periods) == 25 and "2025-11" in periods and "2025-10" not in periods
    retain(settings(keep_periods=2), store, NOW)
    assert store.observations.query("altaro")[0].period_key == "2026-06"  # June's line still waits
    store.outbox.approve(line("2026-06").identity, "checked")
    store.outbox.mark_pushed(line("2026-06").identity, "contract:6", now=NOW)
    retain(settings(keep_periods=2), store, NOW)
    assert store.observations.query("altaro")[0].period_key == "2026-10"


def test_a_template_s_billing_period_keeps_what_its_open_period_needs() -> None:
    """An `auto_match` template billing by quarter: its open quarter's observations stay, though every explicit line
    bills by month (retention used to look at the explicit lines' periods only)."""
    data = settings(keep_periods=1).model_dump(mode="json", exclude_defaults=True)
    quarterly = {"metric": "altaro.billed_users", "contract": "Backup", "rate": "1", "billing_period": "Quarterly"}
    data["mapping"] = {"templates": {"altaro": [quarterly]}}
    store = Store.open(":memory:")
    observe(store, "2026-10", datetime(2026, 10, 2, tzinfo=UTC))  # early in Q4, the open quarter on 15 December
    retain(settings_from_data(data), store, NOW)
    assert [o.period_key for o in store.observations.query("altaro")] == ["2026-10"]
