"""A first sync larger than one run's Atera request budget: each `connector sync` pushes what the budget allows, says
how far it got, leaves the rest pending, and the next runs finish it with no write made twice."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.core.errors import Status
from connector.operations.alerts import conditions
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from connector.operations.run import sync_once
from connector.sync.report import RunReport
from connector.wiring import load_settings
from providers.altaro.demo import demo_report

from .conftest import cli, sync

# The demo's first push writes 17 times (3 rate products, 5 contracts created, 2 quantities set, 7 records).
FIRST_PUSH_WRITES = 17
BUDGET = 9


def test_a_first_sync_over_the_request_budget_goes_on_at_each_cycle_until_done(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture
) -> None:
    text = config.read_text()
    config.write_text(text.replace("window_seconds = 60\n", f"window_seconds = 60\nrequests_per_run = {BUDGET}\n"))
    atera = sandboxes["atera"]
    rounds: list[dict[str, int]] = []
    for _ in range(10):
        before = len(atera.requests)
        with caplog.at_level(logging.WARNING):
            code, report, _ = sync(capsys, config)
        totals = {k: v for k, v in report["totals"].items() if v}
        rounds.append(totals)
        assert code == 0 and report["status"] == "ok", report
        # A line is never started once the budget is spent: a run ends within one line's requests of it.
        assert len(atera.requests) - before < BUDGET + 4
        if not totals.get("pending"):
            break
        deferred = [line for line in report["lines"] if line["outcome"] == "pending"]
        assert all("requests_per_run allows" in line["reason"] for line in deferred)
        assert "go out next cycle" in caplog.text
        _, status, _ = cli(capsys, "status", "--config", str(config), "--format", "json")
        assert status["progress"] and status["progress"][0]["pending"] == totals["pending"]
        caplog.clear()
    assert len(rounds) > 2, rounds  # it did take several cycles
    assert rounds[-1].get("pending") is None
    assert len(atera.writes()) == FIRST_PUSH_WRITES
    # Every line is pushed once: the runs after the first find it in the outbox and write nothing more.
    code, report, _ = sync(capsys, config)
    assert code == 0 and {line["outcome"] for line in report["lines"]} == {"unchanged"}
    assert len(atera.writes()) == FIRST_PUSH_WRITES


@pytest.fixture
def november(tmp_path: Path) -> Iterator[Sandboxes]:
    """The sandboxes serving November 2026, for runs at chosen instants around its end."""
    with running_sandboxes(tmp_path, "2026-11") as running:
        yield running


def run_at(config: Path, sandboxes: Sandboxes, when: datetime) -> RunReport:
    sandboxes["altaro"].reset_window()  # the link's 5-minute rule is on the real clock
    return sync_once(load_settings(config), now=lambda: when)


def busy_invoices(count: int) -> list[dict[str, object]]:
    """Invoices of customers no mapping names, dated 1 December: a busy account's listing."""
    return [
        {
            "InvoiceNumber": 7000 + number,
            "IsAdhoc": False,
            "InvoiceDate": "2026-12-01T00:00:00",
            "ContractName": "Managed services",
            "PeriodStartDate": "2026-11-01T00:00:00",
            "PeriodEndDate": "2026-11-30T00:00:00",
            "LineItems": [],
            "To": {"CompanyName": f"Customer {number}"},
        }
        for number in range(count)
    ]


def test_a_long_invoice_listing_never_keeps_a_run_from_its_pushes_and_the_run_says_what_it_did_not_read(
    tmp_path: Path, november: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 20, row 6: the listing spent the budget at every cycle and every push was deferred, in silence.
    config = write_config(tmp_path, november)
    config.write_text(config.read_text() + "\n[billing]\ninvoice_day = 10\n")
    for day in range(1, 31):  # polled daily all November, without a budget
        run_at(config, november, datetime(2026, 11, day, 12, tzinfo=UTC))
    atera = november["atera"]
    atera.invoices.extend(busy_invoices(600))  # 12 pages of 50
    config.write_text(
        config.read_text().replace("window_seconds = 60\n", "window_seconds = 60\nrequests_per_run = 12\n")
    )
    # November's report, read again in December, has one more Contoso user: November's contract must get it.
    contoso = demo_report("2026-11").splitlines()[1]
    late = contoso.replace("Ada Moss", "Late Lee")
    november["altaro"].set_report("\r\n".join([*demo_report("2026-11").splitlines(), late, ""]))
    before = len(atera.requests)

    report = run_at(config, november, datetime(2026, 12, 2, 12, tzinfo=UTC))
    assert [
        (line.identity.psa_customer, line.identity.period_key) for line in report.lines if line.outcome == "pushed"
    ] == [("Contoso Ltd", "2026-11")], [(tuple(line.identity), line.outcome, line.reason) for line in report.lines]
    assert len(atera.requests) - before <= 12 + 2  # within the budget (a push started under it may finish)
    (problem,) = report.problems
    assert "read only in part" in problem and "requests_per_run" in problem
    assert report.status is Status.INCOMPLETE
    assert "requests_per_run" in conditions(report)["run"]  # what the alert says
    _, status, _ = cli(capsys, "status", "--config", str(config), "--format", "json")
    assert status["status"] == "incomplete" and any("requests_per_run" in note for note in status["attention"])
