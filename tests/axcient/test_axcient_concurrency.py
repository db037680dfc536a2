"""Concurrent account lists: bounded by [axcient] concurrency, the same answers as one at a time, and a 429 that one
list meets pauses the others for its Retry-After."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from connector.core.backoff import SharedBackoff
from connector.core.errors import VendorError
from connector.core.http import HttpSettings
from providers.axcient.generate import generate_dataset
from providers.axcient.sandbox import AxcientSandbox
from providers.axcient.source import AxcientSource
from providers.sandbox import Fault, SandboxRequest, SandboxResponse

from ..conftest import FakeClock
from .conftest import PASSWORD, axcient_settings, client_factory

OBSERVED_AT = datetime(2026, 11, 15, 12, tzinfo=UTC)
CUSTOMERS = 24


class CountingSandbox(AxcientSandbox):
    """The portal, counting how many account lists it serves at the same moment."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gauge = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        with self._gauge:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(0.015)  # a distant portal: lists overlap when the client lets them
            return super().handle(request)
        finally:
            with self._gauge:
                self.in_flight -= 1


def collect(server: AxcientSandbox, concurrency: int, clock: FakeClock | None = None, **settings: Any) -> Any:
    configured = axcient_settings(server.url, per_page=5, concurrency=concurrency, **settings)
    http = HttpSettings(max_attempts=6, backoff_initial_seconds=0.01)
    options: dict[str, Any] = {"sleep": clock.sleep, "clock": clock} if clock is not None else {}
    source = AxcientSource(configured, client_factory(configured, http, **options), now=lambda: OBSERVED_AT)
    return source.collect()


def answers(report: Any) -> list[Any]:
    return [dataclasses.asdict(customer) for customer in report.customers]


def test_concurrent_lists_are_bounded_and_give_the_same_answers_as_one_at_a_time() -> None:
    data = generate_dataset(CUSTOMERS, seed=3)
    with CountingSandbox(data, password=PASSWORD) as server:
        sequential = collect(server, concurrency=1)
        assert server.most_in_flight == 1
        concurrent = collect(server, concurrency=4)
    assert 2 <= server.most_in_flight <= 4
    assert concurrent.complete and answers(concurrent) == answers(sequential)
    assert len(concurrent.customers) == CUSTOMERS


def test_429s_met_by_concurrent_lists_are_retried_to_the_same_answers() -> None:
    data = generate_dataset(CUSTOMERS, seed=4)
    with AxcientSandbox(data, password=PASSWORD) as plain:
        expected = answers(collect(plain, concurrency=1))
    clock = FakeClock()
    with AxcientSandbox(data, password=PASSWORD, rate_limit_every=4, retry_after=7) as limited:
        report = collect(limited, concurrency=4, clock=clock)
        assert limited.rate_limited > 3
    assert report.complete and answers(report) == expected
    # Every wait is the portal's Retry-After, or what is left of it for a list another one's 429 paused.
    assert clock.sleeps and all(0 < s <= 7 for s in clock.sleeps)


def test_a_429_pauses_the_other_requests_for_its_retry_after_but_not_its_own_retry() -> None:
    clock = FakeClock()
    answered = iter([httpx.Response(429, headers={"Retry-After": "6"}), httpx.Response(200), httpx.Response(200)])
    gate = SharedBackoff(httpx.MockTransport(lambda request: next(answered)), clock=clock, sleep=clock.sleep)
    request = httpx.Request("GET", "https://portal.example/api/v1/accounts")
    told = threading.Thread(target=gate.handle_request, args=(request,))
    told.start()
    told.join()
    assert (gate.pauses, clock.sleeps) == (1, [])
    clock.now += 2  # two seconds later another list starts: it waits the four left
    assert gate.handle_request(request).status_code == 200
    assert clock.sleeps == [4.0]
    assert gate.handle_request(request).status_code == 200  # the pause is over: no more waiting
    assert clock.sleeps == [4.0]


def test_a_429_without_retry_after_pauses_the_others_for_the_first_backoff() -> None:
    clock = FakeClock()
    answered = iter([httpx.Response(429), httpx.Response(200)])
    gate = SharedBackoff(
        httpx.MockTransport(lambda request: next(answered)), pause_seconds=1.5, clock=clock, sleep=clock.sleep
    )
    request = httpx.Request("GET", "https://portal.example/api/v1/accounts")
    told = threading.Thread(target=gate.handle_request, args=(request,))
    told.start()
    told.join()
    gate.handle_request(request)
    assert clock.sleeps == [1.5]


def test_a_session_expiring_while_lists_run_concurrently_is_renewed_and_shared() -> None:
    ticks = iter(range(10**6))
    data = generate_dataset(CUSTOMERS, seed=5)
    # Each request moves the portal's clock a second; a token lasts 40 requests: it expires during the lists.
    with AxcientSandbox(data, password=PASSWORD, token_lifetime=40, clock=lambda: float(next(ticks))) as server:
        report = collect(server, concurrency=4)
        logins = len(server.api_requests("/api/v1/session"))
    assert report.complete and len(report.customers) == CUSTOMERS
    assert 1 < logins < CUSTOMERS


def test_a_portal_down_fails_the_source_and_stops_the_lists_not_started() -> None:
    data = generate_dataset(CUSTOMERS, seed=6)
    with AxcientSandbox(data, password=PASSWORD) as server:
        server.inject(Fault(status=500, path_prefix="/api/v1/accounts"), times=10_000)
        try:
            collect(server, concurrency=4)
        except VendorError as error:
            assert "HTTP 500 after retries" in str(error)
        else:
            raise AssertionError("a portal answering 500 to every list must fail the source")
        lists = {r.param("customer_id") for r in server.api_requests("/api/v1/accounts")}
    assert len(lists) < CUSTOMERS
