"""The daemon loop keeps going through failures, stops when told, reads secret files at each cycle and reloads its
configuration on SIGHUP (only a valid one)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connector import operations
from connector.cli import main
from connector.core.config import Settings
from connector.core.errors import ConfigError, Status, VendorError
from connector.operations.demo import running_sandboxes, write_config
from connector.operations.run import sync_once
from connector.sync.report import RunReport
from connector.unattended.daemon import ConfigReload, install_reload_signal, run_forever
from connector.wiring import load_settings
from tests.clock import MONTH
from tests.connector.test_alerts import Receiver, receiver

__all__ = ["receiver"]  # the webhook fixture, shared with the alerts tests


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


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """The daemon installs handlers in this (pytest's) process: put the previous ones back afterwards."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    # Unhandled, a SIGHUP would end pytest itself (its default action) instead of failing the test.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def ran() -> RunReport:
    return RunReport(run_id=1, started_at=datetime.now(UTC), dry_run=False)


def write(config: Path, review: str, *, log: str = "INFO") -> Path:
    config.write_text(
        f'[store]\npath = "state.db"\n\n[log]\nlevel = "{log}"\n\n[review]\n{review}\n\n'
        '[alerts]\nurls = [{ env = "TEST_ALERT_URL" }]\n',
        encoding="utf-8",
    )
    return config


def test_a_key_file_fixed_while_the_daemon_runs_is_used_at_the_next_cycle_and_both_are_told(
    receiver: Receiver, tmp_path: Path
) -> None:
    with running_sandboxes(tmp_path, MONTH) as sandboxes:
        config = write_config(tmp_path, sandboxes)
        text = config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0")
        config.write_text(text + '\n[alerts]\nurls = [{ env = "TEST_ALERT_URL" }]\n')
        key = tmp_path / "secrets" / "atera.key"
        right = key.read_text()
        key.write_text("0123456789abcdef0123456789abcdef\n")  # a key Atera refuses
        settings = load_settings(config)
        statuses: list[object] = []

        def observe(report: RunReport | None, seconds: float, error: BaseException | None) -> None:
            statuses.append(report.status if report is not None else error)
            key.write_text(right)  # the operator fixes the key file; nobody restarts the daemon

        run_forever(lambda: sync_once(settings), 0, threading.Event(), max_cycles=2, on_cycle=observe)
    assert statuses == [Status.INVALID, Status.OK]
    titles = [body["title"] for body in receiver.bodies]
    assert titles == ["backup-billing connector: 1 new to look at", "backup-billing connector: recovered"]
    assert "invalid" in receiver.bodies[0]["message"] and "api_key" in receiver.bodies[0]["message"]


def test_sighup_reloads_the_configuration_used_from_the_next_cycle(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, signal_handlers: None
) -> None:
    caplog.set_level(logging.INFO)
    config = write(tmp_path / "connector.toml", "max_change_percent = 50")
    reload = ConfigReload(load_settings(config), lambda: load_settings(config))
    install_reload_signal(reload)
    seen: list[Decimal] = []

    def cycle() -> RunReport:
        seen.append(reload.settings.review.max_change_percent)
        if len(seen) == 1:
            write(config, "max_change_percent = 20", log="DEBUG")
            os.kill(os.getpid(), signal.SIGHUP)  # `systemctl reload`
        return ran()

    run_forever(cycle, 0, threading.Event(), max_cycles=2, reload=reload)
    assert seen == [Decimal(50), Decimal(20)]
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", "received SIGHUP: reloading the configuration") in messages
    assert ("INFO", "configuration reloaded") in messages
    # The endpoints, the log and the store were set up at start: those sections wait for a restart, and say so.
    assert reload.settings.log.level == "INFO"
    assert ("WARNING", "configuration reloaded, but [log] takes effect at the next restart") in messages


def test_an_invalid_configuration_on_sighup_keeps_the_old_one_logs_and_alerts(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture, signal_handlers: None
) -> None:
    config = write(tmp_path / "connector.toml", "max_change_percent = 50")
    reload = ConfigReload(load_settings(config), lambda: load_settings(config))
    install_reload_signal(reload)
    seen: list[Decimal] = []

    def cycle() -> RunReport:
        seen.append(reload.settings.review.max_change_percent)
        if len(seen) == 1:
            write(config, 'max_change_percent = "lots"')
            os.kill(os.getpid(), signal.SIGHUP)
        return ran()

    run_forever(cycle, 0, threading.Event(), max_cycles=2, reload=reload)
    assert seen == [Decimal(50), Decimal(50)]
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [f"configuration not reloaded, the previous one stays in use: {refused.value}"]
    assert [body["title"] for body in receiver.bodies] == ["backup-billing connector: configuration not reloaded"]
    assert str(refused.value) in receiver.bodies[0]["message"]


def test_sighup_while_the_daemon_waits_is_acted_on_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, signal_handlers: None
) -> None:
    # An operator who runs `systemctl reload` learns within a second, not an interval later, what became of it.
    caplog.set_level(logging.INFO)
    config = write(tmp_path / "connector.toml", "max_change_percent = 50")
    reload = ConfigReload(load_settings(config), lambda: load_settings(config))
    install_reload_signal(reload)
    stop = threading.Event()

    def operator() -> None:
        write(config, "max_change_percent = 20")
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 10
        while reload.settings.review.max_change_percent != 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()

    def cycle() -> RunReport:
        threading.Thread(target=operator).start()
        return ran()

    began = time.monotonic()
    run_forever(cycle, 3600, stop, reload=reload)
    assert reload.settings.review.max_change_percent == 20 and time.monotonic() - began < 10


def test_the_daemon_command_reloads_its_configuration_file_on_sighup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signal_handlers: None
) -> None:
    config = write(tmp_path / "connector.toml", "max_change_percent = 50")
    seen: list[Decimal] = []

    def sync(settings: Settings) -> RunReport:
        seen.append(settings.review.max_change_percent)
        if len(seen) == 1:
            write(config, "max_change_percent = 20")
            os.kill(os.getpid(), signal.SIGHUP)
        return ran()

    monkeypatch.setattr(operations, "sync", sync)
    assert main(["daemon", "--config", str(config), "--interval", "1", "--cycles", "2"]) == 0
    assert seen == [Decimal(50), Decimal(20)]


def test_a_reload_that_raises_unexpectedly_keeps_the_configuration_and_the_daemon(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write(tmp_path / "connector.toml", "max_change_percent = 50")
    settings = load_settings(config)

    def broken() -> Settings:
        raise RuntimeError("a bug while loading")

    reload = ConfigReload(settings, broken)
    reload.requested.set()
    assert run_forever(ran, 0, threading.Event(), max_cycles=1, reload=reload) == 0
    assert reload.settings is settings
    errors = {r.getMessage(): r for r in caplog.records if r.levelname == "ERROR"}
    record = errors["configuration not reloaded, the previous one stays in use"]
    assert record.exc_info or record.exc_text  # a bug: its traceback is in the log
    # TEST_ALERT_URL is not set here: an alert that cannot be sent is logged, and the daemon goes on too.
    assert any(message.startswith("the alert that the configuration was not reloaded") for message in errors)
