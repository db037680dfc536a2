"""A first sync larger than one run's Atera request budget: each `connector sync` pushes what the budget allows, says
how far it got, leaves the rest pending, and the next runs finish it with no write made twice."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connector.demo import Sandboxes

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
