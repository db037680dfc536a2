"""The export's pieces: the chart's month window, totals without discarded lines, exact money as text."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

from connector.operations.export import build_export, month_window, to_csv
from connector.operations.export_html import to_html
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
    assert ",600.5,GB,0.125,75.06,0,pending," in to_csv(export)
    assert export.months == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    page = to_html(export)
    assert ">75.06</td>" in page and "discarded" in page


def test_a_correction_closed_by_hand_shows_what_atera_invoiced_and_apart_what_was_billed_by_hand() -> None:
    with Store.open(":memory:") as store:
        invoiced = _stage(store, "Server backup", "600", "0.12")
        store.outbox.mark_pushed(invoiced, "contract/101")
        risen = store.outbox.get(invoiced)
        assert risen is not None
        # After the invoice, usage rose to 650: a correction of +6.00, billed by hand, then closed.
        line = dataclasses.replace(risen.line, quantity=Decimal(650), amount=price(Decimal(650), Decimal("0.12")))
        store.outbox.mark_correction(line, "bill +6.00 by hand")
        store.outbox.discard(invoiced, "billed by hand on invoice 2041")
        pending = _stage(store, "Workstation backup", "3", "4")
        export = build_export(store, "2026-Q4", datetime(2027, 1, 2, tzinfo=UTC))
    by_contract = {line.contract: line for line in export.lines}
    server = by_contract["Server backup"]
    # The row says what went through Atera (600 x 0.12), and apart what was billed by hand: never one or the other.
    assert (server.quantity, server.amount, server.by_hand) == (Decimal(600), Decimal("72.00"), Decimal("6.00"))
    assert "650" in server.why and "by hand" in server.why
    assert by_contract["Workstation backup"].amount == Decimal("12.00") and pending
    assert (export.total, export.by_hand_total) == (Decimal("84.00"), Decimal("6.00"))
    assert ",600,GB,0.12,72.00,6.00,discarded," in to_csv(export)
    page = to_html(export)
    assert ">84.00</td>" in page and ">6.00</td>" in page


def test_a_line_discarded_after_a_push_still_counts_what_atera_holds() -> None:
    with Store.open(":memory:") as store:
        identity = _stage(store, "Server backup", "600", "0.12")
        store.outbox.mark_pushed(identity, "contract/101")
        stored = store.outbox.get(identity)
        assert stored is not None
        store.outbox.stage(dataclasses.replace(stored.line, quantity=Decimal(900), amount=Decimal("108.00")), "jump")
        store.outbox.discard(identity, "a bad report: not billed")
        export = build_export(store, "2026-Q4", datetime(2027, 1, 2, tzinfo=UTC))
    (line,) = export.lines
    assert (line.quantity, line.amount, line.by_hand, export.total) == (
        Decimal(600),
        Decimal("72.00"),
        0,
        Decimal("72.00"),
    )
