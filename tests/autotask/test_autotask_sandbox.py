"""Sandbox Autotask: it answers the Swagger subset's operations and no others, in their documented shapes, and
keeps Autotask's rules: the three credential headers, zone discovery, QueryModel filters and pages of 500,
create-only adjustments, read-only units derived from them, the invoicing run, and the hourly request count.

Every exchange goes through a client that checks the request and the answer against the document
(`conftest.at_client`); `at_loose_api` skips the request check for tests that send what it does not allow.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from providers.autotask.sandbox import ROUTES, AutotaskSandbox
from providers.autotask.sandbox_units import add_months
from providers.sandbox import Fault, SandboxRequest, SandboxResponse
from tests.clock import FROZEN_AT

from .conftest import at_client
from .swagger_check import SwaggerContract

THIS_MONTH = FROZEN_AT.date().replace(day=1)
EXIST = {"op": "exist", "field": "id"}


def query(api: httpx.Client, entity: str, *filters: dict[str, Any], **options: Any) -> httpx.Response:
    return api.post(f"/V1.0/{entity}/query", json={"filter": list(filters) or [EXIST], **options})


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def refusal(response: httpx.Response, status: int = 500) -> str:
    """The errors of a refused request, joined (the sandbox answers Autotask's `{"errors": [...]}`)."""
    assert response.status_code == status, response.text
    return " | ".join(response.json()["errors"])


def created(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    number: int = response.json()["itemId"]
    return number


def units(api: httpx.Client, contract_service_id: int, first: date, last: date) -> list[tuple[str, str, int]]:
    """(start day, end day, units) of a contract service's records starting between two days, in date order (the
    answer is in id order, and a record cut later by an adjustment has a later id)."""
    found = query(
        api,
        "ContractServiceUnits",
        {"op": "eq", "field": "contractServiceID", "value": contract_service_id},
        {"op": "gte", "field": "startDate", "value": f"{first}T00:00:00"},
        {"op": "lte", "field": "startDate", "value": f"{last}T00:00:00"},
    )
    assert found.status_code == 200, found.text
    return sorted((r["startDate"][:10], r["endDate"][:10], r["units"]) for r in found.json()["items"])


# -- the document, and the operations served ----------------------------------------------------------------------


def test_the_sandbox_routes_exactly_the_described_operations(at_contract: SwaggerContract) -> None:
    described = at_contract.operations()
    assert len(described) == len(ROUTES) == 37
    for method, template in described:
        path = template.replace("{parentId}", "501").replace("{id}", "251")
        assert [m for m, pattern, _ in ROUTES if m == method and pattern.match(path)] == [method], template


READS = [
    "/VersionInformation",
    "/V1.0/ThresholdInformation",
    "/V1.0/Companies/251",
    "/V1.0/Contracts/501",
    "/V1.0/ContractServices/601",
    "/V1.0/Services/401",
    "/V1.0/Companies/entityInformation/fields",
    "/V1.0/Contracts/entityInformation/fields",
    "/V1.0/ContractServices/entityInformation/fields",
    "/V1.0/ContractServiceAdjustments/entityInformation/fields",
]
QUERIED = ["Companies", "Contacts", "Contracts", "ContractServices", "ContractServiceUnits", "Services", "Invoices"]


@pytest.mark.parametrize("path", READS)
def test_every_read_answers_in_the_documented_shape(at_api: httpx.Client, path: str) -> None:
    assert at_api.get(path).status_code == 200  # the client checks request and answer against the document


@pytest.mark.parametrize("entity", [*QUERIED, "BillingItems"])
def test_both_query_forms_answer_a_page(at_api: httpx.Client, entity: str) -> None:
    posted = query(at_api, entity)
    searched = at_api.get(f"/V1.0/{entity}/query", params={"search": '{"filter":[{"op":"exist","field":"id"}]}'})
    assert posted.json() == searched.json()
    assert posted.json()["pageDetails"]["count"] == len(posted.json()["items"])
    assert (entity in ("Invoices", "BillingItems")) == (posted.json()["items"] == [])


def test_a_record_reads_with_every_field_of_its_model_and_dates_without_a_zone(at_api: httpx.Client) -> None:
    contract = at_api.get("/V1.0/Contracts/501").json()["item"]
    assert (contract["contractType"], contract["status"], contract["startDate"]) == (7, 1, "2024-01-01T00:00:00")
    assert contract["endDate"] is None and contract["userDefinedFields"] == []
    assert len(at_api.get("/V1.0/Companies/251").json()["item"]) == 61


def test_what_the_subset_lacks_is_a_404(at_loose_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    absent = [
        ("GET", "/V1.0/Tickets/query"),
        ("DELETE", "/V1.0/Contracts"),
        ("PUT", "/V1.0/Companies"),
        ("GET", "/V1.0/BillingItems/1"),
        ("GET", "/V1.0/Contracts/501/Services"),
        ("GET", "/V1.0/Companies/abc"),
        ("POST", "/V1.0/Invoices"),
        ("GET", at_sandbox.url + "/ATServicesRest/V2.0/Companies/251"),
    ]
    for method, path in absent:
        assert "not an operation" in refusal(at_loose_api.request(method, path), 404), path
    assert at_sandbox.writes() == []


def test_a_record_that_does_not_exist_is_a_404(at_api: httpx.Client) -> None:
    for path in ("/V1.0/Companies/9999", "/V1.0/Contracts/251", "/V1.0/Services/9", "/V1.0/Invoices/1"):
        assert "does not exist" in refusal(at_api.get(path), 404), path


def test_paths_and_names_are_read_ignoring_case(at_loose_api: httpx.Client) -> None:
    body = {"Filter": [{"Op": "EQ", "Field": "CompanyName", "Value": "CONTOSO LTD"}], "MaxRecords": 10}
    assert ids(at_loose_api.post("/v1.0/companies/QUERY", json=body)) == [251]
    made = {"CompanyName": "Tailspin Toys", "CompanyType": 3, "OwnerResourceID": 4, "Phone": "0100"}
    number = created(at_loose_api.post("/V1.0/Companies", json=made))
    assert at_loose_api.get(f"/V1.0/Companies/{number}").json()["item"]["companyName"] == "Tailspin Toys"


# -- the front door: credentials, zone, threshold ------------------------------------------------------------------


def test_the_three_credential_headers_are_required(at_sandbox: AutotaskSandbox, at_contract: SwaggerContract) -> None:
    good = at_sandbox.auth_headers()
    assert at_sandbox.username.upper() != at_sandbox.username
    for headers in [good, {**good, "UserName": at_sandbox.username.upper()}]:
        with at_client(at_sandbox, at_contract, headers=headers) as api:
            assert api.get("/VersionInformation").json() == {"apiVersions": ["1.0"]}
    wrong = [{**good, "Secret": "not-it"}, {**good, "ApiIntegrationCode": "OTHER"}, {**good, "UserName": "x@y"}]
    for headers in wrong:
        with at_client(at_sandbox, at_contract, headers=headers) as api:
            assert "not valid" in refusal(query(api, "Companies"), 401)
    for name in good:  # the checker would stop a request without a required header: send it unchecked
        without = {k: v for k, v in good.items() if k != name}
        with at_client(at_sandbox, at_contract, headers=without, check_requests=False) as api:
            assert "headers are required" in refusal(api.get("/V1.0/Companies/251"), 401), name


def test_the_zone_is_the_sandbox_itself(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    zone = at_api.get("/V1.0/ZoneInformation", params={"user": at_sandbox.username}).json()
    assert zone["url"] == at_sandbox.api_url + "/" and zone["webUrl"] == at_sandbox.url + "/"
    assert "no zone" in refusal(at_api.get("/V1.0/ZoneInformation", params={"user": "someone@else"}), 404)


def test_the_zone_is_answered_without_credentials_too(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract
) -> None:
    with at_client(at_sandbox, at_contract, headers={}, check_requests=False) as api:
        assert api.get("/v1.0/zoneInformation", params={"user": at_sandbox.username}).status_code == 200
        assert refusal(api.get("/V1.0/ThresholdInformation"), 401)


def test_the_threshold_counts_the_hours_requests(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    def counted() -> int:
        answer = at_api.get("/V1.0/ThresholdInformation").json()
        assert (answer["externalRequestThreshold"], answer["requestThresholdTimeframe"]) == (10000, 60)
        count: int = answer["currentTimeframeRequestCount"]
        return count

    query(at_api, "Companies")
    assert counted() == 2 and counted() == 3
    at_sandbox.requests_this_hour = 9950
    assert counted() == 9951 and at_sandbox.requests_this_hour == 9951
    at_sandbox.requests_this_hour = 10_000
    assert "threshold" in refusal(query(at_api, "Companies"), 429)


def test_requests_older_than_an_hour_are_no_longer_counted(
    at_api: httpx.Client, at_sandbox: AutotaskSandbox, wall_clock: Any
) -> None:
    for _ in range(3):
        query(at_api, "Companies")
    wall_clock.coordinates.shift(timedelta(minutes=61))
    assert at_api.get("/V1.0/ThresholdInformation").json()["currentTimeframeRequestCount"] == 1


# -- queries and pages ------------------------------------------------------------------------------------------------


def test_pages_of_500_follow_next_page_url_to_the_end(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    for n in range(600):
        at_sandbox.add_company(f"Bulk {n:03}")
    pages = [query(at_api, "Companies")]
    while pages[-1].json()["pageDetails"]["nextPageUrl"] is not None:
        following = pages[-1].json()["pageDetails"]["nextPageUrl"]
        assert following.startswith(at_sandbox.api_url + "/V1.0/Companies/query?search=")
        pages.append(at_api.get(following))
    read = [number for page in pages for number in ids(page)]
    assert [page.json()["pageDetails"]["count"] for page in pages] == [500, 104]
    assert (len(read), len(set(read)), read == sorted(read)) == (604, 604, True)
    assert {page.json()["pageDetails"]["prevPageUrl"] for page in pages} == {None}

    bulk = {"op": "beginsWith", "field": "companyName", "value": "bulk"}
    smaller = [query(at_api, "Companies", bulk, maxRecords=250, includeFields=["companyName"])]
    while following := smaller[-1].json()["pageDetails"]["nextPageUrl"]:
        smaller.append(at_api.get(following))
    assert [page.json()["pageDetails"]["count"] for page in smaller] == [250, 250, 100]
    assert {page.json()["pageDetails"]["requestCount"] for page in smaller} == {250}
    assert set(smaller[-1].json()["items"][0]) == {"id", "companyName"}


COMPANY_FILTERS: list[tuple[list[dict[str, Any]], list[int]]] = [
    ([{"op": "eq", "field": "companyName", "value": "contoso ltd"}], [251]),
    ([{"op": "eq", "field": "COMPANYTYPE", "value": 1}], [251, 252, 253]),
    ([{"op": "noteq", "field": "companyType", "value": 1}], [250]),
    ([{"op": "gt", "field": "id", "value": 251}, {"op": "lte", "field": "id", "value": 252}], [252]),
    ([{"op": "gte", "field": "id", "value": 252}], [252, 253]),
    ([{"op": "lt", "field": "id", "value": "252"}], [250, 251]),
    ([{"op": "in", "field": "id", "value": [250, 253]}], [250, 253]),
    ([{"op": "notIn", "field": "companyNumber", "value": ["contoso", "EXMSP"]}], [252, 253]),
    ([{"op": "beginsWith", "field": "companyName", "value": "north"}], [253]),
    ([{"op": "endsWith", "field": "companyName", "value": "INC"}], [252]),
    ([{"op": "contains", "field": "webAddress", "value": "WIND"}], [253]),
    ([{"op": "exist", "field": "city"}], [250, 251, 252]),
    ([{"op": "notExist", "field": "city"}], [253]),
    ([{"op": "eq", "field": "isActive", "value": True}], [250, 251, 252, 253]),
    ([{"op": "eq", "field": "isActive", "value": False}], []),
    ([{"op": "gte", "field": "createDate", "value": "2024-03-01T00:00:00Z"}], [252, 253]),
    (
        [
            {
                "op": "or",
                "items": [
                    {"op": "eq", "field": "id", "value": 250},
                    {"op": "beginsWith", "field": "companyName", "value": "C"},
                ],
            }
        ],
        [250, 251],
    ),
    (
        [
            {"op": "eq", "field": "isActive", "value": True},
            {
                "op": "or",
                "items": [
                    {
                        "op": "and",
                        "items": [
                            {"op": "eq", "field": "companyType", "value": 1},
                            {"op": "gt", "field": "id", "value": 252},
                        ],
                    },
                    {"op": "eq", "field": "companyType", "value": 8},
                ],
            },
        ],
        [250, 253],
    ),
]


@pytest.mark.parametrize(("filters", "expected"), COMPANY_FILTERS)
def test_filters_select_companies(at_api: httpx.Client, filters: list[dict[str, Any]], expected: list[int]) -> None:
    assert ids(query(at_api, "Companies", *filters)) == expected


BAD_QUERIES: list[tuple[dict[str, Any], str]] = [
    ({"filter": []}, "a filter is required"),
    ({"maxRecords": 5}, "a filter is required"),
    ({"filter": [{"op": "eq", "field": "isActive", "value": "true"}]}, "not a boolean"),
    ({"filter": [{"op": "eq", "field": "isActive", "value": 1}]}, "not a boolean"),
    ({"filter": [{"op": "eq", "field": "isActive", "value": None}]}, "null is not one"),
    ({"filter": [{"op": "eq", "field": "colour", "value": "red"}]}, "no field 'colour'"),
    ({"filter": [{"op": "like", "field": "companyName", "value": "x"}]}, "unknown filter operator"),
    ({"filter": [{"op": "in", "field": "id", "value": 250}]}, "non-empty list"),
    ({"filter": [{"op": "beginsWith", "field": "id", "value": "25"}]}, "applies to text fields"),
    ({"filter": [{"op": "gt", "field": "createDate", "value": "yesterday"}]}, "not a date-time"),
    ({"filter": [{"op": "or", "items": []}]}, "non-empty items"),
    ({"filter": [EXIST], "maxRecords": 501}, "between 1 and 500"),
    ({"filter": [EXIST], "includeFields": ["colour"]}, "no field 'colour'"),
]


@pytest.mark.parametrize(("body", "why"), BAD_QUERIES)
def test_a_query_autotask_cannot_read_is_a_500_saying_why(at_api: httpx.Client, body: dict[str, Any], why: str) -> None:
    assert why in refusal(at_api.post("/V1.0/Companies/query", json=body))


def test_the_search_parameter_must_be_a_query(at_loose_api: httpx.Client) -> None:
    assert "not JSON" in refusal(at_loose_api.get("/V1.0/Companies/query", params={"search": "{filter"}))
    assert "required" in refusal(at_loose_api.get("/V1.0/Companies/query"))
    assert "cannot be queried" in refusal(
        query(at_loose_api, "BillingItems", {"op": "exist", "field": "lineItemFullDescription"})
    )


# -- creates and updates ----------------------------------------------------------------------------------------------

COMPANY = {"companyName": "Tailspin Toys", "companyType": 3, "ownerResourceID": 4, "phone": "0100"}


def test_a_create_answers_the_new_id(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    company = created(at_api.post("/V1.0/Companies", json=COMPANY))
    shown = at_api.get(f"/V1.0/Companies/{company}").json()["item"]
    stamped = FROZEN_AT.strftime("%Y-%m-%dT%H:%M")  # UTC, no zone designator (the clock ticks from FROZEN_AT)
    assert (shown["companyName"], shown["isActive"], shown["createDate"][:16]) == ("Tailspin Toys", True, stamped)
    contact = created(at_api.post(f"/V1.0/Companies/{company}/Contacts", json={"firstName": "Kim", "lastName": "Ito"}))
    listed = query(at_api, "Contacts", {"op": "eq", "field": "companyID", "value": company})
    assert ids(listed) == [contact] and listed.json()["items"][0]["isActive"] == 1
    service = {"name": "Cloud backup (per TB)", "sku": "BKP-CLOUD-TB", "unitPrice": 25.0, "periodType": 1}
    made = created(at_api.post("/V1.0/Services", json=service))
    assert at_api.get(f"/V1.0/Services/{made}").json()["item"]["sku"] == "BKP-CLOUD-TB"
    assert [request.path for request in at_sandbox.writes()] == [
        "/ATServicesRest/V1.0/Companies",
        f"/ATServicesRest/V1.0/Companies/{company}/Contacts",
        "/ATServicesRest/V1.0/Services",
    ]


def test_a_write_autotask_cannot_carry_out_is_a_500_naming_the_fields(
    at_api: httpx.Client, at_sandbox: AutotaskSandbox
) -> None:
    no_phone = {k: v for k, v in COMPANY.items() if k != "phone"}
    assert "phone: a value is required" in refusal(at_api.post("/V1.0/Companies", json=no_phone))
    assert "no resource 99" in refusal(at_api.post("/V1.0/Companies", json={**COMPANY, "ownerResourceID": 99}))
    assert "picklist" in refusal(at_api.post("/V1.0/Companies", json={**COMPANY, "companyType": 5}))
    assert "maximum length" in refusal(at_api.post("/V1.0/Companies", json={**COMPANY, "companyName": "N" * 101}))
    assert "does not exist" in refusal(at_api.post("/V1.0/Companies/9999/Contacts", json={"firstName": "A"}))
    taken = {"name": "server backup (per gb)", "unitPrice": 1.0, "periodType": 1}
    assert "exists already" in refusal(at_api.post("/V1.0/Services", json=taken))
    contract = {"companyID": 9999, "contractName": "X", "contractType": 7, "status": 1}
    assert "no company 9999" in refusal(at_api.post("/V1.0/Contracts", json=contract))
    assert "startDate: a value is required" in refusal(at_api.post("/V1.0/Contracts", json=contract))
    assert at_sandbox.writes() == []


def test_a_write_of_the_wrong_type_is_refused_by_the_sandbox_too(at_loose_api: httpx.Client) -> None:
    assert "not an integer" in refusal(at_loose_api.post("/V1.0/Companies", json={**COMPANY, "companyType": "1"}))
    assert "no such field" in refusal(at_loose_api.post("/V1.0/Companies", json={**COMPANY, "colour": "red"}))
    assert "not JSON" in refusal(
        at_loose_api.post("/V1.0/Companies", content=b"{", headers={"Content-Type": "application/json"})
    )


def test_contracts_are_created_replaced_and_patched_by_the_id_in_the_body(at_api: httpx.Client) -> None:
    body = {"companyID": 252, "contractName": "Backup 2027", "contractType": 7, "status": 1}
    number = created(at_api.post("/V1.0/Contracts", json={**body, "startDate": "2027-01-01T00:00:00"}))
    made = at_api.get(f"/V1.0/Contracts/{number}").json()["item"]
    assert (made["contractPeriodType"], made["startDate"]) == (1, "2027-01-01T00:00:00")
    patched = {"id": number, "description": "Backup, billed monthly"}
    assert created(at_api.patch("/V1.0/Contracts", json=patched)) == number
    assert at_api.get(f"/V1.0/Contracts/{number}").json()["item"]["contractName"] == "Backup 2027"
    replaced = {"id": number, **body, "contractName": "Backup", "startDate": "2027-02-01T00:00:00+01:00"}
    assert created(at_api.put("/V1.0/Contracts", json=replaced)) == number
    shown = at_api.get(f"/V1.0/Contracts/{number}").json()["item"]
    assert (shown["contractName"], shown["description"], shown["startDate"]) == ("Backup", None, "2027-02-01T00:00:00")
    assert "cannot be changed" in refusal(at_api.patch("/V1.0/Contracts", json={"id": number, "contractType": 4}))
    assert "names no contract" in refusal(at_api.patch("/V1.0/Contracts", json={"contractName": "No id"}))
    assert "before startDate" in refusal(
        at_api.patch("/V1.0/Contracts", json={"id": number, "endDate": "2026-01-01T00:00:00"})
    )


def test_a_contract_service_is_made_only_under_a_recurring_service_contract(
    at_api: httpx.Client, at_sandbox: AutotaskSandbox
) -> None:
    number = created(at_api.post("/V1.0/Contracts/502/Services", json={"serviceID": 403}))
    made = at_api.get(f"/V1.0/ContractServices/{number}").json()["item"]
    assert (made["contractID"], made["serviceID"], made["unitPrice"], made["unitCost"]) == (502, 403, 4.0, 1.5)
    priced = created(at_api.post("/V1.0/Contracts/503/Services", json={"serviceID": 405, "unitPrice": 0.09}))
    assert at_api.get(f"/V1.0/ContractServices/{priced}").json()["item"]["unitPrice"] == 0.09
    assert "Recurring Service" in refusal(at_api.post("/V1.0/Contracts/504/Services", json={"serviceID": 403}))
    assert "on contract 502 already" in refusal(at_api.post("/V1.0/Contracts/502/Services", json={"serviceID": 403}))
    assert "no service 999" in refusal(at_api.post("/V1.0/Contracts/502/Services", json={"serviceID": 999}))
    assert "not the parent" in refusal(
        at_api.post("/V1.0/Contracts/502/Services", json={"serviceID": 404, "contractID": 501})
    )
    with pytest.raises(ValueError, match="not a Recurring Service"):
        at_sandbox.add_contract_service(504, 403)


# -- adjustments and units --------------------------------------------------------------------------------------------


def adjustment(change: int, effective: date, **fields: Any) -> dict[str, Any]:
    return {"unitChange": change, "effectiveDate": f"{effective}T00:00:00", **fields}


def test_adjustments_can_only_be_created(
    at_api: httpx.Client, at_loose_api: httpx.Client, at_sandbox: AutotaskSandbox
) -> None:
    day = THIS_MONTH + timedelta(days=2)
    first = created(
        at_api.post("/V1.0/ContractServiceAdjustments", json=adjustment(2, day, contractID=501, contractServiceID=601))
    )
    second = created(at_api.post("/V1.0/Contracts/501/ServiceAdjustments", json=adjustment(-1, day, serviceID=401)))
    assert [(a["id"], a["unitChange"]) for a in at_sandbox.adjustments[-2:]] == [(first, 2), (second, -1)]
    assert at_sandbox.units_on(601, day) == 11
    for method, path in [
        ("GET", f"/V1.0/ContractServiceAdjustments/{first}"),
        ("GET", "/V1.0/ContractServiceAdjustments/query"),
        ("POST", "/V1.0/ContractServiceAdjustments/query"),
        ("PATCH", "/V1.0/ContractServiceAdjustments"),
        ("GET", "/V1.0/Contracts/501/ServiceAdjustments"),
    ]:
        assert refusal(at_loose_api.request(method, path, json={"filter": [EXIST]}), 404), path


def test_units_can_only_be_read(at_loose_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    record = {"contractServiceID": 601, "units": 99, "startDate": f"{THIS_MONTH}T00:00:00"}
    for method, path in [
        ("POST", "/V1.0/ContractServiceUnits"),
        ("PATCH", "/V1.0/ContractServiceUnits"),
        ("PUT", "/V1.0/ContractServiceUnits"),
        ("POST", "/V1.0/Contracts/501/ServiceUnits"),
        ("GET", "/V1.0/ContractServiceUnits/700001"),
    ]:
        assert refusal(at_loose_api.request(method, path, json=record), 404), path
    assert at_sandbox.units_on(601, THIS_MONTH) == 10 and at_sandbox.writes() == []


def test_an_adjustment_by_service_makes_the_contract_service_it_needs(
    at_api: httpx.Client, at_sandbox: AutotaskSandbox
) -> None:
    body = adjustment(12, THIS_MONTH, contractID=502, serviceID=404, adjustedUnitPrice=0.14)
    created(at_api.post("/V1.0/ContractServiceAdjustments", json=body))
    made = query(at_api, "ContractServices", {"op": "eq", "field": "contractID", "value": 502}).json()["items"]
    line = next(cs for cs in made if cs["serviceID"] == 404)
    assert line["unitPrice"] == 0.14 and at_sandbox.units_on(line["id"], THIS_MONTH) == 12


BAD_ADJUSTMENTS: list[tuple[dict[str, Any], str]] = [
    (adjustment(1, date(2023, 12, 31), contractID=501, contractServiceID=601), "before the contract starts"),
    (adjustment(-11, date(2025, 1, 1), contractID=501, contractServiceID=601), "units cannot be negative"),
    (adjustment(1, date(2025, 1, 1), contractID=504, serviceID=401), "Recurring Service"),
    (adjustment(1, date(2025, 1, 1), contractID=501, contractServiceID=603), "no contract service 603"),
    (adjustment(1, date(2025, 1, 1), contractID=501, contractServiceID=601, serviceID=402), "is not contract service"),
    (adjustment(1, date(2025, 1, 1), contractID=501), "contractServiceID or serviceID is required"),
    (adjustment(1, date(2025, 1, 1), contractServiceID=601), "no contract None"),
    ({"contractID": 501, "contractServiceID": 601, "unitChange": 1}, "effectiveDate: a value is required"),
]


@pytest.mark.parametrize(("body", "why"), BAD_ADJUSTMENTS)
def test_an_adjustment_that_cannot_be_made_is_refused(
    at_api: httpx.Client, at_sandbox: AutotaskSandbox, body: dict[str, Any], why: str
) -> None:
    assert why in refusal(at_api.post("/V1.0/ContractServiceAdjustments", json=body))
    assert at_sandbox.writes() == [] and len(at_sandbox.adjustments) == 4


def test_a_unit_change_must_be_a_whole_number(at_loose_api: httpx.Client) -> None:
    for change in (2.5, "3", True):
        body = adjustment(0, THIS_MONTH, contractID=501, contractServiceID=601) | {"unitChange": change}
        assert "not an integer" in refusal(at_loose_api.post("/V1.0/ContractServiceAdjustments", json=body)), change


def test_units_are_a_step_function_cut_at_periods_and_adjustments(
    at_api: httpx.Client, at_sandbox: AutotaskSandbox
) -> None:
    month = add_months(THIS_MONTH, -2)
    following = add_months(month, 1)
    line = created(at_api.post("/V1.0/Contracts/502/Services", json={"serviceID": 402}))
    post = at_api.post
    created(post("/V1.0/Contracts/502/ServiceAdjustments", json=adjustment(5, month, contractServiceID=line)))
    before = query(at_api, "ContractServiceUnits", {"op": "eq", "field": "contractServiceID", "value": line}).json()
    middle = month + timedelta(days=14)
    created(post("/V1.0/Contracts/502/ServiceAdjustments", json=adjustment(-2, middle, contractServiceID=line)))
    last = following - timedelta(days=1)
    assert units(at_api, line, month, following) == [
        (str(month), str(middle - timedelta(days=1)), 5),
        (str(middle), str(last), 3),
        (str(following), str(add_months(following, 1) - timedelta(days=1)), 3),
    ]
    assert units(at_api, line, add_months(month, -1), add_months(month, -1)) == [
        (str(add_months(month, -1)), str(month - timedelta(days=1)), 0)
    ]
    after = query(at_api, "ContractServiceUnits", {"op": "eq", "field": "contractServiceID", "value": line}).json()
    kept = {r["startDate"]: r["id"] for r in before["items"]}
    assert all(kept[r["startDate"]] == r["id"] for r in after["items"] if r["startDate"] in kept)
    assert len(after["items"]) == len(before["items"]) + 1
    cut = next(r for r in after["items"] if r["startDate"] == f"{middle}T00:00:00")
    assert (cut["price"], cut["cost"], cut["contractID"], cut["serviceID"]) == (0.36, 0.12, 502, 402)
    assert [at_sandbox.units_on(line, d) for d in (month - timedelta(days=1), month, middle, following)] == [0, 5, 3, 3]


def test_units_run_from_the_contract_start_to_a_year_ahead(at_api: httpx.Client) -> None:
    records = query(at_api, "ContractServiceUnits", {"op": "eq", "field": "contractServiceID", "value": 604}).json()
    starts = [r["startDate"][:10] for r in records["items"]]
    assert starts[0] == "2025-01-10" and records["items"][0]["endDate"] == "2025-01-31T00:00:00"
    assert starts[1] == "2025-02-01" and starts[-1] == str(add_months(THIS_MONTH, 12))
    assert {r["units"] for r in records["items"]} == {5}


# -- the invoicing run -------------------------------------------------------------------------------------------------


def test_the_invoicing_run_posts_the_period_and_invoices_each_company(
    at_api: httpx.Client, at_sandbox: AutotaskSandbox
) -> None:
    period = add_months(THIS_MONTH, -1)
    at_sandbox.adjust(602, 333, period)  # Contoso's server backup: 560 + 333 GB at 0.12 = 107.16
    odd = at_sandbox.add_contract_service(501, 404, unit_price=0.333)
    at_sandbox.adjust(odd["id"], 3, period)  # 3 x 0.333 = 0.999: a line of 1.00
    at_sandbox.adjust(603, 2, period + timedelta(days=9))  # Fabrikam: 8 users, then 10 from the 10th

    added = at_sandbox.invoice(period)

    assert [invoice["companyID"] for invoice in added] == [251, 252, 253]
    totals = {}
    for invoice in added:
        shown = at_api.get(f"/V1.0/Invoices/{invoice['id']}").json()["item"]
        assert (shown["fromDate"], shown["invoiceDateTime"]) == (f"{period}T00:00:00", f"{FROZEN_AT.date()}T00:00:00")
        lines = query(at_api, "BillingItems", {"op": "eq", "field": "invoiceID", "value": invoice["id"]}).json()[
            "items"
        ]
        assert sum(Decimal(str(item["extendedPrice"])) for item in lines) == Decimal(str(shown["invoiceTotal"]))
        totals[shown["companyID"]] = Decimal(str(shown["invoiceTotal"]))
    assert totals == {251: Decimal("143.16"), 252: Decimal("63.00"), 253: Decimal("17.50")}

    posted = query(
        at_api,
        "ContractServiceUnits",
        {"op": "exist", "field": "approveAndPostDate"},
    ).json()["items"]
    fabrikam = [r for r in posted if r["contractServiceID"] == 603]
    assert [(r["startDate"][:10], r["units"]) for r in fabrikam] == [
        (str(period), 8),
        (str(period + timedelta(days=9)), 10),
    ]
    items = query(at_api, "BillingItems", {"op": "eq", "field": "contractServiceID", "value": 603}).json()["items"]
    assert [item["contractServicePeriodID"] for item in items] == [r["id"] for r in fabrikam]
    assert [(item["quantity"], item["rate"], item["itemDate"]) for item in items] == [
        (8.0, 3.5, f"{period}T00:00:00"),
        (10.0, 3.5, f"{period + timedelta(days=9)}T00:00:00"),
    ]
    server = query(at_api, "BillingItems", {"op": "eq", "field": "contractServiceID", "value": 602}).json()["items"]
    assert [(s["quantity"], s["extendedPrice"], s["companyID"], s["contractID"]) for s in server] == [
        (893.0, 107.16, 251, 501)
    ]
    assert {r["contractServiceID"] for r in posted} == {601, 602, 603, 604, odd["id"]}
    assert at_sandbox.invoice(period) == []  # a period is posted once


def test_an_adjustment_into_a_posted_period_is_refused(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    period = add_months(THIS_MONTH, -1)
    at_sandbox.invoice(period)
    into = adjustment(1, period + timedelta(days=20), contractID=501, contractServiceID=601)
    assert "approved and posted" in refusal(at_api.post("/V1.0/ContractServiceAdjustments", json=into))
    with pytest.raises(ValueError, match="closed"):
        at_sandbox.adjust(601, 1, period)
    after = adjustment(1, THIS_MONTH, contractID=501, contractServiceID=601)
    assert created(at_api.post("/V1.0/ContractServiceAdjustments", json=after))
    assert at_sandbox.units_on(601, THIS_MONTH) == 11


# -- writes, hooks and faults ------------------------------------------------------------------------------------------


def test_query_posts_are_reads(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    seen: list[str] = []
    at_sandbox.before_read = lambda request: seen.append(request.path)
    at_sandbox.before_write = lambda request: SandboxResponse.of_json({"errors": ["held"]}, 503)
    assert query(at_api, "Contracts").status_code == 200
    assert "held" in refusal(at_api.post("/V1.0/Companies", json=COMPANY), 503)
    assert seen == ["/ATServicesRest/V1.0/Contracts/query"]
    assert at_sandbox.writes() == [] and at_sandbox.is_write(at_sandbox.requests[-1])
    assert not at_sandbox.is_write(at_sandbox.requests[0])


def test_write_hooks_see_a_landed_write(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    landed: list[tuple[str, int]] = []

    def after(request: SandboxRequest, response: SandboxResponse) -> None:
        landed.append((request.method, response.status))

    at_sandbox.after_write = after
    query(at_api, "Companies")
    created(at_api.post("/V1.0/Companies", json=COMPANY))
    assert landed == [("POST", 200)] and len(at_sandbox.writes()) == 1


def test_injected_faults_answer_instead_and_change_nothing(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    failed = b'{"errors": ["injected"]}'
    at_sandbox.inject(Fault(status=500, body=failed, headers={"Content-Type": "application/json"}, method="POST"))
    assert refusal(at_api.post("/V1.0/Companies", json=COMPANY)) == "injected"
    assert len(at_sandbox.companies) == 4 and at_sandbox.writes() == []


# -- data and seeds ---------------------------------------------------------------------------------------------------


def test_the_demo_data_bills_the_demo_customers(at_api: httpx.Client, at_sandbox: AutotaskSandbox) -> None:
    customers = query(at_api, "Companies", {"op": "eq", "field": "companyType", "value": 1}).json()["items"]
    assert [c["companyName"] for c in customers] == ["Contoso Ltd", "Fabrikam Inc", "Northwind Traders"]
    recurring = query(at_api, "Contracts", {"op": "eq", "field": "contractType", "value": 7}).json()["items"]
    assert {(c["companyID"], c["contractName"], c["status"]) for c in recurring} == {
        (251, "Managed Backup", 1),
        (252, "Managed Backup", 1),
        (253, "Managed Backup", 1),
    }
    catalogue = {s["sku"]: (s["name"], s["unitPrice"]) for s in query(at_api, "Services").json()["items"]}
    assert catalogue == {
        "BKP-M365-USER": ("Microsoft 365 backup (per user)", 3.5),
        "BKP-SERVER-GB": ("Server backup (per GB)", 0.12),
        "BKP-WS-PC": ("Workstation backup (per PC)", 4.0),
        "BKP-WS-GB": ("Workstation backup (per GB)", 0.15),
        "BKP-ONLINE-GB": ("Online backup (per GB)", 0.1),
    }
    assert [at_sandbox.units_on(cs, FROZEN_AT.date()) for cs in (601, 602, 603, 604)] == [10, 560, 8, 5]


def test_an_empty_sandbox_is_seeded_by_its_helpers(at_contract: SwaggerContract) -> None:
    with AutotaskSandbox({}) as sandbox, at_client(sandbox, at_contract) as api:
        assert query(api, "Companies").json()["items"] == []
        company = sandbox.add_company("Tailspin Toys")
        contract = sandbox.add_contract(company["id"], start=date(2026, 1, 1), end=date(2026, 12, 31))
        service = sandbox.add_service("PC backup", "BKP-PC", 4.0, unit_cost=1.5)
        line = sandbox.add_contract_service(contract["id"], service["id"])
        sandbox.adjust(line["id"], 12, date(2026, 3, 1))
        records = query(api, "ContractServiceUnits").json()["items"]
        assert (len(records), records[0]["units"], records[2]["units"], records[2]["price"]) == (12, 0, 12, 48.0)
        assert records[-1]["endDate"] == "2026-12-31T00:00:00"
        with pytest.raises(ValueError, match="after the contract ends"):
            sandbox.adjust(line["id"], 1, date(2027, 1, 1))


def test_field_information_names_the_picklists(at_api: httpx.Client) -> None:
    def picklist(entity: str, name: str) -> dict[str, str]:
        fields = at_api.get(f"/V1.0/{entity}/entityInformation/fields").json()["fields"]
        found = next(f for f in fields if f["name"] == name)
        return {v["value"]: v["label"] for v in found["picklistValues"]}

    assert picklist("Companies", "companyType")["1"] == "Customer"
    assert picklist("Contracts", "contractType")["7"] == "Recurring Service"
    assert picklist("Contracts", "status") == {"0": "Inactive", "1": "Active"}
    assert picklist("Contracts", "contractPeriodType")["1"] == "Monthly"
    fields = at_api.get("/V1.0/ContractServiceAdjustments/entityInformation/fields").json()["fields"]
    assert {f["name"] for f in fields if f["isRequired"]} == {"unitChange", "effectiveDate"}
