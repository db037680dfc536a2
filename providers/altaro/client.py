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

from connector.errors import DataError, RateLimitedError, VendorAuthError, VendorError
from connector.http import Action, HttpSettings, RetryAfterTooLong, action_for, build_client, safe_url

log = logging.getLogger(__name__)

VENDOR = "altaro"


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
    """A report as the link returned it."""

    status_code: int
    content_type: str | None
    body: bytes
    attempts: int


def _detail(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200] if text else "no details given"


class AltaroClient:
    """Fetches report links; retries (5xx, timeouts) live in the `httpx.Client`'s transport."""

    def __init__(self, http: httpx.Client, counter: AttemptCounter | None = None) -> None:
        self._http = http
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
        try:
            response = self._http.get(url, headers={"X-API-KEY": api_key.get_secret_value()})
        except RetryAfterTooLong as error:
            raise RateLimitedError(VENDOR, f"{where}: {error}", status_code=429) from error
        except httpx.TimeoutException as error:
            raise VendorError(VENDOR, f"{where}: timed out ({type(error).__name__}) after retries") from error
        except httpx.RemoteProtocolError as error:
            # The server closed before the declared Content-Length: a report cut short in transfer.
            raise DataError(
                f"{VENDOR}: {where}: the response ended early ({error}); the report is truncated and nothing "
                "from it is billed"
            ) from error
        except httpx.HTTPError as error:
            raise VendorError(VENDOR, f"{where}: cannot reach the link: {error}") from error
        attempts = self._counter.attempts if self._counter is not None else 1
        self._raise_for(response, where, within_window=called_within_window or attempts > 1, window=window_seconds)
        return ReportResponse(
            status_code=response.status_code,
            content_type=response.headers.get("Content-Type"),
            body=response.content,
            attempts=attempts,
        )

    @staticmethod
    def _raise_for(response: httpx.Response, where: str, *, within_window: bool, window: float) -> None:
        status = response.status_code
        action = action_for(status)
        if action is Action.OK:
            return
        if status in (400, 403) and within_window:
            raise RateLimitedError(
                VENDOR,
                f"{where}: HTTP {status} within {window:.0f}s of an earlier call: the link allows one call per "
                "5 minutes; the report is taken from the last stored copy or the next run",
                status_code=status,
            )
        if status in (401, 403):
            raise VendorAuthError(
                VENDOR,
                f"{where}: HTTP {status}: key rejected or this host's IP is not on the link's allow list; check the "
                "link's api_key and its allowed IP addresses under Manage Shared API Links",
                status_code=status,
            )
        if status == 429:
            raise RateLimitedError(VENDOR, f"{where}: still rate-limited (429) after retries", status_code=429)
        if status == 404:
            raise VendorError(
                VENDOR, f"{where}: HTTP 404: no such link (revoked?); paste the whole link again", status_code=404
            )
        if action is Action.RETRY:
            raise VendorError(
                VENDOR, f"{where}: HTTP {status} after retries: the vendor is failing; try later", status_code=status
            )
        raise VendorError(VENDOR, f"{where}: HTTP {status}: {_detail(response)}", status_code=status)


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
        http, headers={"Accept": "text/csv, application/json;q=0.9, */*;q=0.1"}, transport=counter, **options
    )
    return AltaroClient(client, counter)
