"""The report-link client against respx: the key header, errors made readable, retries at the HTTP boundary."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import respx
from pydantic import SecretStr

from connector.core.errors import DataError, RateLimitedError, VendorAuthError, VendorError
from connector.core.http import HttpSettings, RetryAfterTooLong
from connector.core.redact import register_secret
from providers.altaro.client import AltaroClient, build_altaro_client

from .conftest import FakeClock

URL = "https://cmc.example.test/api/billing-report/abc123?format=csv"
KEY = "respx-altaro-key-5f1e2d3c4b5a"
CSV = "Customer Name,Object Type Backed Up,Object Name\r\nC,Mailbox,a\r\n"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def client(http_settings: HttpSettings, clock: FakeClock) -> Iterator[AltaroClient]:
    register_secret(KEY)
    made = build_altaro_client(http_settings, sleep=clock.sleep)
    yield made
    made.close()


def fetch(client: AltaroClient, **options: bool) -> object:
    return client.fetch("all", URL, SecretStr(KEY), **options)  # type: ignore[arg-type]


def test_sends_the_key_in_x_api_key_and_returns_the_body(router: respx.MockRouter, client: AltaroClient) -> None:
    route = router.get(URL).respond(200, text=CSV, headers={"Content-Type": "text/csv"})
    got = client.fetch("all", URL, SecretStr(KEY))
    assert got.body == CSV.encode() and got.content_type == "text/csv" and got.attempts == 1
    assert route.calls.last.request.headers["X-API-KEY"] == KEY


@pytest.mark.parametrize("status", [401, 403])
def test_401_403_outside_the_window_is_a_key_or_allow_list_problem(
    router: respx.MockRouter, client: AltaroClient, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    router.get(URL).respond(status, text=f"Forbidden for key {KEY}")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(VendorAuthError) as caught:
        fetch(client)
    message = str(caught.value)
    assert "key rejected or this host's IP is not on the link's allow list" in message
    assert KEY not in message and "format=csv" not in message  # neither the key nor the link's query string
    assert caught.value.exit_code == 2
    assert KEY not in caplog.text


@pytest.mark.parametrize("status", [400, 403])
def test_400_403_within_the_window_is_the_rate_limit(
    router: respx.MockRouter, client: AltaroClient, status: int
) -> None:
    router.get(URL).respond(status, text="Bad Request")
    with pytest.raises(RateLimitedError, match="one call per 5 minutes"):
        fetch(client, called_within_window=True)


def test_400_outside_the_window_is_a_plain_vendor_error(router: respx.MockRouter, client: AltaroClient) -> None:
    router.get(URL).respond(400, text="the link is malformed")
    with pytest.raises(VendorError, match="HTTP 400: the link is malformed") as caught:
        fetch(client)
    assert not isinstance(caught.value, RateLimitedError | VendorAuthError)


def test_5xx_is_retried_with_backoff_then_succeeds(
    router: respx.MockRouter, client: AltaroClient, clock: FakeClock
) -> None:
    route = router.get(URL).mock(side_effect=[httpx.Response(503), httpx.Response(200, text=CSV)])
    got = client.fetch("all", URL, SecretStr(KEY))
    assert route.call_count == 2 and got.attempts == 2 and clock.sleeps == [1.0]


def test_a_403_on_a_retry_after_a_5xx_is_the_rate_limit(router: respx.MockRouter, client: AltaroClient) -> None:
    router.get(URL).mock(side_effect=[httpx.Response(502), httpx.Response(403, text="Forbidden")])
    with pytest.raises(RateLimitedError):
        fetch(client)


def test_5xx_after_every_retry_fails(router: respx.MockRouter, client: AltaroClient, clock: FakeClock) -> None:
    route = router.get(URL).respond(500)
    with pytest.raises(VendorError, match="HTTP 500 after retries"):
        fetch(client)
    assert route.call_count == 3 and clock.sleeps == [1.0, 2.0]


def test_timeouts_are_retried_then_fail_readably(router: respx.MockRouter, client: AltaroClient) -> None:
    route = router.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(VendorError, match="timed out"):
        fetch(client)
    assert route.call_count == 3


def test_a_timeout_then_success(router: respx.MockRouter, client: AltaroClient) -> None:
    router.get(URL).mock(side_effect=[httpx.ConnectTimeout("slow"), httpx.Response(200, text=CSV)])
    assert client.fetch("all", URL, SecretStr(KEY)).body == CSV.encode()


def test_a_transfer_cut_short_is_a_data_error(router: respx.MockRouter, client: AltaroClient) -> None:
    router.get(URL).mock(side_effect=httpx.RemoteProtocolError("peer closed connection without sending complete body"))
    with pytest.raises(DataError, match="truncated"):
        fetch(client)


def test_404_says_the_link_may_be_revoked(router: respx.MockRouter, client: AltaroClient) -> None:
    router.get(URL).respond(404)
    with pytest.raises(VendorError, match="revoked"):
        fetch(client)


def test_a_retry_after_over_the_limit_is_the_rate_limit_not_a_vendor_failure(
    router: respx.MockRouter, client: AltaroClient
) -> None:
    route = router.get(URL).respond(429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitedError, match=r"over http\.max_retry_after_seconds") as caught:
        fetch(client)
    assert isinstance(caught.value.__cause__, RetryAfterTooLong) and caught.value.status_code == 429
    assert route.call_count == 1
