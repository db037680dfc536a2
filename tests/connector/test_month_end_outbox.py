"""A line of an invoiced period still waiting in the outbox is a correction to bill by hand, never pushed late."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from connector.interfaces.usage import CustomerUsage
from mappings.lines import LineIdentity, LineStatus
from tests.connector.test_billing_calendar import M365_DEC, M365_NOV, at, world


def test_a_failed_line_of_an_invoiced_period_is_a_correction_not_a_push() -> None:
    w = world(invoice_day=2)
    w.sink.fail_for.add("Contoso Ltd")
    at(w, datetime(2026, 11, 29, tzinfo=UTC), 12)
    stored = w.store.outbox.get(LineIdentity(*M365_NOV))
    assert stored is not None and stored.status is LineStatus.FAILED
    # The PSA answers again only after November's invoices were generated: pushing now would put November's
    # 12 users on the contract that bills December.
    w.sink.fail_for.clear()
    report = at(w, datetime(2026, 12, 5, tzinfo=UTC), 12)
    correction = next(o for o in report.lines if o.identity == M365_NOV)
    assert correction.outcome == "correction"
    assert "bill +42.00 by hand" in correction.reason  # 12 users at 3.50, none invoiced
    assert "failed in the outbox" in correction.reason
    assert M365_NOV not in w.sink.held
    assert w.sink.held[M365_DEC] == Decimal(12)
    assert all(line.period_key != "2026-11" for line in w.sink.pushed[-2:])


def test_a_pending_line_of_an_invoiced_period_states_the_difference_from_what_was_invoiced() -> None:
    w = world(invoice_day=2)
    at(w, datetime(2026, 11, 20, tzinfo=UTC), 12)  # pushed: 12
    w.now = datetime(2026, 11, 29, tzinfo=UTC)
    w.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(15)}
    w.engine().run(push=False)  # staged 15, never pushed
    report = at(w, datetime(2026, 12, 5, tzinfo=UTC))
    correction = next(o for o in report.lines if o.identity == M365_NOV)
    assert correction.outcome == "correction"
    assert "bill +10.50 by hand" in correction.reason
    assert w.sink.held[M365_NOV] == Decimal(12)


def test_a_failed_line_of_a_period_not_yet_invoiced_is_still_pushed() -> None:
    w = world(invoice_day=3)
    w.sink.fail_for.add("Contoso Ltd")
    at(w, datetime(2026, 11, 29, tzinfo=UTC), 12)
    w.sink.fail_for.clear()
    # The December report still lists November's row: the whole month is covered, nothing to hold for review.
    late = CustomerUsage("altaro", "Contoso", "2026-11")
    late.quantities[("altaro.billed_users", "")] = Decimal(12)
    w.altaro.extra = [late]
    at(w, datetime(2026, 12, 2, tzinfo=UTC))
    assert w.sink.held[M365_NOV] == Decimal(12)
