"""The HTTP boundary: retries with backoff and Retry-After, no blind retry of writes, throttling, safe URLs."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import respx

from connector.http import Action, HttpSettings, RetryAfterTooLong, action_for, build_client, safe_url

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


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (200, Action.OK),
        (401, Action.CONFIG),
        (403, Action.CONFIG),
        (404, Action.FAIL),
        (400, Action.FAIL),
        (429, Action.RETRY),
        (500, Action.RETRY),
        (503, Action.RETRY),
        (599, Action.RETRY),
    ],
)
def test_status_table(status: int, action: Action) -> None:
    assert action_for(status) is action


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
