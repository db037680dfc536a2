"""The ConnectWise client against respx: credentials and the pinned version on every request, lists paged through
their Link headers and refused whole when they do not add up, errors made readable, exact numbers and UTC times,
and requests the description does not allow never sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from connector.core.errors import DataError, VendorAuthError, VendorError
from providers.connectwise.client import ConnectWiseClient, build_connectwise_client
from providers.connectwise.pages import links, page_of
from providers.connectwise.requests import quantity_patch

from .support import BASE, CLIENT_ID, COMPANY_ID, HTTP, PRIVATE, PUBLIC, addition, company, settings

Pages = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def client(**overrides: Any) -> ConnectWiseClient:
    return build_connectwise_client(settings(**overrides), HTTP, sleep=lambda _: None)


def link(number: int, size: int, rel: str) -> str:
    return f'<{BASE}/company/companies?pageSize={size}&page={number}>; rel="{rel}"'


def paged(
    pages: list[list[dict[str, Any]]], *, last: int | None = None, next_of: Callable[[int], int] = lambda n: n + 1
) -> Pages:
    """A list served in `pages` (1-based, by the `page` asked), each with its Link header."""
    last = len(pages) if last is None else last

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        items = pages[min(number, len(pages)) - 1]
        more = number < last
        header = f"{link(next_of(number), 2, 'next')}, {link(last, 2, 'last')}" if more else ""
        return httpx.Response(200, json=items, headers={"Link": header} if header else {})

    return answer


def test_every_request_carries_the_credentials_the_client_id_and_the_pinned_version(router: respx.MockRouter) -> None:
    route = router.get("/system/info").respond(200, json={"version": "v2025.8.1", "isCloud": True})
    assert client().system_info().version == "v2025.8.1"
    sent = route.calls.last.request
    user, _, password = base64.b64decode(sent.headers["Authorization"].split()[1]).decode().partition(":")
    assert (user, password) == (f"{COMPANY_ID}+{PUBLIC}", PRIVATE)
    assert sent.headers["clientId"] == CLIENT_ID
    assert sent.headers["Accept"] == "application/vnd.connectwise.com+json; version=2025.8"


def test_another_api_version_is_pinned_when_configured(router: respx.MockRouter) -> None:
    route = router.get("/system/info").respond(200, json={})
    client(api_version="2024.1").system_info()
    assert route.calls.last.request.headers["Accept"].endswith("version=2024.1")


def test_a_list_is_read_page_by_page_as_its_link_header_says(router: respx.MockRouter) -> None:
    route = router.get("/company/companies").mock(
        side_effect=paged([[company(1), company(2)], [company(3), company(4)], [company(5)]])
    )
    found = list(client(page_size=2).companies())
    assert [c.id for c in found] == [1, 2, 3, 4, 5]
    asked = [dict(call.request.url.params) for call in route.calls]
    assert [(q["page"], q["pageSize"], q["orderBy"]) for q in asked] == [
        ("1", "2", "id asc"),
        ("2", "2", "id asc"),
        ("3", "2", "id asc"),
    ]


def test_link_headers_are_read_whatever_their_urls_hold() -> None:
    header = (
        f'<{BASE}/finance/agreements?conditions=company/id in (1,2)&page=2&pageSize=2>; rel="next", '
        f'<{BASE}/finance/agreements?conditions=company/id in (1,2)&page=7&pageSize=2>; rel="last"'
    )
    assert (page_of(links(header)["next"]), page_of(links(header)["last"])) == (2, 7)
    assert links(None) == {} and links("garbage") == {}


def test_a_server_that_ignores_the_page_number_is_caught_at_page_2(router: respx.MockRouter) -> None:
    router.get("/company/companies").mock(side_effect=paged([[company(1), company(2)]] * 50, last=50))
    with pytest.raises(DataError, match="page 2 is page 1 again; the server ignores the page number"):
        list(client(page_size=2).companies())
    assert len(router.calls) == 2


def test_a_list_that_never_ends_stops_at_the_last_page_page_1_named(router: respx.MockRouter) -> None:
    pages = [[company(2 * n + 1), company(2 * n + 2)] for n in range(10)]

    def growing(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        # Page 1 says the list ends at page 3; every page then links on to the next.
        header = f"{link(number + 1, 2, 'next')}, {link(3 if number == 1 else number + 1, 2, 'last')}"
        return httpx.Response(200, json=pages[number - 1], headers={"Link": header})

    router.get("/company/companies").mock(side_effect=growing)
    with pytest.raises(DataError, match="the listing is inconsistent"):
        list(client(page_size=2).companies())
    assert len(router.calls) <= 3


def test_a_last_page_that_still_links_on_is_refused(router: respx.MockRouter) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        header = f"{link(number + 1, 2, 'next')}, {link(2, 2, 'last')}"
        return httpx.Response(200, json=[company(2 * number - 1), company(2 * number)], headers={"Link": header})

    router.get("/company/companies").mock(side_effect=endless)
    with pytest.raises(DataError, match="page 2, the last page 1 named, links to a next page: the list never ends"):
        list(client(page_size=2).companies())


def test_a_record_shifted_onto_a_second_page_is_refused_not_listed_twice(router: respx.MockRouter) -> None:
    router.get("/company/companies").mock(side_effect=paged([[company(1), company(2)], [company(2), company(3)]]))
    with pytest.raises(DataError, match="company 2 listed twice"):
        list(client(page_size=2).companies())


def test_a_list_that_ends_before_its_announced_last_page_is_refused(router: respx.MockRouter) -> None:
    def shrunk(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        if number == 1:
            return httpx.Response(
                200, json=[company(1), company(2)], headers={"Link": f"{link(2, 2, 'next')}, {link(3, 2, 'last')}"}
            )
        return httpx.Response(200, json=[company(3)])

    router.get("/company/companies").mock(side_effect=shrunk)
    with pytest.raises(DataError, match="the list ends at page 2, page 1 named page 3 as the last"):
        list(client(page_size=2).companies())


def test_a_next_link_to_another_page_is_refused(router: respx.MockRouter) -> None:
    router.get("/company/companies").mock(
        side_effect=paged([[company(1), company(2)], [company(3)], [company(4)]], next_of=lambda n: n + 2)
    )
    with pytest.raises(DataError, match="page 1 links to page 3 as the next, not page 2"):
        list(client(page_size=2).companies())


def test_agreements_of_many_companies_are_asked_in_short_conditions(router: respx.MockRouter) -> None:
    route = router.get("/finance/agreements").respond(200, json=[])
    assert list(client().agreements_of(range(100_000, 100_300))) == []
    conditions = [call.request.url.params["conditions"] for call in route.calls]
    assert len(conditions) > 1 and all(c.startswith("company/id in (") for c in conditions)
    assert all(len(str(call.request.url)) < 2048 for call in route.calls)


def test_invoices_are_asked_for_by_date_time_condition(router: respx.MockRouter) -> None:
    route = router.get("/finance/invoices").respond(200, json=[])
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    list(client().invoices(start, end))
    assert route.calls.last.request.url.params["conditions"] == (
        "(date >= [2026-11-01T00:00:00Z]) and (date < [2026-12-01T00:00:00Z])"
    )


def test_401_says_which_keys_to_check(router: respx.MockRouter) -> None:
    router.get("/system/info").respond(401, json={"code": "Unauthorized", "message": "Invalid credentials"})
    with pytest.raises(
        VendorAuthError, match=r"credentials rejected \(401\): Invalid credentials; check \[connectwise\]"
    ):
        client().system_info()


def test_an_error_response_becomes_a_readable_error(router: respx.MockRouter) -> None:
    body = {
        "code": "InvalidObject",
        "message": "addition object is invalid",
        "errors": [{"code": "InvalidField", "message": "product X is not in the catalog", "field": "product"}],
    }
    router.post("/finance/agreements/501/additions").respond(400, json=body)
    with pytest.raises(VendorError, match="addition object is invalid; product: product X is not in the catalog"):
        client().create_addition(501, {"product": {"identifier": "X"}, "billCustomer": "Billable"})
    assert len(router.calls) == 1  # a POST that reached the server is never sent twice


def test_amounts_are_exact_decimals_and_times_are_utc(router: respx.MockRouter) -> None:
    payload = addition(quantity=0.1, unitPrice=3.35, effectiveDate="2026-11-01T00:00:00+01:00")
    router.get("/finance/agreements/501/additions/602").mock(
        return_value=httpx.Response(200, content=json.dumps(payload).encode())
    )
    found = client().addition(501, 602)
    assert (found.quantity, found.unitPrice) == (Decimal("0.1"), Decimal("3.35"))
    assert found.effectiveDate == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


def test_a_number_that_is_not_finite_is_refused_with_its_field(router: respx.MockRouter) -> None:
    text = json.dumps(addition()).replace('"quantity": 560', '"quantity": NaN')
    router.get("/finance/agreements/501/additions/602").mock(return_value=httpx.Response(200, content=text.encode()))
    with pytest.raises(DataError, match="unexpected payload at quantity"):
        client().addition(501, 602)


def test_a_payload_that_is_not_a_list_is_refused(router: respx.MockRouter) -> None:
    router.get("/company/companies").respond(200, json={"id": 1})
    with pytest.raises(DataError, match="expected a JSON list of company records"):
        list(client().companies())


def test_the_one_patch_carries_its_quantity_as_exact_digits(router: respx.MockRouter) -> None:
    route = router.patch("/finance/agreements/501/additions/602").respond(200, json=addition(quantity=612.5))
    client().patch_addition(501, 602, quantity_patch(Decimal("612.50"), [{"id": 7, "value": "r"}]))
    assert route.calls.last.request.content == (
        b'[{"op":"replace","path":"quantity","value":612.50},'
        b'{"op":"replace","path":"customFields","value":[{"id":7,"value":"r"}]}]'
    )
    assert route.calls.last.request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "body", "why"),
    [
        ("DELETE", "/finance/agreements/501/additions/602", None, "not an operation"),
        ("GET", "/finance/agreements/501/recurringParameters/1", None, "not an operation"),
        ("PATCH", "/finance/agreements/501/additions/602", [{"op": "add", "path": "quantity", "value": 1}], "replace"),
        (
            "PATCH",
            "/finance/agreements/501/additions/602",
            [{"op": "replace", "path": "unitPrice", "value": 1}],
            "not an addition field",
        ),
        ("PATCH", "/finance/agreements/501/additions/602", [], "non-empty list"),
        (
            "POST",
            "/finance/agreements/501/additions",
            {"product": {"id": 1}, "extPrice": 5},
            "not the connector's to set",
        ),
    ],
)
def test_a_request_the_description_does_not_allow_is_never_sent(
    router: respx.MockRouter, method: str, path: str, body: Any, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        client()._send(method, path, body=body)
    assert len(router.calls) == 0


def test_an_undeclared_query_parameter_or_page_size_is_never_sent(router: respx.MockRouter) -> None:
    with pytest.raises(ValueError, match="not declared"):
        client()._send("GET", "/company/companies", params={"search": "x"})
    with pytest.raises(ValueError, match="pageSize 5000"):
        client()._send("GET", "/company/companies", params={"pageSize": 5000})
    assert len(router.calls) == 0
