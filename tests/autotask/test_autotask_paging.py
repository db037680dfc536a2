"""Autotask queries paged through `pageDetails.nextPageUrl` and refused whole when they do not add up: a next page
off the zone's server or the query's path is never requested (it would carry the API secret), and a record twice,
a page over the size asked, a count that is not the page's, a page read before or an endless listing are
DataErrors; the filter language's values and chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from connector.core.errors import DataError
from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from providers.autotask import client as client_module
from providers.autotask import filters as f
from providers.autotask.client import AutotaskClient
from providers.autotask.connect import build_autotask_client
from providers.autotask.models import Company, ContractServiceUnit
from providers.autotask.settings import AutotaskSettings

LOOKUP = "https://webservices.autotask.net/ATServicesRest"
ZONE = "https://webservices14.autotask.net/ATServicesRest"
QUERY = f"{ZONE}/V1.0/Companies/query"
HTTP = HttpSettings(max_attempts=2, backoff_initial_seconds=0, timeout_seconds=5, connect_timeout_seconds=2)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{LOOKUP}/V1.0/ZoneInformation").respond(200, json={"zoneName": "Zone 14", "url": f"{ZONE}/"})
        yield mock


def client(page_size: int = 2) -> AutotaskClient:
    section = AutotaskSettings(
        enabled=True,
        username=SecretRef(value=SecretStr("api.user@example.test")),
        secret=SecretRef(value=SecretStr("S3cr3t-Value-9f2a")),
        integration_code=SecretRef(value=SecretStr("TRACK-ID-7c4e1b")),
        page_size=page_size,
    )
    return build_autotask_client(section, HTTP, sleep=lambda _: None)


def companies(*ids: int) -> list[dict[str, Any]]:
    return [{"id": i, "companyName": f"Company {i}"} for i in ids]


def page(items: list[dict[str, Any]], next_url: str | None, *, count: int | None = None) -> httpx.Response:
    details = {"count": len(items) if count is None else count, "requestCount": 2, "nextPageUrl": next_url}
    return httpx.Response(200, json={"items": items, "pageDetails": {**details, "prevPageUrl": None}})


def next_url(n: int) -> str:
    return f"{QUERY}/next?paging=%7B%22page%22:{n}%7D"


def serve(router: respx.MockRouter, first: httpx.Response, later: Callable[[int], httpx.Response]) -> respx.Route:
    """Page 1 answers the POST; page n the GET of `next_url(n)`."""
    router.post(QUERY).mock(return_value=first)
    return router.get(url__startswith=f"{QUERY}/next").mock(
        side_effect=lambda request: later(int(request.url.params["paging"].split(":")[1].rstrip("}")))
    )


def test_a_query_of_three_pages_collects_every_record_and_sends_its_filter(router: respx.MockRouter) -> None:
    pages = {2: page(companies(3, 4), next_url(3)), 3: page(companies(5), None)}
    follow = serve(router, page(companies(1, 2), next_url(2)), pages.__getitem__)
    at = client()
    found = list(at.companies([f.eq("isActive", True), f.gte("createDate", date(2026, 1, 1))]))
    assert [c.id for c in found] == [1, 2, 3, 4, 5]
    assert [str(call.request.url) for call in follow.calls] == [next_url(2), next_url(3)]
    sent = router.calls[1].request
    assert sent.method == "POST" and sent.content == (
        b'{"filter":[{"op":"eq","field":"isActive","value":true},'
        b'{"op":"gte","field":"createDate","value":"2026-01-01T00:00:00"}],"maxRecords":2}'
    )
    assert at.requests == 4  # the zone, the query, two next pages


def test_a_query_without_a_filter_lists_everything_by_id(router: respx.MockRouter) -> None:
    router.post(QUERY).mock(return_value=page([], None))
    assert list(client().companies()) == []
    assert router.calls[1].request.content == b'{"filter":[{"op":"exist","field":"id"}],"maxRecords":2}'


def test_an_empty_filter_is_refused_before_anything_is_sent(router: respx.MockRouter) -> None:
    at = client()
    with pytest.raises(ValueError, match="at least one filter"):
        at.companies([])
    with pytest.raises(ValueError, match="at least one filter"):
        at.query("Contracts", [], Company)
    assert len(router.calls) == 1  # the zone lookup only


def test_include_fields_always_name_id(router: respx.MockRouter) -> None:
    router.post(QUERY).mock(return_value=page(companies(1), None))
    list(client().query("Companies", f.everything(), Company, include_fields=["companyName"]))
    assert b'"includeFields":["companyName","id"]' in router.calls[1].request.content


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://evil.example.test/ATServicesRest/V1.0/Companies/query/next?p=2", "not on"),
        ("http://webservices14.autotask.net/ATServicesRest/V1.0/Companies/query/next?p=2", "not on"),
        ("https://webservices14.autotask.net:8443/ATServicesRest/V1.0/Companies/query/next?p=2", "not on"),
        ("https://user:pw@webservices14.autotask.net/ATServicesRest/V1.0/Companies/query/next", "not on"),
        (f"{ZONE}/V1.0/Contracts/query/next?p=2", "outside the query's path"),
        (f"{ZONE}/V1.0/Companies/queryall", "outside the query's path"),
        ("/elsewhere/V1.0/Companies/query/next", "outside the query's path"),
    ],
)
def test_a_next_page_off_the_zone_or_the_query_is_never_requested(router: respx.MockRouter, url: str, why: str) -> None:
    router.post(QUERY).mock(return_value=page(companies(1, 2), url))
    anywhere = router.route().respond(200, json={"items": [], "pageDetails": {"count": 0}})
    with pytest.raises(DataError, match=why) as error:
        list(client().companies())
    assert anywhere.call_count == 0
    assert "autotask: Companies query" in str(error.value) and "page 1" in str(error.value)


def test_a_next_url_on_the_same_server_in_another_case_or_relative_is_followed(router: respx.MockRouter) -> None:
    upper = "https://WEBSERVICES14.autotask.net:443/atservicesrest/v1.0/companies/query/next?p=2"
    router.post(QUERY).mock(return_value=page(companies(1, 2), upper))
    router.get(url__startswith="https://webservices14.autotask.net/atservicesrest/").mock(
        return_value=page(companies(3), "query/next?p=3")
    )
    router.get(f"{QUERY}/next?p=3").mock(return_value=page(companies(4), None))
    assert [c.id for c in client().companies()] == [1, 2, 3, 4]


def test_a_record_listed_twice_is_refused(router: respx.MockRouter) -> None:
    serve(router, page(companies(1, 2), next_url(2)), lambda n: page(companies(2, 3), None))
    with pytest.raises(DataError, match="inconsistent at page 2: Companies 2 was listed already"):
        list(client().companies())


def test_a_page_over_the_size_asked_is_refused(router: respx.MockRouter) -> None:
    router.post(QUERY).mock(return_value=page(companies(1, 2, 3), None))
    with pytest.raises(DataError, match="page 1: it holds 3 records, 2 were asked at most"):
        list(client().companies())


def test_a_count_that_is_not_the_page_is_refused(router: respx.MockRouter) -> None:
    serve(router, page(companies(1, 2), next_url(2)), lambda n: page(companies(3), None, count=2))
    with pytest.raises(DataError, match="page 2: it counts 2 records and holds 1"):
        list(client().companies())


def test_an_empty_page_that_names_a_next_one_is_refused(router: respx.MockRouter) -> None:
    serve(router, page([], next_url(2)), lambda n: page(companies(1), None))
    with pytest.raises(DataError, match="page 1: it is empty, yet names a next page"):
        list(client().companies())


def test_a_listing_that_loops_back_to_a_page_read_is_refused(router: respx.MockRouter) -> None:
    pages = {2: page(companies(3, 4), next_url(3)), 3: page(companies(5, 6), next_url(2))}
    follow = serve(router, page(companies(1, 2), next_url(2)), pages.__getitem__)
    with pytest.raises(DataError, match="page 3: it names as the next page one already read"):
        list(client().companies())
    assert follow.call_count == 2


def test_a_next_page_that_is_the_query_itself_is_refused(router: respx.MockRouter) -> None:
    router.post(QUERY).mock(return_value=page(companies(1, 2), QUERY))
    with pytest.raises(DataError, match="one already read"):
        list(client().companies())


def test_a_listing_that_never_ends_stops_at_the_page_bound(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "MAX_PAGES", 5)
    follow = serve(
        router, page(companies(1, 2), next_url(2)), lambda n: page(companies(2 * n - 1, 2 * n), next_url(n + 1))
    )
    with pytest.raises(DataError, match="autotask: Companies query: more than 5 pages"):
        list(client().companies())
    assert follow.call_count == 4


def test_records_of_many_values_are_asked_in_chunks_of_500(router: respx.MockRouter) -> None:
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return page([], None)

    router.post(f"{ZONE}/V1.0/ContractServiceUnits/query").mock(side_effect=answer)

    also = [f.gte("endDate", datetime(2026, 11, 1, tzinfo=UTC))]
    found = client().query_in(
        "ContractServiceUnits", "contractServiceID", [*range(1, 1201), 5], ContractServiceUnit, also=also
    )
    assert list(found) == []
    assert len(bodies) == 3
    assert all(
        b.startswith(b'{"filter":[{"op":"gte","field":"endDate","value":"2026-11-01T00:00:00"},') for b in bodies
    )
    assert b'"value":[1001,' in bodies[2]


def test_filter_values_and_groups() -> None:
    assert f.eq("isActive", False) == {"op": "eq", "field": "isActive", "value": False}
    assert f.noteq("status", 3) == {"op": "noteq", "field": "status", "value": 3}
    assert f.lt("unitPrice", Decimal("0.10"))["value"] == Decimal("0.10")
    assert f.lte("itemDate", date(2026, 11, 30))["value"] == "2026-11-30T00:00:00"
    assert f.gt("id", 0) == {"op": "gt", "field": "id", "value": 0}
    assert f.eq("Billing record", "x", udf=True)["udf"] is True
    assert f.or_(f.eq("a", 1), f.exist("b")) == {
        "op": "or",
        "items": [{"op": "eq", "field": "a", "value": 1}, {"op": "exist", "field": "b"}],
    }
    assert f.and_(f.eq("a", 1))["op"] == "and"
    assert f.in_("id", [3, 1, 3]) == {"op": "in", "field": "id", "value": [3, 1]}
    assert list(f.in_chunks("id", [])) == []
    chunks = list(f.in_chunks("id", range(1001), also=[f.eq("isActive", True)]))
    assert [len(c[-1]["value"]) for c in chunks] == [500, 500, 1] and all(c[0]["op"] == "eq" for c in chunks)


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (lambda: f.eq("isActive", None), "null is not a value"),
        (lambda: f.eq("unitPrice", 0.1), "not a value the filter takes"),
        (lambda: f.eq("createDate", datetime(2026, 11, 1)), "must be aware"),
        (lambda: f.eq("", 1), "needs a field name"),
        (lambda: f.compare("like", "name", "x"), "not a comparison"),
        (lambda: f.in_("id", []), "at least one value"),
        (lambda: f.in_("id", range(501)), "over 500"),
        (lambda: f.in_("id", [True]), "not a value `in` takes"),
        (lambda: f.or_(*[f.eq("id", n) for n in range(501)]), "over 500"),
        (lambda: f.and_(), "at least one condition"),
        (lambda: list(f.in_chunks("id", [1], size=501)), "1 to 500"),
    ],
)
def test_a_filter_autotask_would_refuse_is_refused_here(build: Callable[[], Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        build()
