"""Time travel over a month end: arrears and advance, the MSP's time zone, corrections and --period."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector.core.errors import ParameterError
from connector.interfaces.usage import CustomerUsage
from connector.wiring import settings_from_data
from mappings.calendar import BillingCalendar, Mode
from mappings.enums import BillingPeriod
from mappings.lines import LineIdentity, Outcome
from tests.connector.test_engine import World, settings

M365_NOV = ("Contoso Ltd", "M365 backup", "2026-11", "altaro.billed_users")
M365_DEC = ("Contoso Ltd", "M365 backup", "2026-12", "altaro.billed_users")


def world(**billing: Any) -> World:
    return World(settings(billing=billing) if billing else None)


def at(w: World, when: datetime, users: int | None = None) -> Any:
    w.now = when
    if users is not None:
        w.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(users)}
    return w.engine().run()


def keys(report: Any) -> set[tuple[str, str]]:
    return {(o.identity.period_key, o.outcome) for o in report.lines if o.identity.psa_customer == "Contoso Ltd"}


def test_arrears_keeps_november_open_until_invoiced_then_moves_to_december() -> None:
    w = world(mode="arrears", invoice_day=3)
    at(w, datetime(2026, 11, 29, 12, tzinfo=UTC), 12)
    # 1 December: the portal has December snapshots, but November's contract is not invoiced yet.
    w.altaro.extra = []
    report = at(w, datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    assert {k for k, _ in keys(report)} == {"2026-11"}
    assert M365_DEC not in w.sink.held
    # Usage of November seen after its end (Altaro's report rows of November) still reaches November's contract.

    late = CustomerUsage("altaro", "Contoso", "2026-11")
    late.quantities[("altaro.billed_users", "")] = Decimal(14)
    w.altaro.extra = [late]
    report = at(w, datetime(2026, 12, 3, 20, tzinfo=UTC))
    assert ("2026-11", "pushed") in keys(report)
    assert w.sink.held[M365_NOV] == Decimal(14)
    # After the invoice day: December moves in.
    w.altaro.extra = []
    report = at(w, datetime(2026, 12, 4, 0, 30, tzinfo=UTC))
    assert ("2026-12", "pushed") in keys(report)
    assert w.sink.held[M365_NOV] == Decimal(14)


def test_a_change_after_invoicing_is_a_correction_and_is_not_pushed() -> None:
    w = world(invoice_day=2)
    at(w, datetime(2026, 11, 29, tzinfo=UTC), 12)
    at(w, datetime(2026, 12, 5, tzinfo=UTC))  # invoiced: December is open

    late = CustomerUsage("altaro", "Contoso", "2026-11")
    late.quantities[("altaro.billed_users", "")] = Decimal(15)
    w.altaro.extra = [late]
    writes = w.sink.writes
    report = at(w, datetime(2026, 12, 6, tzinfo=UTC))
    correction = next(o for o in report.lines if o.identity == M365_NOV)
    assert correction.outcome == "correction"
    assert "bill +10.50 by hand" in correction.reason  # 3 more users at 3.50
    assert w.sink.held[M365_NOV] == Decimal(12)
    assert w.sink.writes == writes
    assert report.status == "held"
    stored = w.store.outbox.get(LineIdentity(*M365_NOV))
    assert stored is not None and stored.pushed_quantity == Decimal(12)


def test_advance_moves_at_the_period_boundary_and_reports_late_changes_as_corrections() -> None:
    w = world(mode="advance", invoice_day=3)
    at(w, datetime(2026, 11, 30, 23, tzinfo=UTC), 12)
    report = at(w, datetime(2026, 12, 1, 0, 30, tzinfo=UTC), 12)
    assert ("2026-12", "pushed") in keys(report)

    late = CustomerUsage("altaro", "Contoso", "2026-11")
    late.quantities[("altaro.billed_users", "")] = Decimal(13)
    w.altaro.extra = [late]
    report = at(w, datetime(2026, 12, 1, 6, tzinfo=UTC))
    assert ("2026-11", "correction") in keys(report)
    assert w.sink.held[M365_NOV] == Decimal(12)


@pytest.mark.parametrize(
    ("zone", "utc", "expected"),
    [
        # Kiritimati is UTC+14: at 11:00 UTC on 2 December it is already the 3rd there, after invoice day 2.
        ("Pacific/Kiritimati", datetime(2026, 12, 2, 11, tzinfo=UTC), "2026-12"),
        ("UTC", datetime(2026, 12, 2, 11, tzinfo=UTC), "2026-11"),
        # Adak is UTC-10: at 05:00 UTC on 3 December it is still the 2nd there.
        ("America/Adak", datetime(2026, 12, 3, 5, tzinfo=UTC), "2026-11"),
        ("UTC", datetime(2026, 12, 3, 5, tzinfo=UTC), "2026-12"),
    ],
)
def test_the_msp_time_zone_decides_the_open_period(zone: str, utc: datetime, expected: str) -> None:
    w = world(timezone=zone, invoice_day=2)
    at(w, datetime(2026, 11, 28, tzinfo=UTC), 12)
    report = at(w, utc)
    assert {k for k, o in keys(report) if o != "correction"} == {expected}


def test_advance_in_a_far_zone_opens_december_before_utc_does() -> None:
    calendar = BillingCalendar(Mode.ADVANCE, "Pacific/Kiritimati")
    assert calendar.open_period(BillingPeriod.MONTHLY, datetime(2026, 11, 30, 10, 30, tzinfo=UTC)).key == "2026-12"
    adak = BillingCalendar(Mode.ADVANCE, "America/Adak")
    assert adak.open_period(BillingPeriod.MONTHLY, datetime(2026, 12, 1, 9, 30, tzinfo=UTC)).key == "2026-11"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("november", "accepted: 2026-11"),
        ("2026-Q4", "no mapped line bills such periods; accepted: 2026-11"),
        ("2026-12", "has not started yet"),
        ("2026-11-H1", "no mapped line bills"),
    ],
)
def test_a_bad_period_is_refused_before_any_fetch(key: str, message: str) -> None:
    w = world()
    w.altaro.error = AssertionError("fetched")
    with pytest.raises(ParameterError, match=message):
        w.engine().run(period_key=key)
    assert w.store.observations.query("altaro") == []


def test_a_past_period_not_yet_invoiced_runs_and_an_invoiced_one_is_only_compared() -> None:
    w = world(invoice_day=3)
    at(w, datetime(2026, 11, 20, tzinfo=UTC), 12)
    w.now = datetime(2026, 12, 2, tzinfo=UTC)
    assert {o.identity.period_key for o in w.engine().run(period_key="2026-11").lines} == {"2026-11"}
    w.now = datetime(2026, 12, 10, tzinfo=UTC)
    w.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(20)}
    writes = w.sink.writes
    report = w.engine().run(period_key="2026-10")
    assert w.sink.writes == writes
    # No run ever staged October: said per line (never "ok" with no line), and nothing is written for it.
    october = [o for o in report.lines if o.identity.period_key == "2026-10"]
    assert october and {o.outcome for o in october} == {Outcome.BLOCKED}
    assert all("no line of 2026-10 was ever staged" in o.reason for o in october)


@pytest.mark.parametrize(("how", "expected"), [("peak", Decimal(14)), ("last", Decimal(9)), ("average", Decimal(11))])
def test_the_line_measure_picks_peak_last_or_average(how: str, expected: Decimal) -> None:
    config = settings()
    data = config.model_dump(mode="json", exclude_defaults=True)
    data["customers"][0]["lines"][0]["measure"] = how
    w = World(settings_from_data(data))
    for day, users in ((10, 10), (15, 14), (20, 9)):
        at(w, datetime(2026, 11, day, tzinfo=UTC), users)
    assert w.store.outbox.get(LineIdentity(*M365_NOV)).line.quantity == expected  # type: ignore[union-attr]
