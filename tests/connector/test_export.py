"""The export's pieces: the chart's month window, totals without discarded lines, exact money as text."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

from connector.core.redact import MASK, register_secret
from connector.operations.export import build_export, month_window, to_csv
from connector.operations.export_html import to_html
from connector.store import Store
from mappings.billing import price
from mappings.lines import Line, LineIdentity
from mappings.measure import Observation


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


def _closed_correction(store: Store, usage_now: int, note: str) -> None:
    """600 GB of server backup at 0.12 pushed and invoiced; usage since at `usage_now`, settled by hand and closed."""
    invoiced = _stage(store, "Server backup", "600", "0.12")
    store.outbox.mark_pushed(invoiced, "contract/101")
    pushed = store.outbox.get(invoiced)
    assert pushed is not None
    now = Decimal(usage_now)
    store.outbox.mark_correction(
        dataclasses.replace(pushed.line, quantity=now, amount=price(now, Decimal("0.12"))), note
    )
    store.outbox.discard(invoiced, "settled by hand on invoice 2041")


def test_a_correction_closed_by_hand_shows_what_atera_invoiced_and_apart_what_was_billed_by_hand() -> None:
    with Store.open(":memory:") as store:
        # After the invoice, usage rose to 650: a correction of +6.00, billed by hand, then closed.
        _closed_correction(store, 650, "bill +6.00 by hand")
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


def test_a_credit_billed_by_hand_is_a_number_in_the_csv_not_a_quoted_formula() -> None:
    with Store.open(":memory:") as store:
        # After the invoice, usage fell to 550: a credit of -6.00, given by hand, then closed.
        _closed_correction(store, 550, "credit -6.00 by hand")
        export = build_export(store, "2026-Q4", datetime(2027, 1, 2, tzinfo=UTC))
    (server,) = export.lines
    assert server.by_hand == Decimal("-6.00")
    assert ",600,GB,0.12,72.00,-6.00,discarded," in to_csv(export)


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


def _measured_line(
    store: Store, customer: str, vendor: str, quantity: str, metric: str = "altaro.billed_users"
) -> None:
    line = Line(
        customer, "Backup (per user)", "2026-12", metric, quantity=Decimal(quantity), unit="user",
        rate=Decimal("2"), amount=price(Decimal(quantity), Decimal("2")),
        inputs={"source": "altaro", "vendor_customer": vendor, "product": "all", "rule": "peak", "observations": {}},
    )  # fmt: skip
    store.outbox.stage(line, None)


def _observe(store: Store, vendor: str, month: str, quantity: str, *, day: int = 15, product: str = "") -> None:
    store.observations.record(
        [
            Observation(
                source="altaro", vendor_customer=vendor, metric="altaro.billed_users", period_key=month,
                quantity=Decimal(quantity), unit="user", observed_at=datetime(2026, int(month[5:]), day, tzinfo=UTC),
                complete=True, inputs={"why": "the test"}, product=product,
            )
        ]
    )  # fmt: skip


def test_the_charts_read_in_one_query_peak_as_each_line_s_own_query_did() -> None:
    """Each line's monthly peaks, read with the whole period's observations at once, are what the line's own query
    (`Observations.query`, vendor customer in any ASCII case, product "" for every product's total) gives."""
    with Store.open(":memory:") as store:
        _measured_line(store, "Contoso Ltd", "Contoso", "12")
        _measured_line(store, "Fabrikam Inc", "fabrikam", "8")
        _measured_line(store, "No Usage Ltd", "Nobody", "1")
        for vendor, month, quantity, day in (
            ("Contoso", "2026-10", "9", 3), ("CONTOSO", "2026-10", "11", 20), ("contoso", "2026-12", "12", 2),
            ("Fabrikam", "2026-11", "7", 5), ("Fabrikam", "2026-11", "8", 6), ("Fabrikam", "2026-04", "99", 6),
        ):  # fmt: skip
            _observe(store, vendor, month, quantity, day=day)
        _observe(store, "Contoso", "2026-12", "500", product="Another plan")  # not every product's total
        export = build_export(store, "2026-12", datetime(2027, 1, 2, tzinfo=UTC))
        charts = {customer.psa_customer: customer.usage for customer in export.customers}
        for stored in store.outbox.lines():
            vendor = stored.line.inputs["vendor_customer"]
            peaks: dict[str, Decimal] = {}
            for found in store.observations.query("altaro", vendor_customer=vendor, metric="altaro.billed_users",
                                                  product=""):  # fmt: skip
                peaks[found.period_key[:7]] = max(found.quantity, peaks.get(found.period_key[:7], found.quantity))
            (series,) = charts[stored.line.psa_customer]
            assert series.points == [(month, peaks.get(month)) for month in export.months], stored.line.psa_customer
    assert dict(charts["Contoso Ltd"][0].points)["2026-10"] == Decimal(11)
    assert dict(charts["Fabrikam Inc"][0].points)["2026-11"] == Decimal(8)
    assert all(value is None for _, value in charts["No Usage Ltd"][0].points)


def test_every_cell_is_redacted_even_a_secret_registered_after_the_line_was_stored() -> None:
    secret = "tok-4f1c9e2ab7d3-export-test"
    with Store.open(":memory:") as store:
        _measured_line(store, f"Contoso {secret}", f"vendor {secret}", "3")
        _measured_line(store, f"Fabrikam {secret}", f"vendor {secret}", "4")
        register_secret(secret)  # a key the process learnt since: the store holds it in clear text
        export = build_export(store, "2026-12", datetime(2027, 1, 2, tzinfo=UTC))
    text, page = to_csv(export), to_html(export)
    assert secret not in text and secret not in page
    assert text.count(f"Contoso {MASK}") == 1 and text.count(f"vendor {MASK}") == 2
    assert f"Fabrikam {MASK}" in page and f"altaro: vendor {MASK}" in page


def test_above_the_threshold_the_html_leaves_the_charts_out_and_says_where_one_customer_s_is() -> None:
    with Store.open(":memory:") as store:
        for number in range(3):
            _measured_line(store, f"Customer {number}", "Contoso", str(number + 1))
        _observe(store, "Contoso", "2026-12", "3")
        export = build_export(store, "2026-12", datetime(2027, 1, 2, tzinfo=UTC))
    drawn, left_out = to_html(export, charts_up_to=3), to_html(export, charts_up_to=2)
    assert drawn.count("<svg") == 3 and 'id="charts-left-out"' not in drawn and "Charts show the peak usage" in drawn
    assert "<svg" not in left_out and 'id="charts-left-out"' in left_out
    assert "this export holds 3 lines, more than 2" in left_out and "Customer page" in left_out
    # Everything else is the same page: the tables, the totals.
    assert left_out.count("<tr>") == drawn.count("<tr>") and to_html(export) == drawn  # 3 lines: under 200
