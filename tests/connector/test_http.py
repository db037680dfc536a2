"""The HTTP boundary: retries, throttling, safe URLs, the status table and the one request path."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from connector.core.errors import DataError, RateLimitedError, VendorAuthError, VendorError
from connector.core.http import (
    STATUS_RULES,
    HttpSettings,
    RetryAfterTooLong,
    Rule,
    VendorHttp,
    body_text,
    build_client,
    rule_for,
    safe_url,
)
from connector.core.redact import register_secret

SETTINGS = HttpSettings(max_attempts=4, backoff_initial_seconds=1, backoff_max_seconds=5)


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def sequence(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)

    def answer(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return answer


@respx.mock
def test_5xx_then_success_backs_off_exponentially() -> None:
    route = respx.get("https://vendor.test/x").mock(
        side_effect=sequence(httpx.Response(500), httpx.Response(502), httpx.Response(200, json={"ok": True}))
    )
    sleep = Recorder()
    with build_client(SETTINGS, sleep=sleep) as client:
        response = client.get("https://vendor.test/x")
    assert response.json() == {"ok": True}
    assert route.call_count == 3
    assert sleep.sleeps == [1, 2]


@respx.mock
def test_429_honours_retry_after() -> None:
    respx.get("https://vendor.test/x").mock(
        side_effect=sequence(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200))
    )
    sleep = Recorder()
    with build_client(SETTINGS, sleep=sleep) as client:
        assert client.get("https://vendor.test/x").status_code == 200
    assert sleep.sleeps == [7]


@respx.mock
def test_retry_after_longer_than_allowed_fails() -> None:
    respx.get("https://vendor.test/x").mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    with build_client(SETTINGS, sleep=Recorder()) as client, pytest.raises(RetryAfterTooLong):
        client.get("https://vendor.test/x")


@respx.mock
def test_persistent_5xx_returns_the_last_response_after_max_attempts() -> None:
    route = respx.get("https://vendor.test/x").mock(return_value=httpx.Response(503, text="down"))
    with build_client(SETTINGS, sleep=Recorder()) as client:
        response = client.get("https://vendor.test/x")
    assert response.status_code == 503 and response.text == "down"
    assert route.call_count == SETTINGS.max_attempts


@respx.mock
def test_timeouts_are_retried_then_raised() -> None:
    route = respx.get("https://vendor.test/x").mock(side_effect=httpx.ReadTimeout("slow"))
    with build_client(SETTINGS, sleep=Recorder()) as client, pytest.raises(httpx.ReadTimeout):
        client.get("https://vendor.test/x")
    assert route.call_count == SETTINGS.max_attempts


@respx.mock
def test_post_is_not_retried_after_a_server_error_or_read_timeout() -> None:
    route = respx.post("https://vendor.test/contracts").mock(return_value=httpx.Response(500))
    with build_client(SETTINGS, sleep=Recorder()) as client:
        assert client.post("https://vendor.test/contracts", json={}).status_code == 500
    assert route.call_count == 1
    route.side_effect = httpx.ReadTimeout("maybe written")
    with build_client(SETTINGS, sleep=Recorder()) as client, pytest.raises(httpx.ReadTimeout):
        client.post("https://vendor.test/contracts", json={})
    assert route.call_count == 2


@respx.mock
def test_post_is_retried_when_it_never_reached_the_server_or_on_429() -> None:
    route = respx.post("https://vendor.test/contracts").mock(
        side_effect=sequence(httpx.ConnectError("refused"), httpx.Response(429), httpx.Response(201))
    )
    with build_client(SETTINGS, sleep=Recorder()) as client:
        assert client.post("https://vendor.test/contracts", json={}).status_code == 201
    assert route.call_count == 3


def test_throttle_never_exceeds_the_configured_rate() -> None:
    now = [0.0]
    sent: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(now[0])
        return httpx.Response(200)

    client = build_client(
        SETTINGS, transport=httpx.MockTransport(answer), throttle=(5, 10.0), sleep=sleep, clock=lambda: now[0]
    )
    for _ in range(23):
        client.get("https://vendor.test/x")
        now[0] += 0.1
    assert len(sent) == 23
    for index, moment in enumerate(sent):
        in_window = [t for t in sent[index:] if t - moment < 10.0]
        assert len(in_window) <= 5
    assert sent[-1] >= 40.0  # 23 requests at 5 per 10 s need at least four full windows


def test_user_agent_and_safe_url() -> None:
    seen: list[httpx.Request] = []
    client = build_client(SETTINGS, transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200)))
    client.get("https://vendor.test/x")
    assert seen[0].headers["User-Agent"].startswith("backup-billing-connector/")
    assert safe_url("https://user:pw@cmc.test/api/report?token=abc#x") == "https://cmc.test/api/report"


def test_a_post_is_retried_on_5xx_only_when_the_caller_vouches_for_it() -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503 if len(calls) % 2 else 200)

    client = build_client(HttpSettings(max_attempts=3), transport=httpx.MockTransport(answer), sleep=lambda _: None)
    assert client.post("https://vendor.test/records").status_code == 503
    assert len(calls) == 1
    calls.clear()
    assert client.post("https://vendor.test/session", extensions={"retry_safe": True}).status_code == 200
    assert len(calls) == 2


# -- the status table and the one request path -----------------------------------------------------------------

TABLE = HttpSettings(max_attempts=3, backoff_initial_seconds=0)
URL = "https://vendor.test/api/things?token=secret-in-query"

# What every status means to every vendor that does not override it: (retried, exception type, message fragment).
EXPECTED: dict[int, tuple[bool, type[VendorError], str]] = {
    400: (False, VendorError, "HTTP 400: the vendor's reason"),
    401: (False, VendorAuthError, "access denied (401): the vendor's reason; check the credentials"),
    403: (False, VendorAuthError, "access denied (403): the vendor's reason; the credentials lack a permission"),
    404: (False, VendorError, "HTTP 404: the vendor's reason"),
    407: (False, VendorAuthError, "HTTP 407: the proxy wants credentials"),
    408: (True, VendorError, "HTTP 408 after retries"),
    418: (False, VendorError, "HTTP 418: the vendor's reason"),
    429: (True, RateLimitedError, "still rate-limited (429) after retries"),
    500: (True, VendorError, "HTTP 500 after retries where safe: the server is failing"),
    502: (True, VendorError, "HTTP 502 after retries where safe"),
    503: (True, VendorError, "HTTP 503 after retries where safe"),
    504: (True, VendorError, "HTTP 504 after retries where safe"),
    599: (True, VendorError, "HTTP 599 after retries where safe"),
}


def vendor_http(answer: Callable[[httpx.Request], httpx.Response], errors: dict[int, Rule] | None = None) -> VendorHttp:
    client = build_client(TABLE, transport=httpx.MockTransport(answer), sleep=lambda _: None, errors=errors)
    return VendorHttp(client, "acme", errors=errors)


def counting(status: int, text: str = "the vendor's reason") -> tuple[list[httpx.Request], Callable[..., Any]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text=text)

    return seen, answer


def test_every_row_of_the_table_is_checked_here() -> None:
    assert set(STATUS_RULES) <= set(EXPECTED)


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_each_status_is_retried_or_not_and_raises_what_the_table_says(status: int) -> None:
    retried, error_type, fragment = EXPECTED[status]
    seen, answer = counting(status)
    with pytest.raises(VendorError) as caught:
        vendor_http(answer).send("GET", URL)
    assert type(caught.value) is error_type
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("acme: GET https://vendor.test/api/things: ")  # no query string
    assert caught.value.status_code == status and caught.value.vendor == "acme"
    assert len(seen) == (TABLE.max_attempts if retried else 1)


@pytest.mark.parametrize("status", [200, 201, 204, 304])
def test_a_status_below_400_comes_back_as_the_response(status: int) -> None:
    assert rule_for(status) is None
    assert vendor_http(counting(status)[1]).send("GET", URL).status_code == status


def test_a_vendor_override_replaces_only_its_own_rows() -> None:
    overrides = {404: Rule(False, VendorAuthError, "no such tenant ({status}): {detail}; check [acme] tenant")}
    with pytest.raises(VendorAuthError, match=r"no such tenant \(404\): the vendor's reason; check \[acme\] tenant"):
        vendor_http(counting(404)[1], overrides).send("GET", URL)
    with pytest.raises(VendorAuthError, match=r"access denied \(401\)"):
        vendor_http(counting(401)[1], overrides).send("GET", URL)


def test_an_override_can_make_a_status_retried_at_the_transport() -> None:
    seen, answer = counting(409)
    overrides = {409: Rule(True, VendorError, "HTTP 409 after retries: busy")}
    with pytest.raises(VendorError, match="busy"):
        vendor_http(answer, overrides).send("GET", URL)
    assert len(seen) == TABLE.max_attempts


def test_a_per_call_override_wins_over_the_vendors() -> None:
    vendor = vendor_http(counting(403)[1], {403: Rule(False, VendorAuthError, "vendor row")})
    with pytest.raises(RateLimitedError, match="call row"):
        vendor.send("GET", URL, errors={403: Rule(False, RateLimitedError, "call row")})


def test_an_accepted_status_is_handed_back_to_be_raised_later() -> None:
    vendor = vendor_http(counting(401)[1])
    response = vendor.send("GET", URL, accept=(401,))
    assert response.status_code == 401
    with pytest.raises(VendorAuthError, match=r"^acme: after re-login: refused$"):
        vendor.raise_for_status(response, where="after re-login", errors={401: Rule(False, VendorAuthError, "refused")})


def test_the_vendors_detail_parser_explains_the_error() -> None:
    client = build_client(TABLE, transport=httpx.MockTransport(lambda r: httpx.Response(400, json={"why": "bad"})))
    vendor = VendorHttp(client, "acme", detail=lambda response: f"because {response.json()['why']}")
    with pytest.raises(VendorError, match="HTTP 400: because bad"):
        vendor.send("GET", URL)


def test_body_text_is_one_short_line_with_secrets_masked() -> None:
    register_secret("body-secret-1234")
    text = body_text(httpx.Response(400, text="key body-secret-1234\nrefused " + "x" * 500))
    assert text.startswith("key *** refused ") and len(text) == 200
    assert body_text(httpx.Response(400)) == "no details given"


@pytest.mark.parametrize(
    ("raised", "expected", "fragment"),
    [
        (RetryAfterTooLong("server asked to retry after 3600s", 429), RateLimitedError, "retry after 3600s"),
        (httpx.ReadTimeout("slow"), VendorError, "timed out (ReadTimeout)"),
        (httpx.RemoteProtocolError("peer closed"), DataError, "ended early (peer closed); it is truncated"),
        (httpx.ConnectError("refused"), VendorError, "cannot reach the server: refused"),
    ],
)
def test_transport_errors_become_our_exceptions_from_the_original(
    raised: Exception, expected: type[Exception], fragment: str
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise raised

    with pytest.raises(expected) as caught:
        vendor_http(answer).send("GET", URL)
    assert type(caught.value) is expected and fragment in str(caught.value)
    assert caught.value.__cause__ is raised


def test_a_retry_after_too_long_from_the_real_transport_is_rate_limited() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"Retry-After": "3600"})

    with pytest.raises(RateLimitedError, match=r"over http\.max_retry_after_seconds") as caught:
        vendor_http(answer).send("GET", URL)
    assert caught.value.status_code == 503 and isinstance(caught.value.__cause__, RetryAfterTooLong)
    assert len(seen) == 1


def test_decode_parses_decimals_and_refuses_what_is_not_json() -> None:
    vendor = vendor_http(counting(200)[1])
    request = httpx.Request("GET", URL)
    assert vendor.decode(httpx.Response(200, content=b'{"amount": 0.1}', request=request)) == {"amount": Decimal("0.1")}
    with pytest.raises(DataError, match=r"acme: GET https://vendor.test/api/things: response is not JSON \(6 bytes\)"):
        vendor.decode(httpx.Response(200, content=b"<html>", request=request))
    empty = httpx.Response(204, request=request)
    assert vendor.decode(empty, allow_empty=True) is None
    with pytest.raises(DataError, match="not JSON"):
        vendor.decode(empty)
