"""The portal client against respx: login and re-login, paging edge cases, retries, errors made readable."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from connector.core.errors import DataError, RateLimitedError, VendorAuthError, VendorError
from connector.core.http import HttpSettings, RetryAfterTooLong
from providers.axcient.client import AxcientClient, build_axcient_client

from .conftest import PASSWORD, FakeClock, axcient_settings

BASE = "https://portal.test"
Make = Callable[..., dict[str, Any]]


def page(items: list[Any], number: int, per_page: int, total: int) -> dict[str, Any]:
    return {"items": items, "page": number, "per_page": per_page, "total": total}


def paged(items: list[Any], cap: int | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """A respx side effect serving `items` page by page as the portal does (optionally capping per_page)."""

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        size = int(request.url.params["per_page"])
        size = min(size, cap) if cap else size
        return httpx.Response(200, json=page(items[(number - 1) * size : number * size], number, size, len(items)))

    return answer


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.post("/api/v1/session").respond(json={"token": "tok-1-abcdef", "expires_in": 3600})
        yield mock


@pytest.fixture
def make_client(clock: FakeClock, http_settings: HttpSettings) -> Callable[..., AxcientClient]:
    def make(**overrides: Any) -> AxcientClient:
        return build_axcient_client(axcient_settings(BASE, **overrides), http_settings, sleep=clock.sleep, clock=clock)

    return make


@pytest.fixture
def client(make_client: Callable[..., AxcientClient]) -> AxcientClient:
    return make_client(per_page=3)


def customers(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"Customer {i}"} for i in range(1, n + 1)]


def test_login_sends_the_credentials_and_later_calls_the_token(router: respx.MockRouter, client: AxcientClient) -> None:
    route = router.get("/api/v1/customers").mock(side_effect=paged(customers(2)))
    assert [c.name for c in client.customers().items] == ["Customer 1", "Customer 2"]
    login = router.routes[0].calls.last.request
    assert json.loads(login.content) == {"username": "partner-api", "password": PASSWORD}
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok-1-abcdef"
    assert client.logins == 1


@pytest.mark.parametrize(
    ("count", "requests"),
    [(0, 1), (1, 1), (3, 1), (6, 2), (7, 3)],
    ids=["empty", "one item", "exactly one page", "exact multiple", "one over"],
)
def test_paging_reads_to_the_last_page_and_no_further(
    router: respx.MockRouter, client: AxcientClient, count: int, requests: int
) -> None:
    route = router.get("/api/v1/customers").mock(side_effect=paged(customers(count)))
    assert [c.id for c in client.customers().items] == [str(i) for i in range(1, count + 1)]
    assert route.call_count == requests
    assert [c.request.url.params["per_page"] for c in route.calls] == ["3"] * requests


def test_a_server_capping_the_page_size_is_followed_to_the_end(
    router: respx.MockRouter, make_client: Callable[..., AxcientClient]
) -> None:
    route = router.get("/api/v1/customers").mock(side_effect=paged(customers(5), cap=2))
    assert len(make_client(per_page=1000).customers().items) == 5
    assert route.call_count == 3


def test_accounts_are_listed_per_customer(router: respx.MockRouter, client: AxcientClient, make_account: Make) -> None:
    route = router.get("/api/v1/accounts").mock(side_effect=paged([make_account(1, 42)]))
    listing = client.accounts("42")
    assert [a.id for a in listing.items] == ["1"] and listing.invalid == []
    assert route.calls.last.request.url.params["customer_id"] == "42"


def test_a_list_cut_short_is_an_error_not_a_smaller_list(router: respx.MockRouter, client: AxcientClient) -> None:
    router.get("/api/v1/customers").mock(
        side_effect=[
            httpx.Response(200, json=page(customers(3), 1, 3, 5)),
            httpx.Response(200, json=page([], 2, 3, 5)),
        ]
    )
    with pytest.raises(DataError, match="3 customers received but the server counts 5"):
        client.customers()


def test_an_item_listed_twice_is_an_error(router: respx.MockRouter, client: AxcientClient) -> None:
    first = customers(3)
    router.get("/api/v1/customers").mock(
        side_effect=[
            httpx.Response(200, json=page(first, 1, 3, 4)),
            httpx.Response(200, json=page([first[2]], 2, 3, 4)),
        ]
    )
    with pytest.raises(DataError, match="customer 3 listed twice"):
        client.customers()


def test_a_malformed_page_is_a_data_error(router: respx.MockRouter, client: AxcientClient) -> None:
    router.get("/api/v1/customers").respond(json={"items": [], "page": 1})
    with pytest.raises(DataError, match="unexpected page: per_page: Field required"):
        client.customers()
    router.get("/api/v1/customers").respond(text="<html>maintenance</html>")
    with pytest.raises(DataError, match="not JSON"):
        client.customers()


def test_an_invalid_account_is_reported_with_its_id_and_field(
    router: respx.MockRouter, client: AxcientClient, make_account: Make
) -> None:
    bad = make_account(2, device_type="tablet", used_mb_compressed=-5)
    router.get("/api/v1/accounts").mock(side_effect=paged([make_account(1), bad, "not an object"]))
    listing = client.accounts("1")
    assert [a.id for a in listing.items] == ["1"]
    first, second = listing.invalid
    assert first.id == "2" and first.customer_id == "1"
    assert "device_type: Input should be 'pc' or 'server'" in first.describe()
    assert "used_mb_compressed: Input should be greater than or equal to 0" in first.describe()
    assert first.describe().startswith("account 2: ")
    assert second.describe().startswith("account (no id): ")


def test_an_expired_token_means_one_new_login(router: respx.MockRouter, client: AxcientClient) -> None:
    router.post("/api/v1/session").mock(
        side_effect=[
            httpx.Response(200, json={"token": "tok-1-abcdef"}),
            httpx.Response(200, json={"token": "tok-2-abcdef"}),
        ]
    )
    expired = httpx.Response(401, json={"error": {"code": "token_expired", "message": "log in again"}})
    route = router.get("/api/v1/customers").mock(
        side_effect=[httpx.Response(200, json=page(customers(3), 1, 3, 4)), expired, paged(customers(4))]
    )
    assert len(client.customers().items) == 4
    assert client.logins == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer tok-1-abcdef",
        "Bearer tok-1-abcdef",
        "Bearer tok-2-abcdef",
    ]


def test_still_refused_after_a_new_login_is_a_clear_auth_error(router: respx.MockRouter, client: AxcientClient) -> None:
    route = router.get("/api/v1/customers").respond(401, json={"error": {"code": "forbidden", "message": "no role"}})
    with pytest.raises(VendorAuthError, match=r"refused \(401\) even right after a fresh login: forbidden: no role"):
        client.customers()
    assert route.call_count == 2 and client.logins == 2


def test_a_refused_login_names_the_settings_to_fix(router: respx.MockRouter, client: AxcientClient) -> None:
    router.post("/api/v1/session").respond(401, json={"error": {"code": "invalid_credentials", "message": "wrong"}})
    with pytest.raises(VendorAuthError, match=r"login refused \(401\).*username and password") as refused:
        client.customers()
    assert refused.value.exit_code == 2
    assert PASSWORD not in str(refused.value)


def test_429_waits_as_told_then_succeeds(router: respx.MockRouter, client: AxcientClient, clock: FakeClock) -> None:
    route = router.get("/api/v1/customers").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), paged(customers(1))]
    )
    assert len(client.customers().items) == 1
    assert route.call_count == 2 and clock.sleeps == [7.0]


def test_still_429_after_retries_is_a_rate_limit_error(
    router: respx.MockRouter, client: AxcientClient, clock: FakeClock
) -> None:
    router.get("/api/v1/customers").respond(429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimitedError, match="still rate-limited"):
        client.customers()
    assert clock.sleeps == [2.0, 2.0, 2.0]


def test_5xx_then_success_retries_with_backoff(
    router: respx.MockRouter, client: AxcientClient, clock: FakeClock
) -> None:
    route = router.get("/api/v1/customers").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), paged(customers(2))]
    )
    assert len(client.customers().items) == 2
    assert route.call_count == 3 and clock.sleeps == [1.0, 2.0]


def test_persistent_5xx_is_a_clear_vendor_error(
    router: respx.MockRouter, client: AxcientClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    route = router.get("/api/v1/customers").respond(500)
    with pytest.raises(VendorError, match="HTTP 500 after retries where safe: the server is failing") as failed:
        client.customers()
    assert failed.value.status_code == 500 and route.call_count == 4
    assert PASSWORD not in caplog.text


def test_a_timeout_is_retried(router: respx.MockRouter, client: AxcientClient) -> None:
    route = router.get("/api/v1/customers").mock(side_effect=[httpx.ReadTimeout("slow"), paged(customers(1))])
    assert len(client.customers().items) == 1 and route.call_count == 2


def test_other_4xx_fail_fast_with_the_vendors_message(router: respx.MockRouter, client: AxcientClient) -> None:
    route = router.get("/api/v1/accounts").respond(
        404, json={"error": {"code": "not_found", "message": "customer 9 does not exist"}}
    )
    with pytest.raises(VendorError, match="HTTP 404: not_found: customer 9 does not exist") as failed:
        client.accounts("9")
    assert route.call_count == 1 and failed.value.status_code == 404


def test_the_session_token_is_masked_in_logs(
    router: respx.MockRouter, client: AxcientClient, caplog: pytest.LogCaptureFixture
) -> None:
    from connector.core.redact import redact

    router.get("/api/v1/customers").mock(side_effect=paged(customers(1)))
    client.customers()
    assert redact("Authorization: Bearer tok-1-abcdef and tok-1-abcdef") == "Authorization: Bearer *** and ***"


def test_a_5xx_on_login_is_retried_because_a_session_creates_nothing(
    router: respx.MockRouter, client: AxcientClient, clock: FakeClock
) -> None:
    login = router.post("/api/v1/session").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"token": "tok-2-abcdef", "expires_in": 60})]
    )
    router.get("/api/v1/customers").mock(side_effect=paged(customers(1)))
    assert len(client.customers().items) == 1
    assert login.call_count == 2 and clock.sleeps == [1.0]


def test_a_retry_after_over_the_limit_is_the_rate_limit(router: respx.MockRouter, client: AxcientClient) -> None:
    route = router.get("/api/v1/customers").respond(429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitedError, match=r"over http\.max_retry_after_seconds") as caught:
        client.customers()
    assert isinstance(caught.value.__cause__, RetryAfterTooLong) and caught.value.status_code == 429
    assert route.call_count == 1


def test_403_says_the_api_user_needs_the_partner_role(router: respx.MockRouter, client: AxcientClient) -> None:
    route = router.get("/api/v1/customers").respond(403, json={"error": {"code": "forbidden", "message": "no"}})
    with pytest.raises(VendorAuthError, match=r"access denied \(403\): forbidden: no; .*Partner API role"):
        client.customers()
    # A 403 is not an expired session: no second login, no retry.
    assert route.call_count == 1 and client.logins == 1
