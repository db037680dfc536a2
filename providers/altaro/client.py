"""Altaro / Hornetsecurity report-link client: one GET with X-API-KEY, vendor answers turned into our exceptions.

The link answers a call made within 5 minutes of the previous one with 403 or 400 (not 429), and answers a key it
does not know, or an address off the link's allow list, with 401/403. The two look alike, so the caller says
whether the link was called within the window; a retry after a 5xx or a timeout (made by the HTTP boundary) is
always within it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from connector.core.errors import RateLimitedError, VendorAuthError, VendorError
from connector.core.http import HttpSettings, Rule, VendorHttp, build_client, safe_url

log = logging.getLogger(__name__)

VENDOR = "altaro"

_KEY_OR_ADDRESS = (
    "HTTP {status}: key rejected or this host's IP is not on the link's allow list; check the link's api_key and "
    "its allowed IP addresses under Manage Shared API Links"
)
# The link's own meaning of the shared status table.
ERRORS: dict[int, Rule] = {
    401: Rule(False, VendorAuthError, _KEY_OR_ADDRESS),
    403: Rule(False, VendorAuthError, _KEY_OR_ADDRESS),
    404: Rule(False, VendorError, "HTTP 404: no such link (revoked?); paste the whole link again"),
}
# Within the window the link answers its one-call-per-5-minutes rule with these, not with 429.
WINDOW_STATUSES = (400, 403)


def _window_errors(window: float) -> dict[int, Rule]:
    hint = (
        f"HTTP {{status}} within {window:.0f}s of an earlier call: the link allows one call per 5 minutes; the report "
        "is taken from the last stored copy or the next run"
    )
    return {status: Rule(False, RateLimitedError, hint) for status in WINDOW_STATUSES}


class AttemptCounter(httpx.BaseTransport):
    """Counts the requests that really go out (below the retrying transport), so a retry is recognised."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner
        self._local = threading.local()

    @property
    def attempts(self) -> int:
        return int(getattr(self._local, "attempts", 0))

    def reset(self) -> None:
        self._local.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._local.attempts = self.attempts + 1
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@dataclass(frozen=True)
class ReportResponse:
    status_code: int
    content_type: str | None
    body: bytes
    attempts: int


class AltaroClient:
    """Fetches report links; retries (5xx, timeouts) live in the `httpx.Client`'s transport."""

    def __init__(self, http: httpx.Client, counter: AttemptCounter | None = None) -> None:
        self._http = http
        self._api = VendorHttp(http, VENDOR, errors=ERRORS)
        self._counter = counter

    def close(self) -> None:
        self._http.close()

    def fetch(
        self,
        name: str,
        url: str,
        api_key: SecretStr,
        *,
        called_within_window: bool = False,
        window_seconds: float = 300,
    ) -> ReportResponse:
        """GET the link. `called_within_window`: the ledger holds a call to it less than the window ago."""
        where = f"link {name!r} ({safe_url(url)})"
        if self._counter is not None:
            self._counter.reset()
        # The window statuses come back unraised: only after the request is it known whether a retry happened.
        response = self._api.send(
            "GET", url, where=where, headers={"X-API-KEY": api_key.get_secret_value()}, accept=WINDOW_STATUSES
        )
        attempts = self._counter.attempts if self._counter is not None else 1
        within = called_within_window or attempts > 1
        self._api.raise_for_status(response, where=where, errors=_window_errors(window_seconds) if within else None)
        return ReportResponse(
            status_code=response.status_code,
            content_type=response.headers.get("Content-Type"),
            body=response.content,
            attempts=attempts,
        )


def build_altaro_client(
    http: HttpSettings,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> AltaroClient:
    """A retrying client; the key goes in each request's header (each link has its own)."""
    counter = AttemptCounter(transport if transport is not None else httpx.HTTPTransport())
    options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    client = build_client(
        http,
        headers={"Accept": "text/csv, application/json;q=0.9, */*;q=0.1"},
        transport=counter,
        errors=ERRORS,
        **options,
    )
    return AltaroClient(client, counter)
