"""Invoiced means Atera shows the period's invoice for the contract (the fallback day only if it never does), and a
correction is recorded once: reported by the run that finds it, listed from the store, never pushed."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector import operations
from connector.core.errors import Status, VendorError
from connector.interfaces.deferral import InvoicesCutShort
from connector.interfaces.psa import InvoicingSink
from connector.interfaces.usage import CustomerUsage
from connector.sync import corrections
from mappings.calendar import BillingCalendar, Mode
from mappings.enums import BillingPeriod
from mappings.lines import LineIdentity, LineStatus
from mappings.periods import parse_period_key
from mappings.truth import ContractRef
from tests.connector.test_engine import FakeSink, World, settings

NOVEMBER = date(2026, 11, 1)
M365_NOV = LineIdentity("Contoso Ltd", "M365 backup", "2026-11", "altaro.billed_users")
CONTRACTS = [("Contoso Ltd", "M365 backup"), ("Contoso Ltd", "Server backup"), ("Fabrikam Inc", "M365 backup")]


class InvoicingFakeSink(FakeSink):
    """A PSA whose invoices the test sets: per (customer, contract), the first days of the periods invoiced."""

    psa_title = "the fake PSA"

    def __init__(self) -> None:
        super().__init__()
        self.invoices: dict[tuple[str, str], set[date]] = {}
        self.reads: list[tuple[date, date]] = []
        self.wanted: list[dict[tuple[str, str], set[date]]] = []
        self.down = False
        # Reads stopped by the request budget find only these contracts' invoices.
        self.cut_short: set[tuple[str, str]] | None = None

    def invoiced_periods(
        self, wanted: Mapping[ContractRef, Collection[date]], first: date, last: date
    ) -> dict[ContractRef, set[date]]:
        self.reads.append((first, last))
        self.wanted.append({(ref.psa_customer, ref.contract): set(days) for ref, days in wanted.items()})
        if self.down:
            raise VendorError("fake", "HTTP 503 after 5 attempts")
        found = {ref: self.invoices.get((ref.psa_customer, ref.contract), set()) for ref in wanted}
        if self.cut_short is not None:
            partial = {
                ref: days if (ref.psa_customer, ref.contract) in self.cut_short else set()
                for ref, days in found.items()
            }
            raise InvoicesCutShort(
                "the fake PSA: read stopped at 5 requests, half of what requests_per_run left", partial
            )
        return found


def world(**billing: Any) -> tuple[World, InvoicingFakeSink]:
    w = World(settings(billing=billing))
    sink = InvoicingFakeSink()
    w.sink = sink
    return w, sink


def at(w: World, when: datetime, users: int | None = None) -> Any:
    w.now = when
    if users is not None:
        w.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(users)}
    return w.engine().run()


def november(w: World, users: int = 12) -> None:
    """Polled every day of November: nothing of it is partial."""
    for day in range(1, 31):
        at(w, datetime(2026, 11, day, 12, tzinfo=UTC), users)


def late_november(w: World, users: int) -> None:
    """The vendor's report still lists November, now with `users` for Contoso (a row seen after the month)."""
    late = CustomerUsage("altaro", "Contoso", "2026-11")
    late.quantities[("altaro.billed_users", "")] = Decimal(users)
    w.altaro.extra = [late]


def periods(report: Any) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for line in report.lines:
        found.setdefault((line.identity.psa_customer, line.identity.contract), set()).add(line.identity.period_key)
    return found


def test_the_fake_is_an_invoicing_sink() -> None:
    assert isinstance(InvoicingFakeSink(), InvoicingSink)


def test_a_period_stays_open_until_its_invoice_shows_then_each_contract_moves_on_alone() -> None:
    w, sink = world()  # the default fallback day: a period stays open on the 1st and the 2nd whatever the clock says
    november(w)
    assert sink.reads == []  # October has nothing in the outbox: nothing of it waits on an invoice
    for day in (1, 2):
        late_november(w, 13 + day)  # November's final figure keeps moving after its end
        report = at(w, datetime(2026, 12, day, 12, tzinfo=UTC))
        assert all(keys == {"2026-11"} for keys in periods(report).values())
    assert w.sink.held[tuple(M365_NOV)] == Decimal(15)
    assert len(sink.reads) == 2 and sink.reads[-1] == (NOVEMBER, date(2026, 12, 3))  # one read per run
    # Each contract waits on November's invoice, and only that is asked about.
    assert sink.wanted[-1] == {ref: {NOVEMBER} for ref in CONTRACTS}

    # Atera generated November's invoice of Contoso's M365 contract on the 3rd: that contract, alone, moves on.
    sink.invoices[("Contoso Ltd", "M365 backup")] = {NOVEMBER}
    report = at(w, datetime(2026, 12, 3, 12, tzinfo=UTC))
    assert periods(report)[("Contoso Ltd", "M365 backup")] == {"2026-12"}
    assert periods(report)[("Contoso Ltd", "Server backup")] == {"2026-11"}
    assert periods(report)[("Fabrikam Inc", "M365 backup")] == {"2026-11"}
    assert len(sink.reads) == 3


def test_the_fallback_day_moves_every_contract_on_and_then_no_invoice_is_read() -> None:
    w, sink = world(invoice_day=4)
    november(w)
    at(w, datetime(2026, 12, 2, 12, tzinfo=UTC))
    assert len(sink.reads) == 1  # before the fallback day, November's invoices are asked about
    sink.reads.clear()
    report = at(w, datetime(2026, 12, 5, 12, tzinfo=UTC))
    assert all(keys == {"2026-12"} for keys in periods(report).values())
    assert sink.reads == []  # nothing the invoices could change: no request spent on them


def test_invoices_that_cannot_be_read_leave_the_period_open_and_the_run_incomplete() -> None:
    w, sink = world()
    november(w)
    sink.invoices[("Contoso Ltd", "M365 backup")] = {NOVEMBER}
    sink.down = True
    report = at(w, datetime(2026, 12, 3, 12, tzinfo=UTC))
    assert periods(report)[("Contoso Ltd", "M365 backup")] == {"2026-11"}
    assert report.status == "incomplete"
    assert any("invoices" in problem and "invoice_day (10)" in problem for problem in report.problems)


def test_a_read_the_request_budget_cut_short_keeps_what_it_found_and_says_so() -> None:
    w, sink = world()
    november(w)
    sink.invoices = {key: {NOVEMBER} for key in CONTRACTS}
    sink.cut_short = {("Contoso Ltd", "M365 backup")}  # the others' invoices were on pages not read
    report = at(w, datetime(2026, 12, 3, 12, tzinfo=UTC))
    assert periods(report)[("Contoso Ltd", "M365 backup")] == {"2026-12"}  # its invoice was read: it moves on
    assert periods(report)[("Fabrikam Inc", "M365 backup")] == {"2026-11"}  # not seen: it keeps November
    (problem,) = report.problems
    assert "read only in part" in problem and "requests_per_run" in problem and "invoice_day (10)" in problem
    assert report.status is Status.INCOMPLETE


def test_a_period_asked_for_is_what_each_contract_waits_on() -> None:
    w, sink = world()
    november(w)
    w.now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    w.engine().run(period_key="2026-11")
    assert sink.wanted[-1] == {ref: {NOVEMBER} for ref in CONTRACTS}


def test_a_pending_line_of_an_invoiced_period_is_a_correction_recorded_once_and_never_pushed() -> None:
    w, sink = world()
    november(w)
    w.sink.fail_for = {"Contoso Ltd"}  # November's last figure (14) never reaches the PSA
    late_november(w, 14)
    at(w, datetime(2026, 12, 2, 12, tzinfo=UTC))
    stored = w.store.outbox.get(M365_NOV)
    assert stored is not None and stored.status is LineStatus.FAILED
    w.sink.fail_for = set()
    sink.invoices = {key: {NOVEMBER} for key in [("Contoso Ltd", "M365 backup"), ("Contoso Ltd", "Server backup")]}
    sink.invoices[("Fabrikam Inc", "M365 backup")] = {NOVEMBER}
    writes = len(w.sink.pushed)

    report = at(w, datetime(2026, 12, 3, 12, tzinfo=UTC))
    (correction,) = [line for line in report.lines if line.identity == M365_NOV]
    assert correction.outcome == "correction" and "bill +7.00 by hand" in correction.reason  # 2 users x 3.50
    assert all(line.identity.period_key != "2026-11" for line in w.sink.pushed[writes:])
    stored = w.store.outbox.get(M365_NOV)
    assert stored is not None and stored.status is LineStatus.CORRECTION and stored.pushed_quantity == Decimal(12)

    # The next run does not raise it again, nor push it: it is recorded, and listed from the store.
    again = at(w, datetime(2026, 12, 4, 12, tzinfo=UTC))
    assert [line for line in again.lines if line.identity.period_key == "2026-11"] == []
    assert again.status == "ok"
    assert all(line.identity.period_key != "2026-11" for line in w.sink.pushed[writes:])
    (row,) = corrections.rows(corrections.recorded(w.store, "2026-11"))
    assert (row["invoiced_quantity"], row["quantity"], row["bill_by_hand"]) == (Decimal(12), Decimal(14), Decimal(7))


def test_a_pushed_line_whose_usage_changes_after_its_invoice_is_recorded_once_per_change() -> None:
    w, sink = world()
    november(w)
    sink.invoices = {("Contoso Ltd", "M365 backup"): {NOVEMBER}}
    at(w, datetime(2026, 12, 3, 12, tzinfo=UTC))

    late_november(w, 15)
    first = at(w, datetime(2026, 12, 4, 12, tzinfo=UTC))
    assert [line.outcome for line in first.lines if line.identity == M365_NOV] == ["correction"]
    second = at(w, datetime(2026, 12, 5, 12, tzinfo=UTC))
    assert [line for line in second.lines if line.identity == M365_NOV] == []
    late_november(w, 16)  # one more user still: news again, against what was invoiced
    third = at(w, datetime(2026, 12, 6, 12, tzinfo=UTC))
    (line,) = [line for line in third.lines if line.identity == M365_NOV]
    assert line.outcome == "correction" and "bill +14.00 by hand" in line.reason
    assert w.sink.held[tuple(M365_NOV)] == Decimal(12)
    history = [entry["note"] for entry in w.store.outbox.history(M365_NOV)]
    assert sum(1 for note in history if "by hand" in note) == 2


def test_a_dry_run_names_the_correction_and_records_nothing() -> None:
    w, sink = world()
    november(w)
    w.sink.fail_for = {"Contoso Ltd"}
    late_november(w, 14)
    at(w, datetime(2026, 12, 2, 12, tzinfo=UTC))
    sink.invoices = {("Contoso Ltd", "M365 backup"): {NOVEMBER}}
    w.now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    report = w.engine().run(dry_run=True)
    assert [line.outcome for line in report.lines if line.identity == M365_NOV] == ["correction"]
    stored = w.store.outbox.get(M365_NOV)
    assert stored is not None and stored.status is LineStatus.FAILED


@pytest.mark.parametrize(
    ("now", "seen", "expected"),
    [
        (datetime(2026, 12, 3, tzinfo=UTC), frozenset(), "2026-11"),
        (datetime(2026, 12, 3, tzinfo=UTC), frozenset({NOVEMBER}), "2026-12"),
        (datetime(2026, 12, 3, tzinfo=UTC), frozenset({date(2026, 10, 1)}), "2026-11"),  # October's is not November's
        (datetime(2026, 12, 11, tzinfo=UTC), frozenset(), "2026-12"),  # the fallback: the 10th has passed
    ],
)
def test_the_calendar_opens_the_next_period_once_the_previous_is_invoiced(
    now: datetime, seen: frozenset[date], expected: str
) -> None:
    calendar = BillingCalendar()
    assert calendar.open_period(BillingPeriod.MONTHLY, now, seen).key == expected
    assert calendar.moved_on("2026-11", now, seen) is (expected == "2026-12")


def test_only_an_ended_period_before_its_fallback_day_waits_on_the_invoices() -> None:
    calendar = BillingCalendar()
    waiting = calendar.awaiting_invoice(BillingPeriod.MONTHLY, datetime(2026, 12, 3, tzinfo=UTC))
    assert waiting == parse_period_key("2026-11")
    assert calendar.awaiting_invoice(BillingPeriod.MONTHLY, datetime(2026, 12, 11, tzinfo=UTC)) is None
    advance = BillingCalendar(mode=Mode.ADVANCE)
    assert advance.awaiting_invoice(BillingPeriod.MONTHLY, datetime(2026, 12, 3, tzinfo=UTC)) is None


def test_a_correction_billed_by_hand_is_closed_by_discarding_it_and_only_a_further_change_is_news() -> None:
    w, sink = world()
    november(w)
    sink.invoices = {("Contoso Ltd", "M365 backup"): {NOVEMBER}}
    at(w, datetime(2026, 12, 3, 12, tzinfo=UTC))
    late_november(w, 15)
    at(w, datetime(2026, 12, 4, 12, tzinfo=UTC))
    (stored,) = corrections.recorded(w.store)
    assert [row["status"] for row in operations.review(w.store)] == []  # held and failed only: corrections apart

    operations.discard(w.store, [stored.id], "billed by hand on invoice 7001")
    assert corrections.recorded(w.store) == []
    assert [line for line in at(w, datetime(2026, 12, 5, 12, tzinfo=UTC)).lines if line.identity == M365_NOV] == []
    late_november(w, 16)
    (again,) = [line for line in at(w, datetime(2026, 12, 6, 12, tzinfo=UTC)).lines if line.identity == M365_NOV]
    assert again.outcome == "correction" and "bill +14.00 by hand" in again.reason  # still against the invoice
