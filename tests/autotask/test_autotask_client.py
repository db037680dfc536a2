"""The Autotask client against respx: the zone found before anything else, the three keys on every request and in no
log line or error, readable errors (401, 403, a 500 with Autotask's reasons, a threshold spent), writes that return
the new id and are never sent twice, an adjustment checked before it goes, exact numbers and UTC times."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from connector.core.errors import DataError, RateLimitedError, VendorAuthError, VendorError
from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from providers.autotask import filters as f
from providers.autotask.client import AutotaskClient
from providers.autotask.connect import build_autotask_client
from providers.autotask.models import Threshold, utc_moment
from providers.autotask.settings import AutotaskSettings
from providers.autotask.wire import wire_day, wire_json

LOOKUP = "https://webservices.autotask.net/ATServicesRest"
ZONE = "https://webservices14.autotask.net/ATServicesRest"
USERNAME = "api.user@example.test"
SECRET = "S3cr3t-Value-9f2a"
CODE = "TRACK-ID-7c4e1b"
HTTP = HttpSettings(max_attempts=3, backoff_initial_seconds=0, timeout_seconds=5, connect_timeout_seconds=2)


def settings(**overrides: Any) -> AutotaskSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "username": SecretRef(value=SecretStr(USERNAME)),
        "secret": SecretRef(value=SecretStr(SECRET)),
        "integration_code": SecretRef(value=SecretStr(CODE)),
    }
    return AutotaskSettings(**{**values, **overrides})


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{LOOKUP}/V1.0/ZoneInformation").respond(
            200, json={"zoneName": "Zone 14", "url": f"{ZONE}/", "webUrl": "https://ww14.autotask.net/", "ci": 7}
        )
        yield mock


def client(**overrides: Any) -> AutotaskClient:
    return build_autotask_client(settings(**overrides), HTTP, sleep=lambda _: None)


def raw(status: int, payload: Any) -> httpx.Response:
    """A response whose numbers keep the digits written here (json= would go through float on the test's side)."""
    return httpx.Response(status, content=payload.encode() if isinstance(payload, str) else json.dumps(payload))


def test_the_zone_is_asked_first_and_every_request_then_goes_under_it_with_the_three_keys(
    router: respx.MockRouter,
) -> None:
    threshold = router.get(f"{ZONE}/V1.0/ThresholdInformation").respond(
        200,
        json={"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 12},
    )
    at = client()
    assert str(at.base_url) == f"{ZONE}/"
    at.threshold()
    lookup = router.calls[0].request
    assert lookup.url.params["user"] == USERNAME
    for request in (lookup, threshold.calls.last.request):
        assert request.headers["ApiIntegrationCode"] == CODE
        assert request.headers["UserName"] == USERNAME
        assert request.headers["Secret"] == SECRET
        assert request.headers["Content-Type"] == "application/json"
    assert at.requests == 2


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://webservices14.autotask.net/ATServicesRest/", "not https"),
        ("ftp://webservices14.autotask.net/", "not https"),
        ("https://", "not a plain https URL"),
        ("https://user:pw@webservices14.autotask.net/ATServicesRest/", "not a plain https URL"),
        ("", "not https"),
    ],
)
def test_a_zone_answer_that_is_not_a_plain_https_url_is_refused(router: respx.MockRouter, url: str, why: str) -> None:
    router.get(f"{LOOKUP}/V1.0/ZoneInformation").respond(200, json={"zoneName": "Zone 14", "url": url})
    with pytest.raises(DataError, match=why):
        client()
    assert len(router.calls) == 1


def test_a_zone_answer_without_a_url_is_refused(router: respx.MockRouter) -> None:
    router.get(f"{LOOKUP}/V1.0/ZoneInformation").respond(200, json={"zoneName": "Zone 14"})
    with pytest.raises(DataError, match="unexpected payload at url"):
        client()


def test_a_local_sandbox_may_answer_in_plain_http_on_this_machine_only(router: respx.MockRouter) -> None:
    local = "http://127.0.0.1:8123/ATServicesRest"
    router.get(f"{local}/V1.0/ZoneInformation").respond(200, json={"url": f"{local}/"})
    assert str(client(zone_lookup_url=local).base_url) == f"{local}/"
    router.get(f"{local}/V1.0/ZoneInformation").respond(200, json={"url": "http://webservices14.autotask.net/x/"})
    with pytest.raises(DataError, match="not https"):
        client(zone_lookup_url=local)


def test_a_zone_url_without_its_final_slash_is_still_the_root_requests_go_under(router: respx.MockRouter) -> None:
    router.get(f"{LOOKUP}/V1.0/ZoneInformation").respond(200, json={"url": ZONE})
    route = router.get(f"{ZONE}/V1.0/Services/5").respond(200, json={"item": {"id": 5, "unitPrice": 20}})
    found = client().service(5)
    assert found is not None and found.unitPrice == Decimal(20) and route.call_count == 1


def test_the_connections_held_are_capped_at_the_configured_threads(router: respx.MockRouter) -> None:
    at = client(threads=2)
    pool = at._http._transport._inner._pool  # type: ignore[attr-defined]
    assert pool._max_connections == 2 and pool._max_keepalive_connections == 2


def test_the_keys_show_in_no_log_line_and_no_error(router: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"errors": [f"User {USERNAME} with secret {SECRET} and code {CODE} is not allowed"]}
    router.get(f"{ZONE}/V1.0/Contracts/7").respond(401, json=echo)
    router.post(f"{ZONE}/V1.0/Companies/query").respond(503, text=f"upstream says {SECRET}")
    at = client()
    errors = []
    for call in (lambda: at.contract(7), lambda: list(at.companies())):
        with pytest.raises(VendorError) as error:
            call()
        errors.append(str(error.value))
    text = caplog.text + " ".join(errors)
    assert "ZoneInformation" in caplog.text and "retrying" in caplog.text
    for key in (USERNAME, SECRET, CODE):
        assert key not in text


def test_401_names_the_keys_and_the_security_level(router: respx.MockRouter) -> None:
    router.get(f"{ZONE}/V1.0/Contracts/7").respond(401, json={"errors": ["Invalid credentials"]})
    with pytest.raises(VendorAuthError) as error:
        client().contract(7)
    text = str(error.value)
    assert "credentials rejected (401): Invalid credentials" in text
    assert "[autotask] username, secret and integration_code" in text and "API User (API-only)" in text


def test_a_401_at_the_zone_lookup_is_said_the_same_way(router: respx.MockRouter) -> None:
    router.get(f"{LOOKUP}/V1.0/ZoneInformation").respond(401)
    with pytest.raises(VendorAuthError, match=r"GET .*ZoneInformation: credentials rejected \(401\)"):
        client()


def test_403_says_the_security_level_lacks_access(router: respx.MockRouter) -> None:
    router.post(f"{ZONE}/V1.0/ContractServiceUnits/query").respond(403)
    with pytest.raises(VendorAuthError, match=r"access denied \(403\).*security level.*contract access"):
        list(client().contract_service_units())


def test_a_500_with_reasons_is_one_readable_error_and_is_not_sent_again(router: respx.MockRouter) -> None:
    reasons = {"errors": ["companyType is required", "ownerResourceID: Resource 9 does not exist"]}
    route = router.post(f"{ZONE}/V1.0/Companies").respond(500, json=reasons)
    with pytest.raises(VendorError) as error:
        client().create_company({"companyName": "Acme"})
    assert "refused (500): companyType is required; ownerResourceID: Resource 9 does not exist" in str(error.value)
    assert not isinstance(error.value, RateLimitedError)
    assert route.call_count == 1


def test_a_refused_query_is_not_asked_again_either(router: respx.MockRouter) -> None:
    route = router.post(f"{ZONE}/V1.0/Contracts/query").respond(500, json={"errors": ["Unknown field fooID"]})
    with pytest.raises(VendorError, match="Unknown field fooID"):
        list(client().contracts([f.eq("fooID", 1)]))
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, {"errors": ["Too many requests"]}),
        (500, {"errors": ["API Threshold of 10000 requests per hour exceeded"]}),
        (405, {"errors": ["Thread limit of 3 exceeded for this endpoint"]}),
    ],
)
def test_a_spent_threshold_or_thread_limit_is_rate_limited(
    router: respx.MockRouter, status: int, body: dict[str, Any]
) -> None:
    router.get(f"{ZONE}/V1.0/Services/5").respond(status, json=body)
    with pytest.raises(RateLimitedError, match=body["errors"][0]):
        client().service(5)


def test_a_query_is_asked_again_after_a_gateway_failure(router: respx.MockRouter) -> None:
    page = {"items": [{"id": 1, "companyName": "Acme"}], "pageDetails": {"count": 1, "nextPageUrl": None}}
    route = router.post(f"{ZONE}/V1.0/Companies/query").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=page)]
    )
    assert [c.companyName for c in client().companies()] == ["Acme"]
    assert route.call_count == 2


@pytest.mark.parametrize("failure", [httpx.Response(503), httpx.ReadTimeout("slow")])
def test_a_create_that_may_have_reached_autotask_is_never_sent_twice(
    router: respx.MockRouter, failure: httpx.Response | Exception
) -> None:
    route = router.post(f"{ZONE}/V1.0/Contracts").mock(side_effect=[failure, httpx.Response(200, json={"itemId": 9})])
    with pytest.raises(VendorError):
        client().create_contract({"companyID": 1, "contractName": "Backup"})
    assert route.call_count == 1


def test_creates_return_the_new_id_and_send_exact_numbers(router: respx.MockRouter) -> None:
    company = router.post(f"{ZONE}/V1.0/Companies").respond(200, json={"itemId": 175})
    contact = router.post(f"{ZONE}/V1.0/Companies/175/Contacts").respond(200, json={"itemId": 30})
    service = router.post(f"{ZONE}/V1.0/Services").respond(200, json={"itemId": 12})
    contract = router.post(f"{ZONE}/V1.0/Contracts").respond(200, json={"itemId": 501})
    line = router.post(f"{ZONE}/V1.0/Contracts/501/Services").respond(200, json={"itemId": 88})
    patch = router.patch(f"{ZONE}/V1.0/Contracts").respond(200, json={"itemId": 501})
    at = client()
    assert at.create_company({"companyName": "Acme", "companyType": 1, "ownerResourceID": 4}) == 175
    assert at.create_contact(175, {"firstName": "Ada", "lastName": "Lovelace"}) == 30
    assert at.create_service({"name": "Cloud backup per GB", "unitPrice": Decimal("0.10"), "periodType": 2}) == 12
    assert at.create_contract({"companyID": 175, "startDate": date(2026, 11, 1), "contractType": 7}) == 501
    assert at.create_contract_service(501, {"serviceID": 12, "unitPrice": Decimal("3.35")}) == 88
    assert at.update_contract({"id": 501, "endDate": date(2027, 10, 31)}) == 501
    assert json.loads(contact.calls.last.request.content)["companyID"] == 175
    assert service.calls.last.request.content == b'{"name":"Cloud backup per GB","unitPrice":0.10,"periodType":2}'
    assert b'"startDate":"2026-11-01T00:00:00"' in contract.calls.last.request.content
    assert line.calls.last.request.content == b'{"serviceID":12,"unitPrice":3.35,"contractID":501}'
    assert patch.calls.last.request.content == b'{"id":501,"endDate":"2027-10-31T00:00:00"}'
    assert company.call_count == 1


def test_a_child_naming_another_parent_is_refused_before_it_is_sent(router: respx.MockRouter) -> None:
    at = client()
    with pytest.raises(ValueError, match="not 501, the parent"):
        at.create_contract_service(501, {"contractID": 502, "serviceID": 12})
    with pytest.raises(ValueError, match="id goes in the body"):
        at.update_contract({"endDate": date(2027, 10, 31)})
    with pytest.raises(ValueError, match="is a float"):
        at.create_service({"name": "x", "unitPrice": 0.1})
    assert len(router.calls) == 1  # the zone lookup only


def adjustment(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contractID": 501,
        "contractServiceID": 88,
        "serviceID": 12,
        "unitChange": 40,
        "effectiveDate": date(2026, 11, 1),
    }
    return {**body, **overrides}


def test_an_adjustment_goes_as_a_whole_unit_change_from_a_day_without_a_zone(router: respx.MockRouter) -> None:
    route = router.post(f"{ZONE}/V1.0/Contracts/501/ServiceAdjustments").respond(200, json={"itemId": 4242})
    assert client().create_adjustment(501, adjustment(unitChange=-3, adjustedUnitPrice=Decimal("2.50"))) == 4242
    assert route.calls.last.request.content == (
        b'{"contractID":501,"contractServiceID":88,"serviceID":12,"unitChange":-3,'
        b'"effectiveDate":"2026-11-01T00:00:00","adjustedUnitPrice":2.50}'
    )


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"unitChange": Decimal("2.5")}, "not a non-zero whole number"),
        ({"unitChange": 2.0}, "not a non-zero whole number"),
        ({"unitChange": True}, "not a non-zero whole number"),
        ({"unitChange": 0}, "not a non-zero whole number"),
        ({"unitChange": 2**31}, "not a non-zero whole number"),
        ({"effectiveDate": datetime(2026, 11, 1, tzinfo=UTC)}, "is not a day"),
        ({"effectiveDate": "2026-11-01"}, "is not a day"),
        ({"contractID": 502}, "is not contract 501"),
        ({"serviceID": None}, "serviceID None is not a record id"),
        ({"adjustedUnitPrice": 2.5}, "not an exact number"),
        ({"adjustedUnitCost": Decimal(1)}, "fields \\['adjustedUnitCost'\\]"),
    ],
)
def test_an_adjustment_autotask_could_not_take_exactly_is_refused_before_it_is_sent(
    router: respx.MockRouter, overrides: dict[str, Any], why: str
) -> None:
    at = client()
    with pytest.raises(ValueError, match=why):
        at.create_adjustment(501, adjustment(**overrides))
    assert len(router.calls) == 1  # the zone lookup only


def test_an_adjustment_without_its_contract_service_is_refused(router: respx.MockRouter) -> None:
    body = adjustment()
    del body["contractServiceID"]
    with pytest.raises(ValueError, match="lacks \\['contractServiceID'\\]"):
        client().create_adjustment(501, body)


def test_one_record_by_id_or_none_when_autotask_holds_none(router: respx.MockRouter) -> None:
    router.get(f"{ZONE}/V1.0/Contracts/501").mock(
        return_value=raw(200, '{"item": {"id": 501, "contractName": "Backup", "setupFee": 0.1, "contractType": 7}}')
    )
    router.get(f"{ZONE}/V1.0/Contracts/502").respond(200, json={"item": None})
    router.get(f"{ZONE}/V1.0/Contracts/503").respond(404)
    router.get(f"{ZONE}/V1.0/Invoices/9").respond(200, json={"item": {"id": 10}})
    at = client()
    found = at.contract(501)
    assert found is not None and (found.contractName, found.setupFee) == ("Backup", Decimal("0.1"))
    assert at.contract(502) is None and at.contract(503) is None
    with pytest.raises(DataError, match="asked for Invoices 9, the answer is 10"):
        at.invoice(9)
    with pytest.raises(ValueError, match="not a record id"):
        at.company(0)


def test_money_is_exact_and_times_without_a_zone_are_utc(router: respx.MockRouter) -> None:
    item = (
        '{"id": 77, "contractID": 501, "contractServiceID": 88, "quantity": 0.1, "rate": 3.35, '
        '"extendedPrice": 0.335, "itemDate": "2026-11-01T00:00:00", "postedDate": "2026-11-30T16:12:05.3070000", '
        '"webServiceDate": "2026-11-30T17:00:00+01:00", "invoiceID": null}'
    )
    page = f'{{"items": [{item}], "pageDetails": {{"count": 1, "requestCount": 500, "nextPageUrl": null}}}}'
    router.post(f"{ZONE}/V1.0/BillingItems/query").mock(return_value=raw(200, page))
    (found,) = client().billing_items([f.eq("contractID", 501)])
    assert (found.quantity, found.rate, found.extendedPrice) == (Decimal("0.1"), Decimal("3.35"), Decimal("0.335"))
    assert found.itemDate == datetime(2026, 11, 1, tzinfo=UTC)
    assert found.postedDate == datetime(2026, 11, 30, 16, 12, 5, 307000, tzinfo=UTC)
    assert found.webServiceDate == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert found.invoiceID is None


def test_a_number_that_is_not_finite_is_refused_with_its_field(router: respx.MockRouter) -> None:
    page = '{"items": [{"id": 1, "unitPrice": NaN}], "pageDetails": {"count": 1, "nextPageUrl": null}}'
    router.post(f"{ZONE}/V1.0/Services/query").mock(return_value=raw(200, page))
    with pytest.raises(DataError, match="item 0: unexpected payload at unitPrice"):
        list(client().services())


def test_the_date_rule() -> None:
    assert utc_moment(datetime(2026, 11, 1)) == datetime(2026, 11, 1, tzinfo=UTC)
    assert utc_moment(datetime.fromisoformat("2026-11-01T01:00:00+01:00")) == datetime(2026, 11, 1, tzinfo=UTC)
    assert wire_day(date(2026, 2, 28)) == "2026-02-28T00:00:00"
    assert wire_json({"at": datetime.fromisoformat("2026-11-01T01:30:00+01:00")}) == b'{"at":"2026-11-01T00:30:00"}'
    with pytest.raises(ValueError, match="must be aware"):
        wire_json({"at": datetime(2026, 11, 1)})
    with pytest.raises(ValueError, match="not a finite number"):
        wire_json(Decimal("NaN"))


def test_the_threshold_is_read_and_says_whether_pushes_may_start(router: respx.MockRouter) -> None:
    router.get(f"{ZONE}/V1.0/ThresholdInformation").respond(
        200,
        json={"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 7999},
    )
    found = client().threshold()
    assert (found.externalRequestThreshold, found.requestThresholdTimeframe, found.left) == (10000, 60, 2001)
    assert found.allows_pushes(0.8)
    spent = Threshold(externalRequestThreshold=10000, requestThresholdTimeframe=60, currentTimeframeRequestCount=8000)
    assert not spent.allows_pushes(0.8) and spent.allows_pushes(1)
    over = spent.model_copy(update={"currentTimeframeRequestCount": 12000})
    assert over.left == 0 and not over.allows_pushes(1)


def test_a_picklist_label_becomes_its_code_read_once_per_entity(router: respx.MockRouter) -> None:
    values = [
        {"value": "1", "label": "Customer", "isActive": True},
        {"value": "3", "label": "Prospect", "isActive": True},
        {"value": "9", "label": "Lead", "isActive": False},
    ]
    fields = {
        "fields": [
            {"name": "companyName", "dataType": "string", "isRequired": True, "isPickList": False},
            {"name": "companyType", "dataType": "integer", "isPickList": True, "picklistValues": values},
        ]
    }
    route = router.get(f"{ZONE}/V1.0/Companies/entityInformation/fields").respond(200, json=fields)
    at = client()
    assert at.picklist("Companies", "companyType", " customer ") == 1
    assert at.picklist("Companies", "CompanyType", "Prospect") == 3
    assert at.picklist("Companies", "companyType", "Lead") is None  # inactive
    assert at.picklist("Companies", "companyType", "Vendor") is None
    with pytest.raises(DataError, match="companyName is not a picklist"):
        at.picklist("Companies", "companyName", "x")
    assert route.call_count == 1
    assert [d.name for d in at.field_definitions("Companies")] == ["companyName", "companyType"]


@pytest.mark.parametrize(
    ("method", "path", "body", "why"),
    [
        ("DELETE", "V1.0/Companies/1", None, "not an operation"),
        ("PUT", "V1.0/Companies", {"id": 1}, "not an operation"),
        ("POST", "V1.0/ContractServiceUnits", {"units": 1}, "not an operation"),
        ("GET", "V1.0/ContractServiceAdjustments/1", None, "not an operation"),
        ("GET", "V1.0/Contracts/1", {"x": 1}, "a GET takes no body"),
        ("POST", "V1.0/Companies", None, "a body is required"),
        ("POST", "V1.0/Companies", [1], "a body is a JSON object"),
    ],
)
def test_a_request_outside_the_api_subset_is_never_sent(
    router: respx.MockRouter, method: str, path: str, body: Any, why: str
) -> None:
    at = client()
    with pytest.raises(ValueError, match=why):
        at._send(method, path, body=body)
    assert len(router.calls) == 1  # the zone lookup only
