"""Fixtures every test package shares: a fake monotonic clock for throttles and backoffs."""

from __future__ import annotations

import pytest


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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
