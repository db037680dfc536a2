"""A recorded correction lives until it is billed or goes away: usage back at the invoiced quantity clears it (the
line is pushed again in the outbox, the history says it cleared, review and reconcile stop listing it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from connector.store import Store
from connector.sync import corrections
from connector.wiring import settings_from_data
from mappings.lines import LineStatus
from tests.connector.test_engine import World
from tests.connector.test_invoice_detection import (
    M365_NOV,
    NOVEMBER,
    InvoicingFakeSink,
    at,
    late_november,
    november,
)


def last_measure_world(store_path: Path | None = None) -> tuple[World, InvoicingFakeSink]:
    """Contoso's M365 line bills the month's last observation, so a late figure can go down as well as up; the store
    in memory, or in a file another process (the CLI) can read."""
    config = settings_from_data(
        {
            "customers": [
                {
                    "psa_customer": "Contoso Ltd",
                    "altaro_customer": "Contoso",
                    "lines": [
                        {"metric": "altaro.billed_users", "contract": "M365 backup", "rate": "3.50", "measure": "last"}
                    ],
                },
            ],
        }
    )
    w = World(config)
    if store_path is not None:
        w.store = w.altaro.store = w.axcient.store = Store.open(store_path)
    del w.altaro.usage["Fabrikam"]
    w.axcient.usage = {}
    sink = InvoicingFakeSink()
    w.sink = sink
    return w, sink


def invoiced_november_with_a_correction(store_path: Path | None = None) -> tuple[World, InvoicingFakeSink]:
    w, sink = last_measure_world(store_path)
    november(w, 12)
    sink.invoices = {("Contoso Ltd", "M365 backup"): {NOVEMBER}}
    at(w, datetime(2026, 12, 3, 12, tzinfo=UTC))
    late_november(w, 15)
    report = at(w, datetime(2026, 12, 4, 12, tzinfo=UTC))
    assert [line.outcome for line in report.lines if line.identity == M365_NOV] == ["correction"]
    return w, sink


def m365_nov(report: Any) -> list[Any]:
    return [line for line in report.lines if line.identity == M365_NOV]


def test_a_correction_whose_usage_returns_to_the_invoiced_quantity_is_cleared() -> None:
    w, _ = invoiced_november_with_a_correction()
    writes = len(w.sink.pushed)
    late_november(w, 12)  # the late figure is withdrawn: November is back at what its invoice read

    report = at(w, datetime(2026, 12, 5, 12, tzinfo=UTC))
    (cleared,) = m365_nov(report)
    assert cleared.outcome == "unchanged" and "correction cleared" in cleared.reason
    assert "bill" not in cleared.reason and report.status == "ok"
    stored = w.store.outbox.get(M365_NOV)
    assert stored is not None and stored.status is LineStatus.PUSHED
    assert (stored.line.quantity, stored.pushed_quantity, stored.hold_reason) == (Decimal(12), Decimal(12), None)
    assert len(w.sink.pushed) == writes  # nothing pushed: the contract moved on, and the invoice read 12 anyway
    history = w.store.outbox.history(M365_NOV)
    assert [(h["status"], h["quantity"]) for h in history[-2:]] == [("correction", 15), ("pushed", 12)]
    assert "correction cleared" in history[-1]["note"]
    # Review and reconcile list corrections from the store: none is left; reconcile checks it as pushed again.
    assert corrections.recorded(w.store) == [] and corrections.recorded(w.store, "2026-11") == []
    (as_pushed,) = [s for s in corrections.pushed_lines(w.store, "2026-11") if s.identity == M365_NOV]
    assert as_pushed.status is LineStatus.PUSHED and as_pushed.line.quantity == Decimal(12)

    # Not news again; a later rise is a correction once more, against what was invoiced.
    assert m365_nov(at(w, datetime(2026, 12, 6, 12, tzinfo=UTC))) == []
    late_november(w, 14)
    (again,) = m365_nov(at(w, datetime(2026, 12, 7, 12, tzinfo=UTC)))
    assert again.outcome == "correction" and "bill +7.00 by hand" in again.reason


def test_a_dry_run_says_the_correction_would_clear_and_changes_nothing() -> None:
    w, _ = invoiced_november_with_a_correction()
    late_november(w, 12)
    w.now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    (line,) = m365_nov(w.engine().run(dry_run=True))
    assert line.outcome == "unchanged" and "correction cleared" in line.reason
    stored = w.store.outbox.get(M365_NOV)
    assert stored is not None and stored.status is LineStatus.CORRECTION and stored.line.quantity == Decimal(15)


def test_a_correction_that_moves_but_not_back_to_the_invoice_stays_a_correction() -> None:
    w, _ = invoiced_november_with_a_correction()
    late_november(w, 13)
    (line,) = m365_nov(at(w, datetime(2026, 12, 5, 12, tzinfo=UTC)))
    assert line.outcome == "correction" and "bill +3.50 by hand" in line.reason
    (stored,) = corrections.recorded(w.store)
    assert stored.line.quantity == Decimal(13)
