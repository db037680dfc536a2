"""The Atera client against respx: auth styles, paging shapes, errors made readable, retries and the throttle."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connector.core.errors import ConfigError, DataError, RateLimitedError, VendorAuthError, VendorError
from connector.core.http import HttpSettings, RetryAfterTooLong
from providers.atera.client import AteraClient, build_atera_client
from providers.atera.models import UpdateContractDto, UpdateRetainerFlatFeeContractDto, request_json
from providers.atera.settings import AteraSettings

BASE = "https://atera.test/api/v3"
SHORT_KEY = "0123456789abcdef0123456789abcdef"
JWT = "eyJ" + "a" * 150 + ".payload.signature"


def page(
    items: list[dict[str, Any]], number: int, total_pages: int, next_link: str | None, total: int | None = None
) -> dict[str, Any]:
    """One page as Atera answers it; `total` is the whole list's count (default: this page's items, one page)."""
    return {
        "items": items,
        "page": number,
        "itemsInPage": 50,
        "totalItemCount": len(items) if total is None else total,
        "totalPages": total_pages,
        "prevLink": None,
        "nextLink": next_link,
    }


def customer(n: int) -> dict[str, Any]:
    return {"CustomerID": n, "CustomerName": f"Customer {n}"}


def make(key: str, clock: Any, http: HttpSettings, **overrides: Any) -> AteraClient:
    from connector.core.secrets import SecretRef

    settings = AteraSettings(enabled=True, base_url=BASE, api_key=SecretRef(value=key), **overrides)
    return build_atera_client(settings, http, sleep=clock.sleep, clock=clock)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def atera(clock: Any, http_settings: HttpSettings) -> AteraClient:
    return make(SHORT_KEY, clock, http_settings)


def test_a_classic_key_goes_in_x_api_key(router: respx.MockRouter, atera: AteraClient) -> None:
    route = router.get("/customers").respond(json=page([customer(1)], 1, 1, None))
    list(atera.customers())
    sent = route.calls.last.request
    assert sent.headers["X-API-KEY"] == SHORT_KEY
    assert "Authorization" not in sent.headers


def test_a_token_over_100_characters_is_sent_as_bearer(
    router: respx.MockRouter, clock: Any, http_settings: HttpSettings
) -> None:
    route = router.get("/customers").respond(json=page([], 1, 0, None))
    list(make(JWT, clock, http_settings).customers())
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {JWT}"
    assert "X-API-KEY" not in sent.headers


@pytest.mark.parametrize("last_link", [None, ""], ids=["nextLink null", "nextLink empty"])
def test_paging_stops_on_an_empty_next_link(router: respx.MockRouter, atera: AteraClient, last_link: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        assert request.url.params["itemsInPage"] == "50"
        link = f"{BASE}/customers?page={number + 1}" if number < 3 else last_link
        # totalPages claims more than there are: the empty nextLink must be what stops the loop.
        return httpx.Response(200, json=page([customer(number * 10 + i) for i in range(2)], number, 9, link, 6))

    route = router.get("/customers").mock(side_effect=answer)
    found = [c.CustomerID for c in atera.customers()]
    assert found == [10, 11, 20, 21, 30, 31]
    assert route.call_count == 3


def test_paging_stops_at_total_pages_even_when_next_link_is_set(router: respx.MockRouter, atera: AteraClient) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        link = f"{BASE}/customers?page={number + 1}"
        return httpx.Response(200, json=page([customer(number)], number, 2, link, 2))

    route = router.get("/customers").mock(side_effect=answer)
    assert [c.CustomerID for c in atera.customers()] == [1, 2]
    assert route.call_count == 2


def test_an_empty_page_ends_the_list(router: respx.MockRouter, atera: AteraClient) -> None:
    route = router.get("/contracts").respond(json=page([], 1, 5, f"{BASE}/contracts?page=2"))
    assert list(atera.contracts()) == []
    assert route.call_count == 1


def test_401_says_the_key_was_rejected_and_never_shows_it(router: respx.MockRouter, atera: AteraClient) -> None:
    router.get("/customers").respond(401)
    with pytest.raises(VendorAuthError, match="API key rejected") as caught:
        list(atera.customers())
    assert SHORT_KEY not in str(caught.value)
    assert caught.value.exit_code == 2


def test_problem_details_become_a_readable_error(router: respx.MockRouter, atera: AteraClient) -> None:
    router.get("/contracts/77").respond(
        404, json={"type": "about:blank", "title": "Not Found", "status": 404, "detail": "contract 77 does not exist"}
    )
    with pytest.raises(VendorError, match=r"GET .*/contracts/77: HTTP 404: Not Found: contract 77 does not exist"):
        atera.contract(77)


def test_a_body_that_is_not_json_is_a_data_error(router: respx.MockRouter, atera: AteraClient) -> None:
    router.get("/rates/products").respond(200, text="<html>maintenance</html>")
    with pytest.raises(DataError, match="not JSON"):
        list(atera.rates())


def test_a_payload_of_the_wrong_shape_names_the_field(router: respx.MockRouter, atera: AteraClient) -> None:
    router.get("/contracts/5").respond(json={"ContractID": 5, "CustomerID": 1, "ContractType": "Barter"})
    with pytest.raises(DataError, match="ContractType"):
        atera.contract(5)


def test_amounts_are_parsed_as_exact_decimals(router: respx.MockRouter, atera: AteraClient) -> None:
    router.get("/rates/products").respond(
        content=b'{"items":[{"RateID":1,"Amount":0.1,"SKU":"A"}],"page":1,"totalPages":1,"nextLink":null}'
    )
    [rate] = atera.rates()
    assert rate.Amount == Decimal("0.1")


def test_429_is_retried_after_the_time_atera_asks(router: respx.MockRouter, atera: AteraClient, clock: Any) -> None:
    route = router.get("/customers/1")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "17"}),
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(200, json=customer(1)),
    ]
    assert atera.customer(1).CustomerName == "Customer 1"
    assert clock.sleeps == [17, 3]


def test_5xx_is_retried_with_backoff(router: respx.MockRouter, atera: AteraClient, clock: Any) -> None:
    route = router.get("/customers/1")
    route.side_effect = [httpx.Response(503), httpx.Response(502), httpx.Response(200, json=customer(1))]
    assert atera.customer(1).CustomerID == 1
    assert clock.sleeps == [1.0, 2.0]


def test_persistent_429_fails_as_rate_limited(router: respx.MockRouter, atera: AteraClient) -> None:
    router.get("/customers/1").respond(429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitedError, match="max_requests"):
        atera.customer(1)


def test_a_failed_create_is_not_retried(router: respx.MockRouter, atera: AteraClient) -> None:
    from providers.atera.models import CreateRateRequest

    route = router.post("/rates/products").respond(500)
    with pytest.raises(VendorError, match="HTTP 500"):
        atera.create_rate(CreateRateRequest(Description="x", Amount=Decimal("1"), SKU="X"))
    # A 500 after a POST may have created the record; a blind retry could create it twice.
    assert route.call_count == 1


def test_a_burst_never_exceeds_the_configured_rate(clock: Any, http_settings: HttpSettings) -> None:
    sent_at: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock())
        return httpx.Response(200, json=customer(1))

    settings = AteraSettings(
        enabled=True, base_url=BASE, api_key={"value": SHORT_KEY}, max_requests=5, window_seconds=10
    )
    atera = build_atera_client(
        settings, http_settings, transport=httpx.MockTransport(answer), sleep=clock.sleep, clock=clock
    )
    for _ in range(23):
        atera.customer(1)
    assert len(sent_at) == 23
    for first in sent_at:
        assert sum(1 for t in sent_at if first <= t < first + 10) <= 5
    # And it does not crawl: 23 requests at 5 per 10 s need four waits of one window each.
    assert sent_at[-1] - sent_at[0] == pytest.approx(40)


def test_invoices_are_asked_for_by_date_range(router: respx.MockRouter, atera: AteraClient) -> None:
    route = router.get("/billing/invoices").respond(json=page([], 1, 0, None))
    list(atera.invoices(date(2026, 1, 1), date(2026, 1, 31)))
    params = route.calls.last.request.url.params
    assert (params["invoiceDateFrom"], params["invoiceDateTo"]) == ("2026-01-01", "2026-01-31")
    with pytest.raises(ValueError, match="before it starts"):
        list(atera.invoices(date(2026, 2, 1), date(2026, 1, 1)))


def test_a_missing_key_is_a_config_error(http_settings: HttpSettings) -> None:
    with pytest.raises(ConfigError, match=r"atera\.api_key"):
        build_atera_client(AteraSettings(enabled=True), http_settings)


def test_a_retry_after_over_the_limit_is_the_rate_limit(router: respx.MockRouter, atera: AteraClient) -> None:
    route = router.get("/customers/1").respond(429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitedError, match=r"over http\.max_retry_after_seconds") as caught:
        atera.customer(1)
    assert isinstance(caught.value.__cause__, RetryAfterTooLong) and caught.value.status_code == 429
    assert route.call_count == 1


def test_403_says_the_key_needs_permission_for_the_area(router: respx.MockRouter, atera: AteraClient) -> None:
    router.get("/contracts/5").respond(403, json={"title": "Forbidden", "detail": "no contracts scope"})
    with pytest.raises(
        VendorAuthError, match=r"access denied \(403\): Forbidden: no contracts scope; .*read and write"
    ):
        atera.contract(5)


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_number_atera_sends_that_is_not_finite_is_refused_with_its_field(
    router: respx.MockRouter, atera: AteraClient, token: bytes
) -> None:
    body = (
        b'{"CustomerID": 1, "ContractID": 101, "ContractType": "RetainerFlatFee", "Active": true,'
        b' "RetainerFlatFeeContract": {"Quantity": ' + token + b', "BillingPeriod": "Monthly"}}'
    )
    router.get("/contracts/101").respond(content=body, headers={"Content-Type": "application/json"})
    with pytest.raises(DataError, match=r"RetainerFlatFeeContract\.Quantity"):
        atera.contract(101)


def test_request_bodies_carry_decimals_as_their_digits_and_never_null_nan_or_infinity() -> None:
    body = UpdateContractDto(
        ContractName="Backup",
        RetainerFlatFeeContract=UpdateRetainerFlatFeeContractDto(Quantity=Decimal("0.1000000000000000000001")),
    )
    assert request_json(body) == (
        b'{"ContractName":"Backup","RetainerFlatFeeContract":{"Quantity":0.1000000000000000000001}}'
    )
    assert json.loads(request_json(body), parse_float=Decimal) == {
        "ContractName": "Backup",
        "RetainerFlatFeeContract": {"Quantity": Decimal("0.1000000000000000000001")},
    }
    for bad in ("NaN", "Infinity", "1E+400", "-1E+400"):
        with pytest.raises(ValidationError):
            UpdateRetainerFlatFeeContractDto(Quantity=Decimal(bad))
    # Even a value forced past validation is refused by the writer rather than sent as null.
    forced = UpdateRetainerFlatFeeContractDto.model_construct(Quantity=Decimal("1E+400"))
    with pytest.raises(ValueError, match="more than Atera can hold"):
        request_json(forced)


@pytest.mark.parametrize(("value", "text"), [("1E+3", b"1000"), ("-0", b"-0"), ("1E-30", b"1E-30"), ("2.50", b"2.50")])
def test_a_decimal_is_written_as_plain_json_digits(value: str, text: bytes) -> None:
    body = UpdateRetainerFlatFeeContractDto(Quantity=Decimal(value))
    assert request_json(body) == b'{"Quantity":' + text + b"}"
    assert json.loads(request_json(body), parse_float=Decimal)["Quantity"] == Decimal(value)


@settings(max_examples=500, deadline=None)
@given(st.decimals())
def test_any_decimal_is_refused_or_sent_as_exactly_itself(value: Decimal) -> None:
    try:
        body = UpdateRetainerFlatFeeContractDto(Quantity=value)
    except ValidationError:
        assert not value.is_finite() or abs(value) > 2**53
        return
    sent = json.loads(request_json(body), parse_float=Decimal, parse_constant=lambda token: pytest.fail(token))
    assert sent["Quantity"] == value and sent["Quantity"] is not None
