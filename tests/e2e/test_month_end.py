"""End to end over a month end with the sandboxes and a frozen clock: November is invoiced as pushed, then December."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector import operations
from connector.cli import main
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from connector.operations.run import sync_once
from connector.store import Store
from connector.sync.report import RunReport
from connector.wiring import load_settings
from providers.altaro.demo import demo_report

NOVEMBER = "2026-11"


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Sandboxes]:
    with running_sandboxes(tmp_path, NOVEMBER) as running:
        yield running


def run_at(config: Path, sandboxes: Sandboxes, when: datetime) -> RunReport:
    # The sandbox link keeps its 5-minute rule on the real clock: runs a day apart on the frozen one are not too soon.
    sandboxes["altaro"].reset_window()
    return sync_once(load_settings(config), now=lambda: when)


def outcomes(report: RunReport) -> set[tuple[str, str]]:
    return {(line.identity.period_key, str(line.outcome)) for line in report.lines}


def test_november_is_invoiced_as_pushed_and_december_moves_in_only_afterwards(
    tmp_path: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text() + '\n[billing]\nmode = "arrears"\ninvoice_day = 2\n')
    for day in range(1, 31):  # polled daily all November: nothing is partial
        november = run_at(config, sandboxes, datetime(2026, 11, day, 12, tzinfo=UTC))
    assert outcomes(november) == {(NOVEMBER, "unchanged")}
    first = run_at(config, sandboxes, datetime(2026, 12, 1, 12, tzinfo=UTC))  # not invoiced yet: November stays open
    assert outcomes(first) == {(NOVEMBER, "unchanged")}

    sandboxes["atera"].invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 2))
    code = main(["reconcile", "--period", NOVEMBER, "--config", str(config), "--format", "json"])
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert code == 0 and rows and {row["status"] for row in rows} == {"invoiced as pushed"}

    sandboxes["altaro"].set_report(demo_report("2026-12"))
    after = run_at(config, sandboxes, datetime(2026, 12, 3, 12, tzinfo=UTC))
    assert outcomes(after) == {("2026-12", "pushed")}


def test_november_usage_that_rises_after_its_invoice_is_a_correction_not_a_push(
    tmp_path: Path, sandboxes: Sandboxes
) -> None:
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text() + '\n[billing]\nmode = "arrears"\ninvoice_day = 2\n')
    for day in range(1, 31):
        run_at(config, sandboxes, datetime(2026, 11, day, 12, tzinfo=UTC))
    sandboxes["atera"].invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 2))
    # The report still lists November, now with a user it had missed: one more Contoso user after the invoice.
    contoso = demo_report("2026-11").splitlines()[1]
    late_user = contoso.replace("Ada Moss", "Late Lee")
    assert late_user != contoso
    december = demo_report("2026-12")
    sandboxes["altaro"].set_report(december + "\r\n".join([*demo_report("2026-11").splitlines()[1:], late_user, ""]))
    report = run_at(config, sandboxes, datetime(2026, 12, 3, 12, tzinfo=UTC))
    corrections = [line for line in report.lines if line.outcome == "correction"]
    assert [line.identity.period_key for line in corrections] == [NOVEMBER]
    assert corrections[0].identity.psa_customer == "Contoso Ltd" and "by hand" in corrections[0].reason
    # Nothing of November was pushed: every contract moved to December's quantity, none back to November's.
    assert {key for key, outcome in outcomes(report) if outcome == "pushed"} == {"2026-12"}


def test_in_berlin_an_invoice_atera_dates_in_utc_is_november_s_and_a_later_rise_is_a_correction(
    tmp_path: Path, sandboxes: Sandboxes
) -> None:
    # Issue 20, row 5: Atera wrote November's period as 2026-10-31T23:00:00Z (1 November in Berlin); read as
    # 31 October, November stayed open, the rise was pushed after November was invoiced and never invoiced.
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text() + '\n[billing]\ntimezone = "Europe/Berlin"\ninvoice_day = 10\n')
    for day in range(1, 31):
        run_at(config, sandboxes, datetime(2026, 11, day, 12, tzinfo=UTC))
    atera = sandboxes["atera"]
    atera.account.timezone = "Europe/Berlin"
    (invoice, *_) = atera.invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1), utc=True)
    assert invoice["PeriodStartDate"] == "2026-10-31T23:00:00Z"
    contoso = demo_report("2026-11").splitlines()[1]
    late_user = contoso.replace("Ada Moss", "Late Lee")
    december = demo_report("2026-12")
    sandboxes["altaro"].set_report(december + "\r\n".join([*demo_report("2026-11").splitlines()[1:], late_user, ""]))
    writes = sandboxes.psa_writes()
    report = run_at(config, sandboxes, datetime(2026, 12, 1, 12, tzinfo=UTC))
    corrections = [line for line in report.lines if line.outcome == "correction"]
    assert [line.identity.period_key for line in corrections] == [NOVEMBER], outcomes(report)
    assert {key for key, outcome in outcomes(report) if outcome == "pushed"} == {"2026-12"}
    assert sandboxes.psa_writes() > writes


@pytest.mark.parametrize(
    ("zone", "poll_hour", "before", "after"),
    [
        # UTC+14: the 3rd begins there at 10:00 UTC on the 2nd, when UTC is still on invoice day.
        ("Pacific/Kiritimati", 5, datetime(2026, 12, 2, 9, tzinfo=UTC), datetime(2026, 12, 2, 11, tzinfo=UTC)),
        # UTC-10: at 05:00 UTC on the 3rd it is still the 2nd there.
        ("America/Adak", 12, datetime(2026, 12, 3, 5, tzinfo=UTC), datetime(2026, 12, 3, 11, tzinfo=UTC)),
    ],
)
def test_the_msp_zone_decides_when_november_is_invoiced(
    tmp_path: Path, sandboxes: Sandboxes, zone: str, poll_hour: int, before: datetime, after: datetime
) -> None:
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text() + f'\n[billing]\ntimezone = "{zone}"\ninvoice_day = 2\n')
    for day in range(1, 31):  # every November day in the MSP's zone is polled once
        run_at(config, sandboxes, datetime(2026, 11, day, poll_hour, tzinfo=UTC))
    assert outcomes(run_at(config, sandboxes, before)) == {(NOVEMBER, "unchanged")}
    sandboxes["altaro"].set_report(demo_report("2026-12"))
    assert outcomes(run_at(config, sandboxes, after)) == {("2026-12", "pushed")}


def test_in_advance_december_moves_in_at_midnight_and_its_invoice_reads_what_was_pushed(
    tmp_path: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text() + '\n[billing]\nmode = "advance"\ninvoice_day = 1\n')
    for day in range(1, 31):
        run_at(config, sandboxes, datetime(2026, 11, day, 12, tzinfo=UTC))
    assert outcomes(run_at(config, sandboxes, datetime(2026, 11, 30, 23, tzinfo=UTC))) == {(NOVEMBER, "unchanged")}
    sandboxes["altaro"].set_report(demo_report("2026-12"))
    assert outcomes(run_at(config, sandboxes, datetime(2026, 12, 1, 1, tzinfo=UTC))) == {("2026-12", "pushed")}

    sandboxes["atera"].invoice_retainers(date(2026, 12, 1), date(2026, 12, 31), date(2026, 12, 1))
    code = main(["reconcile", "--period", "2026-12", "--config", str(config), "--format", "json"])
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert code == 0 and rows and {row["status"] for row in rows} == {"invoiced as pushed"}


def with_late_users(*names: str) -> str:
    """December's report, and November's rows still listed, with Contoso users November's first rows missed."""
    november = demo_report("2026-11").splitlines()
    contoso = november[1]
    late = [contoso.replace("Ada Moss", name) for name in names]
    assert all(row != contoso for row in late)
    return demo_report("2026-12") + "\r\n".join([*november[1:], *late, ""])


def contoso_m365(report: RunReport, period: str) -> list[str]:
    return [
        str(line.outcome)
        for line in report.lines
        if line.identity.psa_customer == "Contoso Ltd"
        and line.identity.metric.startswith("altaro")
        and line.identity.period_key == period
    ]


def test_november_stays_open_until_atera_shows_its_invoices_then_a_late_change_is_a_correction_listed_once(
    tmp_path: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sandboxes)  # no invoice_day: the fallback (the 10th) is not what moves it on
    for day in range(1, 31):
        run_at(config, sandboxes, datetime(2026, 11, day, 12, tzinfo=UTC))
    # The 1st and the 2nd: November's final figures keep reaching its contracts (a user its rows had missed).
    sandboxes["altaro"].set_report(with_late_users("Late Lee"))
    first = run_at(config, sandboxes, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert {key for key, _ in outcomes(first)} == {NOVEMBER} and contoso_m365(first, NOVEMBER) == ["pushed"]
    second = run_at(config, sandboxes, datetime(2026, 12, 2, 12, tzinfo=UTC))
    assert outcomes(second) == {(NOVEMBER, "unchanged")}

    # Atera generates November's invoices on the 3rd: the first run after them moves every contract to December.
    sandboxes["atera"].invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 3))
    third = run_at(config, sandboxes, datetime(2026, 12, 3, 12, tzinfo=UTC))
    assert outcomes(third) == {("2026-12", "pushed")}
    code = main(["reconcile", "--period", NOVEMBER, "--config", str(config), "--format", "json"])
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert code == 0 and rows and {row["status"] for row in rows} == {"invoiced as pushed"}

    # Another November user afterwards: a correction, recorded once, never pushed; December stays on the contract.
    writes = sandboxes["atera"].writes()
    sandboxes["altaro"].set_report(with_late_users("Late Lee", "Later Lou"))
    fourth = run_at(config, sandboxes, datetime(2026, 12, 4, 12, tzinfo=UTC))
    assert contoso_m365(fourth, NOVEMBER) == ["correction"] and fourth.status == "held"
    assert sandboxes["atera"].writes() == writes  # nothing of November pushed, December unchanged
    fifth = run_at(config, sandboxes, datetime(2026, 12, 5, 12, tzinfo=UTC))
    assert contoso_m365(fifth, NOVEMBER) == [] and fifth.status == "ok"  # not raised again

    code = main(["reconcile", "--period", NOVEMBER, "--config", str(config), "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 5  # every invoice as pushed; a correction waits to be billed by hand
    (owed,) = [row for row in rows if row["status"] == "correction"]
    assert owed["psa_customer"] == "Contoso Ltd"
    assert Decimal(owed["correction_quantity"]) == Decimal(owed["pushed_quantity"]) + 1  # one user more than invoiced
    assert Decimal(owed["bill_by_hand"]) > 0 and f"bill +{owed['bill_by_hand']} by hand" in owed["why"]
    assert {row["status"] for row in rows if row is not owed} == {"invoiced as pushed"}
    assert main(["reconcile", "--period", NOVEMBER, "--config", str(config)]) == 5
    table = capsys.readouterr().out
    assert "Corrections of 2026-11" in table and f"+{owed['bill_by_hand']}" in table
    assert main(["review", "--config", str(config), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["status"], r["period"], r["psa_customer"]) for r in listed] == [("correction", NOVEMBER, "Contoso Ltd")]


def test_a_portal_snapshot_taken_after_utc_midnight_is_novembers_in_the_msp_zone(
    tmp_path: Path, sandboxes: Sandboxes
) -> None:
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text() + '\n[billing]\ntimezone = "America/Adak"\n')
    taken = datetime(2026, 12, 1, 5, tzinfo=UTC)  # 19:00 on 30 November in Adak (UTC-10)
    run_at(config, sandboxes, taken)
    settings = load_settings(config)
    with Store.open(settings.store.path) as store:
        snapshots = [o for o in store.observations.query("axcient") if o.observed_at == taken]
    assert snapshots and {o.period_key for o in snapshots} == {NOVEMBER}


def outbox_of(config: Path) -> list[tuple[Any, ...]]:
    with Store.open(load_settings(config).store.path) as store:
        return [
            (s.identity, s.status, s.line.quantity, len(store.outbox.history(s.identity))) for s in store.outbox.lines()
        ]


def test_sync_period_of_an_invoiced_month_compares_prints_the_corrections_and_writes_nothing(
    tmp_path: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text() + '\n[billing]\nmode = "arrears"\ninvoice_day = 2\n')
    for day in range(1, 31):
        run_at(config, sandboxes, datetime(2026, 11, day, 12, tzinfo=UTC))
    sandboxes["atera"].invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 2))
    sandboxes["altaro"].set_report(with_late_users("Late Lee"))
    before, writes = outbox_of(config), sandboxes["atera"].writes()

    # The real CLI, its one clock frozen on 3 December: November is invoiced, so `--period 2026-11` only compares.
    when = datetime(2026, 12, 3, 12, tzinfo=UTC)
    monkeypatch.setattr(operations, "sync", functools.partial(sync_once, now=lambda: when))
    sandboxes["altaro"].reset_window()
    capsys.readouterr()
    code = main(["sync", "--period", NOVEMBER, "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 5  # a difference found: the review/held code, as the sync that records it ends
    assert "1 correction(s) to bill by hand (a sync would record; never pushed):" in out
    assert "Contoso Ltd / " in out and "bill +" in out and "by hand" in out
    assert outbox_of(config) == before  # no correction recorded, no status changed
    assert sandboxes["atera"].writes() == writes  # nothing written to Atera, not even December's lines

    sandboxes["altaro"].reset_window()
    code = main(["sync", "--period", NOVEMBER, "--config", str(config), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 5 and report["dry_run"] is True
    (owed,) = [line for line in report["lines"] if line["outcome"] == "correction"]
    assert owed["psa_customer"] == "Contoso Ltd" and owed["period_key"] == NOVEMBER


def test_a_correction_whose_usage_returns_to_the_invoice_clears_and_status_review_and_reconcile_follow(
    tmp_path: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sandboxes)
    # Billed on the month's last figure, so a late figure can also be withdrawn.
    text = config.read_text().replace(
        'metric = "altaro.billed_users"\n', 'metric = "altaro.billed_users"\nmeasure = "last"\n'
    )
    config.write_text(text + "\n[billing]\ninvoice_day = 2\n")
    for day in range(1, 31):
        run_at(config, sandboxes, datetime(2026, 11, day, 12, tzinfo=UTC))
    sandboxes["atera"].invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 2))
    sandboxes["altaro"].set_report(with_late_users("Later Lou"))
    found = run_at(config, sandboxes, datetime(2026, 12, 3, 12, tzinfo=UTC))
    assert contoso_m365(found, NOVEMBER) == ["correction"]
    capsys.readouterr()
    assert main(["status", "--config", str(config), "--format", "json"]) == 5
    assert json.loads(capsys.readouterr().out)["waiting"]["corrections"] == 1

    writes = sandboxes["atera"].writes()
    sandboxes["altaro"].set_report(with_late_users())  # the late user is gone from November's rows
    cleared = run_at(config, sandboxes, datetime(2026, 12, 4, 12, tzinfo=UTC))
    assert contoso_m365(cleared, NOVEMBER) == ["unchanged"] and cleared.status == "ok"
    assert sandboxes["atera"].writes() == writes
    assert main(["review", "--config", str(config), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["reconcile", "--period", NOVEMBER, "--config", str(config), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {row["status"] for row in rows} == {"invoiced as pushed"}
    assert main(["status", "--config", str(config), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["waiting"]["corrections"] == 0
