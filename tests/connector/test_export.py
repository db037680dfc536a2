"""The export's pieces: the chart's month window, totals without discarded lines, exact money as text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from connector.export import build_export, month_window, to_csv
from connector.export_html import to_html
from connector.store import Store
from mappings.billing import price
from mappings.lines import Line, LineIdentity


def test_the_month_window_ends_with_the_periods_month_and_crosses_the_year() -> None:
    assert month_window(date(2026, 2, 28), 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert month_window(date(2026, 12, 31), 1) == ["2026-12"]


def _stage(store: Store, contract: str, quantity: str, rate: str) -> LineIdentity:
    line = Line(
        "Contoso Ltd", contract, "2026-Q4", "axcient.server_gb", quantity=Decimal(quantity), unit="GB",
        rate=Decimal(rate), amount=price(Decimal(quantity), Decimal(rate)),
    )  # fmt: skip
    return store.outbox.stage(line, None).identity


def test_a_discarded_line_is_listed_but_not_in_the_total_and_money_stays_exact() -> None:
    with Store.open(":memory:") as store:
        _stage(store, "Server backup", "600.5", "0.125")
        store.outbox.discard(_stage(store, "Old server backup", "10", "1"), "billed by hand")
        export = build_export(store, "2026-Q4", datetime(2027, 1, 2, tzinfo=UTC))
    assert [(line.contract, line.outcome) for line in export.lines] == [
        ("Old server backup", "discarded"),
        ("Server backup", "pending"),
    ]
    assert export.lines[0].why == "discarded: billed by hand"
    assert export.total == price(Decimal("600.5"), Decimal("0.125")) == Decimal("75.06")
    assert ",600.5,GB,0.125,75.06,pending," in to_csv(export)
    assert export.months == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    page = to_html(export)
    assert ">75.06</td>" in page and "discarded" in page
