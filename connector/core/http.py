"""The one HTTP boundary: client building, retries, throttling, the status table and vendor requests.

Retries live here, once, as a transport wrapped around the real one, so that provider clients and business code
never loop or sleep. What a status code means (retry or not, which exception, what to fix) is one table, as data,
that vendors override row by row; `VendorHttp` is the one request path that turns every failure into the
connector's own exceptions. Clients receive an `httpx.Client`; tests hand them respx routes or a sandbox instead.
Paging lives in `connector.core.paging`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import tenacity
from pydantic import BaseModel, ConfigDict, Field

from connector import __version__
from connector.core.errors import DataError, RateLimitedError, VendorAuthError, VendorError
from connector.core.redact import redact

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]
# Told of every request a vendor client sends, once, after retries: the vendor, and the class name of the exception
# it ended in (None on success). The daemon's metrics listen here: the one boundary every vendor's call crosses.
REQUEST_OBSERVERS: list[Callable[[str, str | None], None]] = []


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


@dataclass(frozen=True)
class Rule:
    """What one status code means: whether the transport retries it, what the client raises, and what to fix
    (`hint`, said after "<where>: ", with `{status}` and `{detail}`, the vendor's own reason, filled in)."""

    retry: bool
    error: type[VendorError]
    hint: str


Rules = Mapping[int, Rule]

_SERVER_FAILING = "HTTP {status} after retries where safe: the server is failing; try again later"

# Error handling as data: every vendor starts from this table and overrides only the rows it knows better.
STATUS_RULES: dict[int, Rule] = {
    401: Rule(False, VendorAuthError, "access denied (401): {detail}; check the credentials in the configuration"),
    403: Rule(False, VendorAuthError, "access denied (403): {detail}; the credentials lack a permission this needs"),
    407: Rule(False, VendorAuthError, "HTTP 407: the proxy wants credentials; check the HTTPS_PROXY setting"),
    408: Rule(True, VendorError, "HTTP 408 after retries: the server kept timing out the request; try again later"),
    429: Rule(True, RateLimitedError, "still rate-limited (429) after retries; try again later"),
    500: Rule(True, VendorError, _SERVER_FAILING),
    502: Rule(True, VendorError, _SERVER_FAILING),
    503: Rule(True, VendorError, _SERVER_FAILING),
    504: Rule(True, VendorError, _SERVER_FAILING),
}
# Rows for codes the table does not list: other 4xx fail fast with the vendor's reason, other 5xx are retried.
CLIENT_ERROR = Rule(False, VendorError, "HTTP {status}: {detail}")
SERVER_ERROR = Rule(True, VendorError, _SERVER_FAILING)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def rule_for(status_code: int, overrides: Rules | None = None) -> Rule | None:
    """The rule for a status, a vendor's override first; None for a success (below 400)."""
    if status_code < 400:
        return None
    rule = (overrides or {}).get(status_code) or STATUS_RULES.get(status_code)
    return rule or (SERVER_ERROR if status_code >= 500 else CLIENT_ERROR)


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


def _where(request: httpx.Request) -> str:
    return f"{request.method} {safe_url(request.url)}"


def body_text(response: httpx.Response) -> str:
    """A response body fit for an error message: one line, at most 200 characters, secrets masked."""
    text = redact(response.text.strip().replace("\n", " "))
    return text[:200] if text else "no details given"


class _RetryableResponse(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class RetryAfterTooLong(httpx.TransportError):
    """The server asked us to wait longer than the configured maximum."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class RetryingTransport(httpx.BaseTransport):
    """Retries the table's retry rows (408/429/5xx) and transport errors with exponential backoff and Retry-After.

    Requests that are not idempotent (POST, PATCH) are retried only when they cannot have reached the server
    (connection failures) or when the server said so explicitly (429), so a retry never creates a record twice.
    After the last attempt the last response is returned, so the client can turn it into a readable error.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        settings: HttpSettings,
        *,
        sleep: Sleep = time.sleep,
        errors: Rules | None = None,
    ) -> None:
        self._inner = inner
        self._settings = settings
        self._sleep = sleep
        self._errors = errors

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RetryableResponse):
            asked = retry_after_seconds(error.response)
            if asked is not None:
                if asked > self._settings.max_retry_after_seconds:
                    raise RetryAfterTooLong(
                        f"server asked to retry after {asked:.0f}s, over http.max_retry_after_seconds",
                        error.response.status_code,
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
        rule = rule_for(response.status_code, self._errors)
        if rule is not None and rule.retry:
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
    errors: Rules | None = None,
    **client_options: Any,
) -> httpx.Client:
    """An `httpx.Client` with the project's timeouts, User-Agent, optional throttle and retries. `transport`
    replaces the network (tests pass `httpx.MockTransport` or nothing and use respx); `throttle` is
    `(max_requests, per_seconds)`; `sleep` and `clock` default to the real ones (tests pass fakes); `errors` are the
    vendor's overrides of the status table, so its retry rows are obeyed here too."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    inner: httpx.BaseTransport = transport if transport is not None else httpx.HTTPTransport()
    if throttle is not None:
        inner = ThrottledTransport(inner, throttle[0], throttle[1], clock=clock, sleep=sleep)
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": settings.user_agent, **(headers or {})},
        timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
        transport=RetryingTransport(inner, settings, sleep=sleep, errors=errors),
        event_hooks={"request": [_log_request], "response": [_log_response]},
        **client_options,
    )


class VendorHttp:
    """One vendor's requests through the boundary: every transport error and non-OK status becomes our exception."""

    def __init__(
        self,
        client: httpx.Client,
        vendor: str,
        *,
        errors: Rules | None = None,
        detail: Callable[[httpx.Response], str] = body_text,
    ) -> None:
        self.client = client
        self.vendor = vendor
        self._errors = dict(errors or {})
        self._detail = detail

    def send(
        self,
        method: str,
        url: str,
        *,
        where: str | None = None,
        errors: Rules | None = None,
        accept: Collection[int] = (),
        retry_safe: bool = False,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; a status in `accept` comes back for the caller to handle (a re-login, say). `errors`
        override the vendor's rows for this call; `retry_safe` vouches that a POST may be retried."""
        request = self.client.build_request(
            method, url, params=params, json=json_body, content=content, headers=headers,
            extensions={"retry_safe": retry_safe},
        )  # fmt: skip
        where = where or _where(request)
        try:
            response = self._exchange(request, where, errors, accept)
        except Exception as error:
            for observer in REQUEST_OBSERVERS:
                observer(self.vendor, type(error).__name__)
            raise
        for observer in REQUEST_OBSERVERS:
            observer(self.vendor, None)
        return response

    def _exchange(
        self, request: httpx.Request, where: str, errors: Rules | None, accept: Collection[int]
    ) -> httpx.Response:
        try:
            response = self.client.send(request)
        except RetryAfterTooLong as error:
            raise RateLimitedError(self.vendor, f"{where}: {error}", status_code=error.status_code) from error
        except httpx.TimeoutException as error:
            raise VendorError(
                self.vendor, f"{where}: timed out ({type(error).__name__}) after retries where safe; try again later"
            ) from error
        except httpx.RemoteProtocolError as error:
            # The server closed before the declared Content-Length: an answer cut short in transfer.
            raise DataError(
                f"{self.vendor}: {where}: the response ended early ({error}); it is truncated and nothing from it "
                "is billed"
            ) from error
        except httpx.HTTPError as error:
            raise VendorError(self.vendor, f"{where}: cannot reach the server: {error}") from error
        if response.status_code not in accept:
            self.raise_for_status(response, where=where, errors=errors)
        return response

    def raise_for_status(
        self, response: httpx.Response, *, where: str | None = None, errors: Rules | None = None
    ) -> None:
        """Raise what the table (the vendor's and this call's overrides first) says for a non-OK status."""
        status = response.status_code
        rule = rule_for(status, {**self._errors, **(errors or {})})
        if rule is None:
            return
        where = where or _where(response.request)
        hint = rule.hint.format(status=status, detail=self._detail(response))
        raise rule.error(self.vendor, f"{where}: {hint}", status_code=status)

    def decode(self, response: httpx.Response, *, where: str | None = None, allow_empty: bool = False) -> Any:
        """The JSON body with every number parsed straight to Decimal (never through float); None if empty allowed."""
        if allow_empty and (response.status_code == 204 or not response.content):
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as error:
            where = where or _where(response.request)
            raise DataError(f"{self.vendor}: {where}: response is not JSON ({len(response.content)} bytes)") from error
