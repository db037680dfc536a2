"""Sandbox Atera: its answers validate against Atera's OpenAPI description and it enforces Atera's rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.atera.sandbox import DEFAULT_API_KEY, AteraSandbox
from providers.sandbox import Fault

TOKEN = "eyJ" + "t" * 200


@pytest.fixture
def api(sandbox: AteraSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.api_url, headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
        yield client


def json_of(response: httpx.Response) -> Any:
    return response.json() if response.content else None


READS = [
    "/customers",
    "/customers/1",
    "/contacts",
    "/agents",
    "/agents/customer/1",
    "/contracts",
    "/contracts/customer/2",
    "/contracts/101",
    "/contracts/102",
    "/contracts/104",
    "/contracts/105",
    "/contracts/106",
    "/rates/products",
    "/rates/products/11",
    "/rates/expenses",
    "/billing/invoices",
    "/billing/invoice/5001",
]


@pytest.mark.parametrize("path", READS)
def test_every_read_answers_in_the_documented_shape(api: httpx.Client, openapi: Any, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 200
    openapi.check_response("/api/v3" + path, "GET", 200, response.json())


def test_writes_answer_in_the_documented_shape(api: httpx.Client, sandbox: AteraSandbox, openapi: Any) -> None:
    exchanges = [
        ("POST", "/customers", {"CustomerName": "Tailspin Toys"}),
        ("POST", "/contacts", {"Email": "kim@tailspin.example", "CustomerName": "Tailspin Toys"}),
        ("POST", "/rates/products", {"Description": "Per GB", "Amount": 0.2, "SKU": "GB-02", "Category": "Backup"}),
        ("PUT", "/rates/products/11", {"Description": "Server backup per GB"}),
        (
            "POST",
            "/contracts",
            {
                "ContractName": "Per GB",
                "CustomerID": 3,
                "ContractType": "RetainerFlatFee",
                "Active": True,
                "RetainerFlatFeeContract": {"RateID": 11, "Quantity": 5, "BillingPeriod": "Monthly"},
            },
        ),
        ("PUT", "/contracts/101", {"RetainerFlatFeeContract": {"Quantity": 12.5}}),
        ("PUT", "/customvalues/contractfield/101/Billing%20connector", {"Value": "hello"}),
    ]
    for method, path, body in exchanges:
        openapi.check_request("/api/v3" + path, method, {}, httpx.Request(method, "/", json=body).content)
        response = api.request(method, path, json=body)
        assert response.status_code in (200, 201, 204), (path, response.text)
        openapi.check_response("/api/v3" + path, method, response.status_code, json_of(response))
    got = api.get("/customvalues/contractfield/101/Billing%20connector")
    openapi.check_response("/api/v3/customvalues/contractfield/101/x", "GET", 200, got.json())
    assert got.json()[0]["ValueAsString"] == "hello"
    assert sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] == 12.5


def test_a_bad_request_answers_problem_details(api: httpx.Client, openapi: Any) -> None:
    response = api.post("/contracts", json={"ContractName": "x", "CustomerID": 999, "ContractType": "Hourly"})
    assert response.status_code == 400
    openapi.check_response("/api/v3/contracts", "POST", 400, response.json())
    assert response.json()["detail"] == "CustomerID must name an existing customer"


def test_both_auth_styles_are_accepted_and_anything_else_is_401_with_an_empty_body() -> None:
    with AteraSandbox(bearer_token=TOKEN) as server:
        assert httpx.get(server.api_url + "/customers", headers={"X-API-KEY": DEFAULT_API_KEY}).status_code == 200
        assert httpx.get(server.api_url + "/customers", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        for headers in ({}, {"X-API-KEY": "wrong"}, {"Authorization": f"Bearer {DEFAULT_API_KEY}"}):
            refused = httpx.get(server.api_url + "/customers", headers=headers)
            assert (refused.status_code, refused.content) == (401, b"")


def test_pages_hold_at_most_50_and_the_last_page_has_no_next_link(api: httpx.Client, sandbox: AteraSandbox) -> None:
    for n in range(120):
        sandbox.customers[5000 + n] = {"CustomerID": 5000 + n, "CustomerName": f"Bulk {n}"}
    first = api.get("/customers", params={"itemsInPage": 500}).json()
    assert (len(first["items"]), first["itemsInPage"], first["totalItemCount"], first["totalPages"]) == (50, 50, 123, 3)
    assert first["nextLink"].endswith("page=2&itemsInPage=50")
    last = api.get("/customers", params={"itemsInPage": 50, "page": 3}).json()
    assert (len(last["items"]), last["nextLink"]) == (23, None)
    assert api.get("/customers").json()["itemsInPage"] == 20


def test_the_last_page_can_end_with_an_empty_next_link() -> None:
    with AteraSandbox(empty_next_link=True) as server:
        body = httpx.get(server.api_url + "/customers", headers={"X-API-KEY": DEFAULT_API_KEY}).json()
        assert body["nextLink"] == ""


def test_a_retainer_rate_cannot_change_on_update(api: httpx.Client, sandbox: AteraSandbox) -> None:
    response = api.put("/contracts/101", json={"RetainerFlatFeeContract": {"Quantity": 3, "RateID": 13}})
    assert response.status_code == 400
    assert "rates cannot change on update" in response.json()["detail"]
    assert sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] == 560


def test_project_contracts_cannot_be_updated(api: httpx.Client) -> None:
    response = api.put("/contracts/104", json={"ContractName": "Renamed"})
    assert response.status_code == 400
    assert "cannot be updated" in response.json()["detail"]
    assert api.get("/contracts/104").json()["ContractName"] == "Migration project"


def test_update_takes_only_the_fields_of_the_contract_type(api: httpx.Client) -> None:
    wrong_type = api.put("/contracts/102", json={"RetainerFlatFeeContract": {"Quantity": 3}})
    assert wrong_type.status_code == 400
    not_allowed = api.put("/contracts/105", json={"RemoteMonitoringContract": {"RatePerDevice": {"RateID": 11}}})
    assert not_allowed.status_code == 400
    allowed = api.put("/contracts/105", json={"RemoteMonitoringContract": {"CountBy": "All"}})
    assert allowed.status_code == 204
    assert api.get("/contracts/105").json()["RemoteMonitoringContract"]["CountBy"] == "All"


def test_unknown_custom_fields_and_contracts_are_refused(api: httpx.Client) -> None:
    assert api.get("/customvalues/contractfield/101/Nope").status_code == 400
    assert api.put("/customvalues/contractfield/9999/Billing%20connector", json={"Value": "x"}).status_code == 400
    assert api.get("/customvalues/contractfield/101/Billing%20connector").json() == []


def test_contacts_need_an_email_and_a_customer(api: httpx.Client) -> None:
    assert api.post("/contacts", json={"CustomerID": 1}).status_code == 400
    assert api.post("/contacts", json={"Email": "x@example.com"}).status_code == 400
    assert api.get("/contacts", params={"Email": "fabrikam"}).json()["totalItemCount"] == 1


def test_invoice_dates_must_be_days_in_order(api: httpx.Client) -> None:
    january = api.get("/billing/invoices", params={"invoiceDateFrom": "2026-01-01", "invoiceDateTo": "2026-01-31"})
    assert [i["InvoiceNumber"] for i in january.json()["items"]] == [5001]
    assert api.get("/billing/invoices", params={"invoiceDateFrom": "01/01/2026"}).status_code == 400
    reversed_range = {"invoiceDateFrom": "2026-02-01", "invoiceDateTo": "2026-01-01"}
    assert api.get("/billing/invoices", params=reversed_range).status_code == 400


def test_the_request_rate_limit_answers_429_with_retry_after() -> None:
    now = [0.0]
    with AteraSandbox(rate_limit=(3, 60), clock=lambda: now[0]) as server:
        get = lambda: httpx.get(server.api_url + "/customers/1", headers={"X-API-KEY": DEFAULT_API_KEY})  # noqa: E731
        assert [get().status_code for _ in range(3)] == [200, 200, 200]
        now[0] = 20.0
        limited = get()
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "40")
        now[0] = 60.0
        assert get().status_code == 200


def test_injected_faults_and_the_request_log(api: httpx.Client, sandbox: AteraSandbox) -> None:
    sandbox.inject(Fault(status=503, path_prefix="/api/v3/contracts"))
    assert api.get("/contracts").status_code == 503
    assert api.get("/contracts").status_code == 200
    sandbox.inject(Fault(drop=True))
    with pytest.raises(httpx.TransportError):
        api.get("/customers")
    assert [r.path for r in sandbox.requests] == ["/api/v3/contracts"] * 2 + ["/api/v3/customers"]
    assert sandbox.writes() == []


def test_a_data_file_seeds_the_account(tmp_path: Path) -> None:
    data = {
        "customers": [{"CustomerID": 7, "CustomerName": "Only One"}],
        "rates": {"products": [{"RateID": 70, "Amount": 1.5, "SKU": "ONE"}]},
    }
    path = tmp_path / "atera.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with AteraSandbox.from_file(path, api_key="k" * 20) as server:
        listed = httpx.get(server.api_url + "/customers", headers={"X-API-KEY": "k" * 20}).json()
        assert [c["CustomerName"] for c in listed["items"]] == ["Only One"]
        created = httpx.post(
            server.api_url + "/customers", headers={"X-API-KEY": "k" * 20}, json={"CustomerName": "Second"}
        )
        assert int(created.json()["ActionID"]) > 70
