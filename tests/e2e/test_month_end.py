"""End to end over a month end with the sandboxes and a frozen clock: November is invoiced as pushed, then December."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.config import load_settings
from connector.demo import Sandboxes, running_sandboxes, write_config
from connector.report import RunReport
from connector.sync import sync_once
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
