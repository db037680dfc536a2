"""A run whose clock is earlier than the last run's start refuses to run, names both times and records nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from connector.operations.demo import STORE_NAME
from connector.store import Store
from tests.clock import FROZEN_AT

from .conftest import cli, sync


def recorded(config: Path) -> tuple[int, int, int]:
    """Runs, audit entries and line items in the store beside `config`."""
    with Store.open(config.parent / STORE_NAME) as store:
        count = store.database.execute
        return tuple(count(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("runs", "audit", "line_items"))  # type: ignore[return-value]


def test_a_sync_with_the_clock_set_back_a_month_refuses_and_records_nothing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, _ = sync(capsys, config)
    assert code == 0, report
    before = recorded(config)
    with time_machine.travel(FROZEN_AT - timedelta(days=35), tick=True):
        code, _, err = cli(capsys, "sync", "--config", str(config), "--format", "json")
        assert code == 1, err
        assert "clock" in err and FROZEN_AT.strftime("%Y-%m-%d") in err
        assert (FROZEN_AT - timedelta(days=35)).strftime("%Y-%m-%d") in err
        assert recorded(config) == before
    # With the clock right again, the next run goes on as if the refused one never happened.
    code, report, _ = sync(capsys, config)
    assert code == 0 and {line["outcome"] for line in report["lines"]} == {"unchanged"}, report


def test_a_clock_a_few_seconds_behind_the_last_run_still_runs(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = sync(capsys, config)
    assert code == 0
    # Two machines' clocks (or an NTP step) disagree by seconds, not by a month: that is not a clock set back.
    with time_machine.travel(FROZEN_AT - timedelta(seconds=30), tick=True):
        code, _, err = sync(capsys, config)
    assert code == 0, err
