"""The one place HTTP clients are built: timeouts, User-Agent, throttling, retries and log redaction.

Retries live here, once, as a transport wrapped around the real one, so that provider clients and business code
never loop or sleep. Clients receive an `httpx.Client`; tests hand them respx routes or a sandbox instead.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import httpx
import tenacity
from pydantic import BaseModel, ConfigDict, Field

from connector import __version__
from connector.redact import redact

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]


class HttpSettings(BaseModel):
    """Timeouts and retry limits for every vendor call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(default=30.0, gt=0, description="Read/write timeout of one request")
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=20, description="Tries per request, the first included")
    backoff_initial_seconds: float = Field(default=1.0, ge=0)
    backoff_max_seconds: float = Field(default=60.0, ge=0)
    max_retry_after_seconds: float = Field(
        default=300.0, ge=0, description="Longest Retry-After the connector will wait out; longer fails"
    )
    user_agent: str = f"backup-billing-connector/{__version__}"


class Action(Enum):
    """What a status code means for the caller."""

    OK = "ok"
    RETRY = "retry"
    CONFIG = "fail as configuration error"
    FAIL = "fail"


# Error handling as data: the table every provider client consults before raising its own exception.
STATUS_ACTIONS: dict[int, Action] = {
    401: Action.CONFIG,
    403: Action.CONFIG,
    407: Action.CONFIG,
    408: Action.RETRY,
    429: Action.RETRY,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def action_for(status_code: int) -> Action:
    if status_code < 400:
        return Action.OK
    return STATUS_ACTIONS.get(status_code, Action.RETRY if status_code >= 500 else Action.FAIL)


def safe_url(url: httpx.URL | str) -> str:
    """A URL fit for logs and errors: no query string (links may carry tokens), no user info."""
    parsed = httpx.URL(str(url))
    return redact(str(parsed.copy_with(query=None, fragment=None, userinfo=b"")))


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _RetryableResponse(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class RetryAfterTooLong(httpx.TransportError):
    """The server asked us to wait longer than the configured maximum."""


class RetryingTransport(httpx.BaseTransport):
    """Retries 408/429/5xx and transport errors with exponential backoff, honouring Retry-After.

    Requests that are not idempotent (POST, PATCH) are retried only when they cannot have reached the server
    (connection failures) or when the server said so explicitly (429), so a retry never creates a record twice.
    After the last attempt the last response is returned, so the client can turn it into a readable error.
    """

    def __init__(self, inner: httpx.BaseTransport, settings: HttpSettings, *, sleep: Sleep = time.sleep) -> None:
        self._inner = inner
        self._settings = settings
        self._sleep = sleep

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RetryableResponse):
            asked = retry_after_seconds(error.response)
            if asked is not None:
                if asked > self._settings.max_retry_after_seconds:
                    raise RetryAfterTooLong(
                        f"server asked to retry after {asked:.0f}s, over http.max_retry_after_seconds"
                    )
                return asked
        exponential = self._settings.backoff_initial_seconds * 2 ** (state.attempt_number - 1)
        return float(min(self._settings.backoff_max_seconds, exponential))

    def _retryable(self, request: httpx.Request, error: BaseException) -> bool:
        # A client may vouch for a POST that creates nothing billable (a login) with extensions={"retry_safe": True}.
        idempotent = request.method in IDEMPOTENT_METHODS or bool(request.extensions.get("retry_safe"))
        if isinstance(error, _RetryableResponse):
            return idempotent or error.response.status_code == 429
        if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        return idempotent and isinstance(error, httpx.TransportError)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        request: httpx.Request = state.args[0]
        log.warning(
            "%s %s failed (%s), attempt %d of %d; retrying in %.1fs",
            request.method,
            safe_url(request.url),
            error,
            state.attempt_number,
            self._settings.max_attempts,
            state.upcoming_sleep,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._settings.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception(lambda error: self._retryable(request, error)),
            before_sleep=self._log_retry,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._send_once, request)
        except _RetryableResponse as exhausted:
            return exhausted.response

    def _send_once(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if action_for(response.status_code) is Action.RETRY:
            response.read()
            response.close()
            raise _RetryableResponse(response)
        return response

    def close(self) -> None:
        self._inner.close()


class ThrottledTransport(httpx.BaseTransport):
    """Client-side rate limit: at most `max_requests` in any `per_seconds` window, waiting when it is spent."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        max_requests: int,
        per_seconds: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if max_requests < 1 or per_seconds <= 0:
            raise ValueError("throttle needs max_requests >= 1 and per_seconds > 0")
        self._inner = inner
        self._max = max_requests
        self._window = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def _admit(self) -> None:
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self._window:
                    self._sent.popleft()
                if len(self._sent) < self._max:
                    self._sent.append(now)
                    return
                self._sleep(self._window - (now - self._sent[0]))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._admit()
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _log_request(request: httpx.Request) -> None:
    log.debug("-> %s %s", request.method, safe_url(request.url))


def _log_response(response: httpx.Response) -> None:
    log.debug("<- %s %s %d", response.request.method, safe_url(response.request.url), response.status_code)


def build_client(
    settings: HttpSettings,
    *,
    base_url: str = "",
    headers: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    throttle: tuple[int, float] | None = None,
    sleep: Sleep | None = None,
    clock: Clock | None = None,
    **client_options: Any,
) -> httpx.Client:
    """An `httpx.Client` with the project's timeouts, User-Agent, optional throttle and retries.

    `transport` replaces the network (tests pass `httpx.MockTransport` or nothing and use respx);
    `throttle` is `(max_requests, per_seconds)`; `sleep` and `clock` default to the real ones (tests pass fakes).
    """
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    inner: httpx.BaseTransport = transport if transport is not None else httpx.HTTPTransport()
    if throttle is not None:
        inner = ThrottledTransport(inner, throttle[0], throttle[1], clock=clock, sleep=sleep)
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": settings.user_agent, **(headers or {})},
        timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
        transport=RetryingTransport(inner, settings, sleep=sleep),
        event_hooks={"request": [_log_request], "response": [_log_response]},
        **client_options,
    )
