"""The Swagger checker itself: the kept subset is the shared one, it refuses what the document does not allow (in
requests and in answers) and accepts Autotask's own forms (zone-less date-times, nulls, the error shape)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from providers.autotask.sandbox import AutotaskSandbox

from .conftest import at_client
from .swagger_check import SHARED_PATH, SUBSET_PATH, ContractViolation, SwaggerContract

ZONE = "https://webservices14.autotask.net/ATServicesRest"
AUTH = {"ApiIntegrationCode": "CODE", "UserName": "user@example.com", "Secret": "s"}
QUERY = {"filter": [{"op": "exist", "field": "id"}]}


def test_the_kept_subset_is_the_shared_one() -> None:
    if not SHARED_PATH.is_file():
        pytest.skip(f"the shared subset is not at {SHARED_PATH}: nothing to compare")
    assert SUBSET_PATH.read_bytes() == SHARED_PATH.read_bytes()


def described_request(method: str, path: str, headers: dict[str, str] | None = None, **options: Any) -> httpx.Request:
    return httpx.Request(method, ZONE + path, headers=AUTH if headers is None else headers, **options)


NOT_ALLOWED: list[tuple[str, str, dict[str, Any], str]] = [
    ("GET", "/V1.0/ContractServiceAdjustments/7", {}, "matches no path"),
    ("POST", "/V1.0/ContractServiceAdjustments/query", {"json": QUERY}, "matches no path"),
    ("PATCH", "/V1.0/Companies", {"json": {"id": 1}}, "not an operation"),
    ("DELETE", "/V1.0/Contracts", {}, "not an operation"),
    ("GET", "/v1.0/companies/251", {}, "matches no path"),
    ("GET", "/V1.0/Companies/abc", {}, "not an integer"),
    ("GET", "/V1.0/Companies/query", {}, "'search' is required"),
    ("GET", "/V1.0/Companies/query", {"params": {"search": "{"}}, "not JSON"),
    ("GET", "/V1.0/Companies/query", {"params": {"search": '{"Filter": []}'}}, "'Filter' was unexpected"),
    ("GET", "/V1.0/Companies/query", {"params": {"search": "{}", "page": 2}}, "'page' is not declared"),
    ("GET", "/V1.0/ZoneInformation", {}, "'user' is required"),
    ("GET", "/V1.0/Companies/251", {"headers": {"UserName": "u", "Secret": "s"}}, "'ApiIntegrationCode' is required"),
    ("POST", "/V1.0/Companies", {"json": {"companyName": "X", "colour": "red"}}, "'colour' was unexpected"),
    ("POST", "/V1.0/Companies", {"json": {"CompanyName": "X"}}, "'CompanyName' was unexpected"),
    ("POST", "/V1.0/Companies", {"json": {"companyType": "1"}}, "is not of type 'integer', 'null'"),
    ("POST", "/V1.0/Companies", {}, "the request body is required"),
    ("POST", "/V1.0/Companies", {"data": {"companyName": "X"}}, "a body of type"),
    ("POST", "/V1.0/ContractServiceAdjustments", {"json": {"unitChange": 2.5}}, "unitChange"),
    ("POST", "/V1.0/ContractServiceAdjustments", {"json": {"unitChange": 2**31}}, "unitChange"),
    ("POST", "/V1.0/ContractServiceAdjustments", {"json": {"effectiveDate": "2026-11-01"}}, "effectiveDate"),
    ("POST", "/V1.0/Contracts/501/Services", {"json": {"soapParentPropertyId": {}}}, "soapParentPropertyId"),
    ("POST", "/V1.0/Companies/query", {"json": {"filter": [{"op": "eq", "feld": "id"}]}}, "'feld' was unexpected"),
    ("GET", "/VersionInformation", {"json": {"verbose": True}}, "takes no request body"),
]


@pytest.mark.parametrize(("method", "path", "options", "why"), NOT_ALLOWED)
def test_the_checker_refuses_a_request_the_document_does_not_allow(
    at_contract: SwaggerContract, method: str, path: str, options: dict[str, Any], why: str
) -> None:
    with pytest.raises(ContractViolation, match=re.escape(why)):
        at_contract.check_request(described_request(method, path, **options))


def test_the_checker_accepts_what_the_document_allows(at_contract: SwaggerContract) -> None:
    lower_case_headers = {name.lower(): value for name, value in AUTH.items()}
    body = {"contractID": 501, "serviceID": 401, "unitChange": -3, "effectiveDate": "2026-11-01T00:00:00"}
    at_contract.check_request(
        described_request("POST", "/V1.0/ContractServiceAdjustments", lower_case_headers, json=body)
    )
    filters = {
        "filter": [{"op": "in", "field": "id", "value": [1, 2]}, {"op": "eq", "field": "isActive", "value": True}]
    }
    search = {"search": json.dumps({**filters, "includeFields": ["companyName"], "maxRecords": 10})}
    at_contract.check_request(described_request("GET", "/V1.0/Companies/query", params=search))
    at_contract.check_request(described_request("PATCH", "/V1.0/Contracts", json={"id": 501, "endDate": None}))
    at_contract.check_request(described_request("GET", "/V1.0/ZoneInformation", params={"user": "u@example.com"}))


def answer(method: str, path: str, status: int, body: Any, media: str = "application/json") -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    headers = {"Content-Type": media} if body is not None else {}
    return httpx.Response(status, content=content, headers=headers, request=described_request(method, path))


WRONG_ANSWERS = [
    (answer("GET", "/V1.0/Companies/251", 200, {"item": {"id": 251, "colour": "red"}}), "'colour' was unexpected"),
    (answer("GET", "/V1.0/Companies/251", 200, {"id": 251}), "'id' was unexpected"),
    (
        answer("GET", "/V1.0/Contracts/501", 200, {"item": {"id": 501, "status": "1"}}),
        "at item/status: '1' is not of type",
    ),
    (answer("GET", "/V1.0/Contracts/501", 200, {"item": {"startDate": "2024-01-01"}}), "is not a 'date-time'"),
    (answer("GET", "/V1.0/Contracts/501", 200, {"item": {"id": 1}}, "text/html"), "media type"),
    (answer("POST", "/V1.0/Companies", 201, {"itemId": 1}), "not documented"),
    (answer("GET", "/V1.0/Companies/9", 404, {"message": "not found"}), "not Autotask's error shape"),
    (answer("POST", "/V1.0/Companies", 500, {"errors": "one"}), "not Autotask's error shape"),
    (answer("GET", "/V1.0/Nope", 200, {}), "not documented"),
    (answer("GET", "/V1.0/Companies/query?search=x", 200, {"items": [], "pageDetails": {"count": "0"}}), "count"),
]


@pytest.mark.parametrize(("response", "why"), WRONG_ANSWERS)
def test_the_checker_refuses_an_answer_the_document_does_not_allow(
    at_contract: SwaggerContract, response: httpx.Response, why: str
) -> None:
    with pytest.raises(ContractViolation, match=re.escape(why)):
        at_contract.check_response(response)


def test_the_checker_accepts_autotasks_own_forms(at_contract: SwaggerContract) -> None:
    item = {
        "id": 501,
        "startDate": "2024-01-01T00:00:00",
        "endDate": None,
        "lastModifiedDateTime": "2026-01-31T15:04:05.3070000",
    }
    at_contract.check_response(answer("GET", "/V1.0/Contracts/501", 200, {"item": item}))
    at_contract.check_response(
        answer("GET", "/V1.0/Contracts/501", 200, {"item": {"startDate": "2024-01-01T00:00:00Z"}})
    )
    at_contract.check_response(answer("POST", "/V1.0/Contracts", 200, {"itemId": 7}))
    at_contract.check_response(answer("GET", "/V1.0/Companies/9", 404, {"errors": ["Companies 9 does not exist"]}))
    at_contract.check_response(answer("GET", "/V1.0/Companies/9", 401, None))
    at_contract.check_response(answer("GET", "/v1.0/companies/9", 200, {"item": {"id": 9}}, "text/json"))


def test_a_client_sending_an_unknown_field_is_stopped_before_the_sandbox_sees_it(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract
) -> None:
    with at_client(at_sandbox, at_contract) as api, pytest.raises(ContractViolation, match="'colour' was unexpected"):
        api.post("/V1.0/Companies", json={"companyName": "X", "colour": "red"})
    with at_client(at_sandbox, at_contract) as api, pytest.raises(ContractViolation, match="matches no path"):
        api.get("/V1.0/ContractServiceAdjustments/651")
    assert at_sandbox.requests == []
