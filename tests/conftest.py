"""Fixtures every test package shares: the frozen wall clock (tests/clock.py), a fake monotonic clock for throttles
and backoffs, and secrets and the command line's log handlers forgotten between tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from connector.core import redact
from tests.clock import FROZEN_AT


class WallClock:
    """The session's time travel: started once, moved back to `FROZEN_AT` before each module and test, and paused
    for a test marked `realtime` (one that needs the machine's own clock, and says why in its marker)."""

    def __init__(self) -> None:
        self.travel = time_machine.travel(FROZEN_AT, tick=True)
        self.coordinates: time_machine.Coordinates | None = self.travel.start()

    def reset(self) -> None:
        if self.coordinates is None:
            self.coordinates = self.travel.start()
        self.coordinates.move_to(FROZEN_AT)

    def pause(self) -> None:
        if self.coordinates is not None:
            self.travel.stop()
            self.coordinates = None


@pytest.fixture(scope="session", autouse=True)
def wall_clock() -> Iterator[WallClock]:
    clock = WallClock()
    yield clock
    clock.pause()


@pytest.fixture(scope="module", autouse=True)
def module_starts_at_the_frozen_instant(wall_clock: WallClock) -> None:
    """Module-scoped fixtures (sandboxes, reference runs) are built at the same instant as the tests."""
    wall_clock.reset()


@pytest.fixture(autouse=True)
def test_starts_at_the_frozen_instant(request: pytest.FixtureRequest, wall_clock: WallClock) -> None:
    if request.node.get_closest_marker("realtime"):
        wall_clock.pause()
    else:
        wall_clock.reset()


class FakeClock:
    """Monotonic time that only moves when someone sleeps: throttles and backoffs run instantly and are recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def secrets_are_forgotten_after_each_test() -> Iterator[None]:
    """Secrets registered by one test (even random ones a property test draws) must not mask another test's text."""
    before = set(redact._secrets)
    yield
    with redact._lock:
        redact._secrets.intersection_update(before)
        redact._forms = None


@pytest.fixture(autouse=True)
def cli_log_handlers_go_after_each_test() -> Iterator[None]:
    """A command run in the test's process installs its log handler on the test's captured stderr, which is closed
    after the test: a thread of the next test (a console's, a sandbox's) must not log to it."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_connector", False)]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def write_vendor_config(directory: Path, section: str, *, max_attempts: int = 2) -> Path:
    """A connector.toml in `directory`: a store beside it, debug logs, quick retries, and one vendor's `section`."""
    config = directory / "connector.toml"
    header = f'[store]\npath = "state.db"\n\n[log]\nlevel = "DEBUG"\n\n[http]\nmax_attempts = {max_attempts}\n'
    config.write_text(f"{header}backoff_initial_seconds = 0\n\n{section.strip()}\n", encoding="utf-8")
    return config
