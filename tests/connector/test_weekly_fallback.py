"""A weekly contract through a sync: its ended week stays on it until Atera shows the week's invoice or
[billing] invoice_after_days pass, not from the moment the week ends (a day of the month cannot date a week)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from connector.wiring import settings_from_data
from tests.connector.test_engine import World
from tests.connector.test_invoice_detection import InvoicingFakeSink, at


def weekly_world(after_days: int) -> tuple[World, InvoicingFakeSink]:
    config = settings_from_data(
        {
            "billing": {"timezone": "Pacific/Kiritimati", "invoice_after_days": after_days},
            "customers": [
                {
                    "psa_customer": "Contoso Ltd",
                    "altaro_customer": "Contoso",
                    "lines": [
                        {
                            "metric": "altaro.billed_users",
                            "contract": "M365 backup",
                            "rate": "3.50",
                            "billing_period": "Weekly",
                        }
                    ],
                }
            ],
        }
    )
    w = World(config)
    w.altaro.usage = {"Contoso": {"altaro.billed_users": Decimal(12)}}
    w.axcient.usage = {}
    sink = InvoicingFakeSink()
    w.sink = sink
    return w, sink


def billed(report: object) -> list[str]:
    return [line.identity.period_key for line in getattr(report, "lines", [])]


def test_a_weekly_contract_moves_on_after_invoice_after_days_in_the_msp_zone() -> None:
    w, sink = weekly_world(after_days=3)
    for day in range(23, 30):  # W48 (Monday 23 to Sunday 29 November) polled daily, 19:00 in Kiritimati (UTC+14)
        assert billed(at(w, datetime(2026, 11, day, 5, tzinfo=UTC))) == ["2026-W48"]
    # Wednesday 2 December, 23:59 in Kiritimati: W48 still waits for its invoice, which the sync asks Atera about.
    assert billed(at(w, datetime(2026, 12, 2, 9, 59, tzinfo=UTC))) == ["2026-W48"]
    assert sink.reads and sink.reads[-1][0] == date(2026, 11, 23)
    # Thursday 3 December there: three days have passed since W48 ended, so the contract bills W49.
    reads = len(sink.reads)
    assert billed(at(w, datetime(2026, 12, 2, 10, 0, tzinfo=UTC))) == ["2026-W49"]
    assert len(sink.reads) == reads  # nothing left for an invoice to decide: no read spent


def test_a_weekly_contract_moves_on_as_soon_as_the_weeks_invoice_shows() -> None:
    w, sink = weekly_world(after_days=6)
    for day in range(23, 30):
        at(w, datetime(2026, 11, day, 5, tzinfo=UTC))
    assert billed(at(w, datetime(2026, 11, 30, 22, tzinfo=UTC))) == ["2026-W48"]  # Tuesday 1 December there
    sink.invoices = {("Contoso Ltd", "M365 backup"): {date(2026, 11, 23)}}
    assert billed(at(w, datetime(2026, 12, 1, 22, tzinfo=UTC))) == ["2026-W49"]
