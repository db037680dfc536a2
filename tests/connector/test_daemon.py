"""The daemon loop keeps going through failures and stops when told."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest

from connector.daemon import run_forever
from connector.errors import VendorError
from connector.report import RunReport


def test_failures_are_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    outcomes: list[object] = [VendorError("altaro", "HTTP 503"), KeyError("bug"), "ok"]

    def cycle() -> RunReport:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return RunReport(run_id=1, started_at=datetime.now(UTC), dry_run=False)

    failures = run_forever(cycle, 0, threading.Event(), max_cycles=3)
    assert failures == 2 and outcomes == []
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("ERROR", "sync cycle 1 failed: altaro: HTTP 503") in messages
    assert any(level == "ERROR" and "failed unexpectedly" in text for level, text in messages)
    # The redacting filter renders the traceback into exc_text (masked) before any handler sees it.
    assert any(r.exc_info or r.exc_text for r in caplog.records if "unexpectedly" in r.getMessage())
    assert ("INFO", "sync cycle 3: ok (0 pushed, 0 unchanged, 0 held, 0 blocked, 0 failed, 0 unmapped)") in messages


def test_stop_event_ends_the_loop_between_cycles() -> None:
    stop = threading.Event()
    calls = 0

    def cycle() -> RunReport:
        nonlocal calls
        calls += 1
        stop.set()
        return RunReport(run_id=None, started_at=datetime.now(UTC), dry_run=False)

    assert run_forever(cycle, 3600, stop) == 0
    assert calls == 1
