"""A past period the connector did not poll every day of is stated plainly in its line and held for review."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from connector.interfaces.usage import CustomerUsage
from mappings.enums import BillingPeriod
from mappings.lines import LineIdentity
from mappings.measure import Observation, coverage
from mappings.periods import period_containing
from tests.connector.test_billing_calendar import M365_NOV, at, world

NOVEMBER = period_containing(BillingPeriod.MONTHLY, date(2026, 11, 1))
SERVER_NOV = LineIdentity("Contoso Ltd", "Server backup", "2026-11", "axcient.server_gb")


def seen(source: str, when: datetime, period_key: str = "2026-11") -> Observation:
    return Observation(source, "Contoso", "m", period_key, Decimal(1), "u", when, True, {})


def test_a_snapshot_covers_its_own_day_in_the_msp_zone() -> None:
    days = [seen("axcient", datetime(2026, 11, d, 12, tzinfo=UTC)) for d in (19, 19, 20, 30)]
    assert coverage(days, NOVEMBER, "UTC").describe() == "observed 3 of 30 days"
    # 23:30 UTC on the 30th is already 1 December in Kiritimati (UTC+14): the portal's snapshot is December's there.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert coverage([seen("axcient", late)], NOVEMBER, "UTC").observed == 1
    assert coverage([seen("axcient", late, "2026-12")], NOVEMBER, "Pacific/Kiritimati").observed == 0
    # 05:00 UTC on 1 December is still the 30th in Adak (UTC-10): November's snapshot of its last day, no more.
    adak = coverage([seen("axcient", datetime(2026, 12, 1, 5, tzinfo=UTC))], NOVEMBER, "America/Adak")
    assert adak.observed == 1 and adak.partial


def test_a_row_of_a_month_seen_after_the_month_ended_covers_all_of_it() -> None:
    assert coverage([seen("altaro", datetime(2026, 11, 12, tzinfo=UTC))], NOVEMBER, "UTC").observed == 1
    after = seen("altaro", datetime(2026, 12, 2, tzinfo=UTC))
    assert not coverage([after], NOVEMBER, "UTC").partial


def test_a_month_first_polled_mid_month_is_held_with_the_days_observed() -> None:
    w = world(invoice_day=3)
    w.axcient.usage["Contoso"] = {"axcient.server_gb": Decimal(500)}
    for day in range(19, 31):  # installed on the 19th, polled daily
        report = at(w, datetime(2026, 11, day, 12, tzinfo=UTC), 12)
    server = next(o for o in report.lines if o.identity == SERVER_NOV)
    assert server.outcome != "held"  # a running month is not judged: the days to come will be polled
    # Altaro's December report still lists November: that row covers all of November.
    late = CustomerUsage("altaro", "Contoso", "2026-11")
    late.quantities[("altaro.billed_users", "")] = Decimal(12)
    w.altaro.extra = [late]
    report = at(w, datetime(2026, 12, 1, 12, tzinfo=UTC))
    server = next(o for o in report.lines if o.identity == SERVER_NOV)
    assert server.outcome == "held"
    assert server.reason == "partial coverage: observed 12 of 30 days"
    assert server.line is not None and server.line.inputs["observations"]["coverage"] == server.reason
    assert next(o for o in report.lines if o.identity == M365_NOV).outcome != "held"


def test_an_outage_over_the_month_end_is_held_too() -> None:
    w = world(invoice_day=3)
    w.axcient.usage["Contoso"] = {"axcient.server_gb": Decimal(500)}
    for day in range(1, 28):  # down from the 28th to 1 December
        at(w, datetime(2026, 11, day, 12, tzinfo=UTC), 12)
    report = at(w, datetime(2026, 12, 2, 12, tzinfo=UTC))
    server = next(o for o in report.lines if o.identity == SERVER_NOV)
    assert (server.outcome, server.reason) == ("held", "partial coverage: observed 27 of 30 days")


def test_an_approved_partial_line_is_not_held_again() -> None:
    w = world(invoice_day=3)
    w.axcient.usage["Contoso"] = {"axcient.server_gb": Decimal(500)}
    at(w, datetime(2026, 11, 25, 12, tzinfo=UTC), 12)
    at(w, datetime(2026, 12, 1, 12, tzinfo=UTC))
    w.store.outbox.approve(SERVER_NOV, "the portal's usage did not change before the 25th")
    report = at(w, datetime(2026, 12, 2, 12, tzinfo=UTC))
    assert next(o for o in report.lines if o.identity == SERVER_NOV).outcome != "held"
