"""Fixtures every test package shares: a fake monotonic clock for throttles and backoffs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector import redact


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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def write_vendor_config(directory: Path, section: str, *, max_attempts: int = 2) -> Path:
    """A connector.toml in `directory`: a store beside it, debug logs, quick retries, and one vendor's `section`."""
    config = directory / "connector.toml"
    header = f'[store]\npath = "state.db"\n\n[log]\nlevel = "DEBUG"\n\n[http]\nmax_attempts = {max_attempts}\n'
    config.write_text(f"{header}backoff_initial_seconds = 0\n\n{section.strip()}\n", encoding="utf-8")
    return config
