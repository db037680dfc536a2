"""A back-off shared by every request of a client: one 429 pauses all the requests sent concurrently through it.

Retries stay in `RetryingTransport` (per request); this gate sits under it, so when several threads list a vendor
at once and one is told to slow down, the others wait for the same `Retry-After` instead of each earning its own 429.
"""

from __future__ import annotations

import threading
import time

import httpx

from connector.core.http import Clock, Sleep, retry_after_seconds


class SharedBackoff(httpx.BaseTransport):
    """Holds every request until the latest `Retry-After` (or `pause_seconds` when none is given) has passed."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        pause_seconds: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._inner = inner
        self._pause = pause_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._resume_at = float("-inf")
        # The thread that was told to slow down waits in its own retry; only the others are held here.
        self._told: int | None = None
        self.pauses = 0  # how many answers asked the whole client to slow down

    def _wait_turn(self) -> None:
        with self._lock:
            left = self._resume_at - self._clock()
            if left <= 0 or self._told == threading.get_ident():
                return
        self._sleep(left)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._wait_turn()
        response = self._inner.handle_request(request)
        if response.status_code == 429:
            asked = retry_after_seconds(response)
            with self._lock:
                self.pauses += 1
                until = self._clock() + (asked if asked is not None else self._pause)
                if until > self._resume_at:
                    self._resume_at, self._told = until, threading.get_ident()
        return response

    def close(self) -> None:
        self._inner.close()
