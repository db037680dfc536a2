"""`sync --period KEY` for an invoiced period is a dry comparison: it says which corrections a sync would record, with
their amounts, ends as that sync would (held when one is found), and writes nothing to the outbox or the PSA."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connector.store import Store
from mappings.lines import LineIdentity
from tests.connector.test_engine import World
from tests.connector.test_invoice_detection import (
    M365_NOV,
    NOVEMBER,
    InvoicingFakeSink,
    at,
    late_november,
    november,
    world,
)

EVERY_CONTRACT = [("Contoso Ltd", "M365 backup"), ("Contoso Ltd", "Server backup"), ("Fabrikam Inc", "M365 backup")]


def outbox_state(store: Store) -> list[tuple[Any, ...]]:
    """Every line's status and quantity, and the length of its history: what a comparison must leave as it was."""
    return [
        (s.identity, s.status, s.line.quantity, s.pushed_quantity, s.hold_reason, len(store.outbox.history(s.identity)))
        for s in store.outbox.lines()
    ]


def invoiced_november() -> tuple[World, InvoicingFakeSink]:
    """November polled, pushed and invoiced for every contract; December moved in on the 3rd."""
    w, sink = world()
    november(w, 12)
    sink.invoices = {key: {NOVEMBER} for key in EVERY_CONTRACT}
    at(w, datetime(2026, 12, 3, 12, tzinfo=UTC))
    return w, sink


def test_an_invoiced_period_asked_for_is_compared_and_nothing_is_written() -> None:
    w, _ = invoiced_november()
    w.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(13)}
    w.engine().run(push=False)  # December's changed line waits in the outbox: the comparison must not push it
    late_november(w, 15)  # then November reads 15 Contoso users; its invoice read 12
    december = LineIdentity("Contoso Ltd", "M365 backup", "2026-12", "altaro.billed_users")
    waiting = w.store.outbox.get(december)
    assert waiting is not None and waiting.status == "pending"
    before, writes = outbox_state(w.store), len(w.sink.pushed)

    w.now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    report = w.engine().run(period_key="2026-11")
    (correction,) = [line for line in report.lines if line.outcome == "correction"]
    assert correction.identity == M365_NOV and "bill +10.50 by hand" in correction.reason  # 3 users x 3.50
    assert {line.identity.period_key for line in report.lines} == {"2026-11"}
    assert report.dry_run and report.status == "held" and report.exit_code == 5
    assert outbox_state(w.store) == before  # no correction recorded, no status changed
    assert len(w.sink.pushed) == writes  # and nothing written to the PSA, December's pending line included

    # A sync records it afterwards: the comparison had not.
    (recorded,) = [line for line in at(w, datetime(2026, 12, 4, 13, tzinfo=UTC)).lines if line.identity == M365_NOV]
    assert recorded.outcome == "correction"


def test_a_comparison_that_finds_no_difference_ends_ok() -> None:
    w, _ = invoiced_november()
    before, writes = outbox_state(w.store), len(w.sink.pushed)
    w.now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    report = w.engine().run(period_key="2026-11")
    assert [line for line in report.lines if line.outcome == "correction"] == []
    assert report.dry_run and report.status == "ok" and report.exit_code == 0
    assert outbox_state(w.store) == before and len(w.sink.pushed) == writes


def test_a_comparison_leaves_a_recorded_correction_as_it_was() -> None:
    w, _ = invoiced_november()
    late_november(w, 15)
    at(w, datetime(2026, 12, 4, 12, tzinfo=UTC))  # recorded
    before = outbox_state(w.store)
    w.now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    report = w.engine().run(period_key="2026-11")
    assert report.dry_run and outbox_state(w.store) == before
    assert [line.outcome for line in report.lines if line.identity == M365_NOV] == []  # recorded already: no news
