"""Sandbox ConnectWise: it answers the OpenAPI subset's operations and no others, in their documented shapes, and
keeps ConnectWise's rules: credentials and clientId, pages and the Link header, conditions, what a write must hold,
fields the server derives, and the invoicing run.

Every exchange goes through a client that checks the request and the answer against the description
(`conftest.checked_client`); `cw_loose_api` skips the request check for tests that send what it does not allow.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.connectwise.sandbox import API_PREFIX, MEDIA_TYPE, ROUTES, ConnectWiseSandbox, demo_data
from providers.connectwise.sandbox_account import RECORD_FIELD
from providers.sandbox import Fault, SandboxRequest, SandboxResponse
from tests.clock import FROZEN_AT

from .conftest import checked_client
from .openapi_check import SHARED_PATH, SUBSET_PATH, ContractViolation, OpenApiContract

REPO = Path(__file__).resolve().parents[2]
LINE = "/finance/agreements/501/additions/601"  # Contoso's Microsoft 365 line: 10 users at 3.50


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def fields_named(response: httpx.Response) -> list[str]:
    """The fields a 400's `errors` name."""
    assert response.status_code == 400, response.text
    return [problem["field"] for problem in response.json()["errors"]]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- the description, and the operations served -------------------------------------------------------------------


def test_the_kept_subset_is_the_shared_one() -> None:
    if not SHARED_PATH.is_file():
        pytest.skip(f"the shared subset is not at {SHARED_PATH}: nothing to compare")
    assert SUBSET_PATH.read_bytes() == SHARED_PATH.read_bytes()


def test_the_sandbox_routes_exactly_the_described_operations(cw_contract: OpenApiContract) -> None:
    described = cw_contract.operations()
    assert len(described) == len(ROUTES) == 25
    for method, template in described:
        path = template.replace("{parentId}", "1").replace("{id}", "2")
        assert [m for m, pattern, _ in ROUTES if m == method and pattern.match(path)] == [method], template


READS = [
    "/company/companies",
    "/company/companies/count",
    "/company/companies/251",
    "/company/contacts",
    "/company/contacts/302",
    "/finance/agreements",
    "/finance/agreements/count",
    "/finance/agreements/types",
    "/finance/agreements/501",
    "/finance/agreements/501/additions",
    "/finance/agreements/501/additions/count",
    LINE,
    "/procurement/catalog",
    "/procurement/catalog/401",
    "/finance/invoices",
    "/system/info",
]


@pytest.mark.parametrize("path", READS)
def test_every_read_answers_in_the_documented_shape(cw_api: httpx.Client, path: str) -> None:
    response = cw_api.get(path)  # the client checks request and answer against the description
    assert (response.status_code, response.headers["content-type"]) == (200, MEDIA_TYPE)


def test_an_addition_carries_its_derived_fields_and_custom_fields(cw_api: httpx.Client) -> None:
    line = cw_api.get("/finance/agreements/503/additions/606").json()  # 1200 GB, 100 included, at 0.10
    assert (line["billedQuantity"], line["extPrice"], line["agreementStatus"]) == (1100.0, 110.0, "Active")
    assert line["customFields"] == [{**RECORD_FIELD, "value": None}]


# -- the front door: credentials, clientId, version --------------------------------------------------------------


def test_credentials_and_a_client_id_are_required(cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract) -> None:
    good = cw_sandbox.auth_headers()
    public, private = cw_sandbox.public_key, cw_sandbox.private_key
    refused = [
        {k: v for k, v in good.items() if k != "Authorization"},
        {**good, "Authorization": basic(cw_sandbox.username, "wrong-private-key")},
        {**good, "Authorization": basic(f"othermsp+{public}", private)},
        {**good, "Authorization": basic(public, private)},
        {**good, "Authorization": f"Bearer {private}"},
        {k: v for k, v in good.items() if k != "clientId"},
        {**good, "clientId": "00000000-0000-0000-0000-000000000000"},
    ]
    for headers in [good, *refused]:
        with checked_client(cw_sandbox, cw_contract, headers=headers) as client:
            response = client.get("/company/companies/count")
        expected = (200, None) if headers is good else (401, "Unauthorized")
        assert (response.status_code, response.json().get("code")) == expected, headers


def test_a_request_that_does_not_pin_the_version_is_answered_and_noted(
    cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract
) -> None:
    accepts = ["application/json", "application/vnd.connectwise.com+json; version=2019.5", MEDIA_TYPE]
    for accept in accepts:
        with checked_client(cw_sandbox, cw_contract, headers={**cw_sandbox.auth_headers(), "Accept": accept}) as api:
            assert api.get("/system/info").status_code == 200
    assert [request.header("accept") for request in cw_sandbox.unpinned] == accepts[:2]


# -- paging and order -----------------------------------------------------------------------------------------------


def test_pages_follow_the_link_header_to_the_last(cw_api: httpx.Client, cw_sandbox: ConnectWiseSandbox) -> None:
    for n in range(60):
        cw_sandbox.add_company(f"Bulk {n:02}")
    pages = [cw_api.get("/company/companies")]
    assert len(pages[0].json()) == 25 and set(pages[0].links) == {"next", "last"}
    assert pages[0].links["last"]["url"].endswith("pageSize=25&page=3")
    while "next" in pages[-1].links:
        pages.append(cw_api.get(pages[-1].links["next"]["url"]))
    read = [number for response in pages for number in ids(response)]
    assert (len(pages), len(read), len(set(read)), read == sorted(read)) == (3, 64, 64, True)
    assert set(pages[-1].links) == {"first", "prev"}

    bulk = cw_api.get("/company/companies", params={"conditions": 'name like "Bulk*"', "pageSize": 50})
    following = bulk.links["next"]["url"]
    assert "conditions=name%20like%20%22Bulk%2A%22" in following
    assert len(cw_api.get(following).json()) == 10


def test_page_size_is_at_most_1000_and_pages_start_at_1(cw_api: httpx.Client, cw_loose_api: httpx.Client) -> None:
    assert len(cw_api.get("/company/companies", params={"pageSize": 1000}).json()) == 4
    for params in ({"pageSize": 1001}, {"pageSize": 0}, {"page": 0}):
        refused = cw_api.get("/company/companies", params=params)
        assert refused.status_code == 400 and "page" in refused.json()["message"], params
    assert cw_loose_api.get("/company/companies", params={"pageSize": "many"}).status_code == 400
    assert ids(cw_api.get("/company/companies", params={"pageId": 251})) == [252, 253]


def test_lists_are_ordered_by_id_unless_told_otherwise(cw_api: httpx.Client) -> None:
    assert ids(cw_api.get("/company/companies")) == [250, 251, 252, 253]
    assert ids(cw_api.get("/company/companies", params={"orderBy": "id desc"})) == [253, 252, 251, 250]
    by_name = cw_api.get("/company/companies", params={"orderBy": "name desc"}).json()
    assert [c["name"] for c in by_name] == ["Northwind Traders", "Fabrikam Inc", "Example MSP", "Contoso Ltd"]
    assert cw_api.get("/company/companies", params={"orderBy": "name sideways"}).status_code == 400


def test_fields_keeps_only_the_fields_named(cw_api: httpx.Client) -> None:
    first = cw_api.get("/company/companies", params={"fields": "id,name"}).json()[0]
    assert first == {"id": 250, "name": "Example MSP"}
    assert set(cw_api.get("/finance/agreements/501", params={"fields": "id, company/name"}).json()) == {"id", "company"}


# -- conditions -----------------------------------------------------------------------------------------------------

COMPANY_CONDITIONS = [
    ("id=251", [251]),
    ("id != 250", [251, 252, 253]),
    ("id<252", [250, 251]),
    ("id<=252", [250, 251, 252]),
    ("id>252", [253]),
    ("id>=252", [252, 253]),
    ('name="contoso ltd"', [251]),
    ('name like "north*"', [253]),
    ('name like "*in*"', [252, 253]),
    ('name not like "*Ltd"', [250, 252, 253]),
    ('name contains "WIND"', [253]),
    ("id in (250, 253)", [250, 253]),
    ("id not in (250,253)", [251, 252]),
    ('identifier="ExampleMSP" or (name like "C*" and id>250)', [250, 251]),
    ('(id=250 OR id=251) AND status/name="Active"', [250, 251]),
    ("phoneNumber = null", [252, 253]),
    ("phoneNumber != null", [250, 251]),
    ("_info/lastUpdated >= [2024-03-01T00:00:00Z]", [252, 253]),
    ("_info/lastUpdated < [2024-02-01T09:00:01Z]", [250, 251]),
    ('country/name="United Kingdom" and website contains "example"', [250, 251, 252]),
]


@pytest.mark.parametrize(("condition", "expected"), COMPANY_CONDITIONS)
def test_conditions_select_companies(cw_api: httpx.Client, condition: str, expected: list[int]) -> None:
    assert ids(cw_api.get("/company/companies", params={"conditions": condition})) == expected


def test_conditions_read_numbers_booleans_nested_fields_and_escaped_quotes(
    cw_api: httpx.Client, cw_sandbox: ConnectWiseSandbox
) -> None:
    def listed(path: str, name: str, condition: str) -> list[int]:
        return ids(cw_api.get(path, params={name: condition}))

    assert listed("/finance/agreements", "conditions", "company/id=251 and cancelledFlag=false") == [501]
    managed = 'type/name="Managed Services" and agreementStatus="active"'
    assert listed("/finance/agreements", "conditions", managed) == [501, 502, 503]
    additions = "/finance/agreements/503/additions"
    assert listed(additions, "conditions", "quantity>=1000 and unitPrice<0.5 and lessIncluded=100") == [606]
    assert listed("/finance/agreements/501/additions", "conditions", "unitPrice=0.12") == [602]
    assert listed("/finance/agreements/501/additions", "conditions", 'product/identifier="bkp-m365-user"') == [601]
    assert listed("/company/contacts", "childConditions", 'communicationItems/value like "*@fabrikam.example"') == [303]
    best = cw_sandbox.add_company('The "Best" Co', "BestCo")
    assert listed("/company/companies", "conditions", r'name="The \"Best\" Co"') == [best["id"]]


def test_custom_field_conditions_find_an_addition_by_its_record(cw_api: httpx.Client) -> None:
    record = [{"op": "replace", "path": "customFields", "value": [{"id": 7, "value": "cw:601"}]}]
    assert cw_api.patch(LINE, json=record).status_code == 200
    found = 'caption="Billing connector record" and value="CW:601"'
    assert ids(cw_api.get("/finance/agreements/501/additions", params={"customFieldConditions": found})) == [601]


MALFORMED = [
    "id=",
    'name="open',
    "(id=1",
    "id in 1",
    "id in (1,",
    "name like 5",
    "id=1 id=2",
    "_info/lastUpdated>[yesterday]",
    "id ~ 1",
    "and id=1",
    "id",
]


@pytest.mark.parametrize("condition", MALFORMED)
def test_a_malformed_condition_is_a_400_that_says_where(cw_api: httpx.Client, condition: str) -> None:
    refused = cw_api.get("/company/companies", params={"conditions": condition})
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("conditions: ")


def test_counts_follow_the_conditions(cw_api: httpx.Client) -> None:
    assert cw_api.get("/company/companies/count").json() == {"count": 4}
    assert cw_api.get("/company/companies/count", params={"conditions": "id>251"}).json() == {"count": 2}
    assert cw_api.get("/finance/agreements/501/additions/count").json() == {"count": 2}
    assert cw_api.get("/finance/agreements/count", params={"conditions": "id=("}).status_code == 400


# -- writes ---------------------------------------------------------------------------------------------------------


def test_a_post_missing_what_the_description_requires_names_each_field(
    cw_loose_api: httpx.Client, cw_sandbox: ConnectWiseSandbox
) -> None:
    post = cw_loose_api.post
    assert fields_named(post("/company/companies", json={"name": "No Identifier"})) == ["identifier"]
    assert fields_named(post("/finance/agreements", json={"name": "x", "company": {"id": 251}})) == ["contact", "type"]
    product = {"identifier": "BKP-M365-USER"}
    assert fields_named(post("/finance/agreements/501/additions", json={"product": product})) == ["billCustomer"]
    unknown_choice = {"product": product, "billCustomer": "Sometimes"}
    assert fields_named(post("/finance/agreements/501/additions", json=unknown_choice)) == ["billCustomer"]
    item = {"identifier": "BKP-PC", "description": "PC backup", "customerDescription": "PC", "type": {"id": 1}}
    assert fields_named(post("/procurement/catalog", json=item)) == ["subcategory"]
    assert cw_sandbox.writes() == []


def test_lengths_duplicates_and_references_are_checked(cw_api: httpx.Client, cw_sandbox: ConnectWiseSandbox) -> None:
    too_long = cw_api.post("/company/companies", json={"identifier": "X" * 31, "name": "Fine"})
    assert fields_named(too_long) == ["identifier"] and "maximum length of 30" in too_long.text
    assert fields_named(cw_api.post("/company/companies", json={"identifier": "Fine", "name": "N" * 51})) == ["name"]
    taken = cw_api.post("/company/companies", json={"identifier": "contosoltd", "name": "Another Contoso"})
    assert fields_named(taken) == ["identifier"]
    agreement = {"name": "Backup", "company": {"id": 9999}, "contact": {"id": 302}, "type": {"name": "Nope"}}
    assert fields_named(cw_api.post("/finance/agreements", json=agreement)) == ["company", "type"]
    unknown = {"product": {"identifier": "NOPE"}, "billCustomer": "Billable"}
    assert fields_named(cw_api.post("/finance/agreements/501/additions", json=unknown)) == ["product"]
    assert cw_sandbox.writes() == []


def test_posts_answer_201_with_what_the_server_made(cw_api: httpx.Client, cw_sandbox: ConnectWiseSandbox) -> None:
    company = cw_api.post("/company/companies", json={"identifier": "TailspinToys", "name": "Tailspin Toys"})
    assert company.status_code == 201 and company.json()["id"] > 1000
    contact = {"firstName": "Kim", "lastName": "Ito", "company": {"id": company.json()["id"]}}
    kim = cw_api.post("/company/contacts", json=contact).json()
    assert kim["company"] == {"id": company.json()["id"], "identifier": "TailspinToys", "name": "Tailspin Toys"}
    agreement = {
        "name": "Managed Backup",
        "company": {"identifier": "tailspintoys"},
        "contact": {"id": kim["id"]},
        "type": {"name": "managed services"},
        "startDate": "2026-11-01T00:00:00Z",
    }
    made = cw_api.post("/finance/agreements", json=agreement).json()
    assert made["type"] == {"id": 5, "name": "Managed Services"}
    assert (made["contact"]["name"], made["agreementStatus"]) == ("Kim Ito", "Active")
    item = {
        "identifier": "BKP-PC",
        "description": "Workstation backup, per PC",
        "customerDescription": "Workstation backup",
        "subcategory": {"id": 1, "name": "Backup"},
        "type": {"id": 1, "name": "Service"},
        "price": 4.0,
        "cost": 1.5,
    }
    assert cw_api.post("/procurement/catalog", json=item).status_code == 201
    line = {"product": {"identifier": "BKP-PC"}, "billCustomer": "Billable", "quantity": 7}
    line["customFields"] = [{"id": 7, "value": "line-1"}]
    added = cw_api.post(f"/finance/agreements/{made['id']}/additions", json=line).json()
    assert (added["description"], added["unitPrice"], added["extPrice"]) == ("Workstation backup, per PC", 4.0, 28.0)
    assert (added["agreementId"], added["customFields"][0]["value"]) == (made["id"], "line-1")
    assert added["_info"]["updatedBy"] == "BackupBillingAPI"
    assert [request.method for request in cw_sandbox.writes()] == ["POST"] * 5


def test_one_patch_sets_the_quantity_and_the_record_field(cw_api: httpx.Client, cw_sandbox: ConnectWiseSandbox) -> None:
    body = [
        {"op": "replace", "path": "quantity", "value": 42},
        {"op": "replace", "path": "/customFields", "value": [{"id": 7, "value": "bbc:601:2026-11"}]},
    ]
    patched = cw_api.patch(LINE, json=body).json()
    assert (patched["quantity"], patched["billedQuantity"], patched["extPrice"]) == (42, 42.0, 147.0)
    assert patched["customFields"][0]["value"] == "bbc:601:2026-11"
    assert patched["_info"]["updatedBy"] == "BackupBillingAPI"
    assert datetime.fromisoformat(patched["_info"]["lastUpdated"]) >= FROZEN_AT.replace(microsecond=0)
    assert cw_api.get(LINE).json() == patched
    assert (cw_sandbox.custom_value(601), cw_sandbox.custom_value(602)) == ("bbc:601:2026-11", None)
    added = cw_api.patch(LINE, json=[{"op": "add", "path": "lessIncluded", "value": 2}]).json()
    assert added["extPrice"] == 140.0
    assert len(cw_sandbox.writes()) == 2


def test_fields_the_server_derives_are_not_the_clients(cw_api: httpx.Client) -> None:
    for path in ("extPrice", "/billedQuantity", "agreementStatus", "agreementId", "_info", "id"):
        refused = cw_api.patch(LINE, json=[{"op": "replace", "path": path, "value": 1}])
        assert fields_named(refused) == [path.lstrip("/")]
    status = [{"op": "replace", "path": "agreementStatus", "value": "Active"}]
    assert fields_named(cw_api.patch("/finance/agreements/501", json=status)) == ["agreementStatus"]
    # A PUT or POST may carry them (a record read and sent back); the server's values are what it keeps.
    read_back = {**cw_api.get(LINE).json(), "quantity": 2, "extPrice": 9999.0, "agreementStatus": "Cancelled"}
    put = cw_api.put(LINE, json=read_back).json()
    assert (put["extPrice"], put["agreementStatus"], put["billedQuantity"]) == (7.0, "Active", 2.0)
    posted = {"product": {"id": 402}, "billCustomer": "Billable", "quantity": 10, "extPrice": 1.0, "margin": 5.0}
    made = cw_api.post("/finance/agreements/501/additions", json=posted).json()
    assert (made["extPrice"], made["margin"]) == (1.2, 0.8)


def test_a_patch_the_sandbox_cannot_apply_is_refused_naming_the_field(
    cw_api: httpx.Client, cw_loose_api: httpx.Client, cw_sandbox: ConnectWiseSandbox
) -> None:
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([{"op": "move", "path": "quantity", "value": 1}], "quantity"),
        ([{"op": "replace", "path": "quantityy", "value": 1}], "quantityy"),
        ([{"op": "replace", "path": "quantity", "value": "ten"}], "quantity"),
        ([{"op": "replace", "path": "billCustomer", "value": "Sometimes"}], "billCustomer"),
        ([{"op": "replace", "path": "customFields", "value": [{"id": 99, "value": "x"}]}], "customFields"),
        ([{"op": "replace", "path": "customFields", "value": [{"id": 7, "value": 12}]}], "customFields"),
        ([{"op": "remove", "path": "product"}], "product"),
        ([{"op": "replace", "path": "product", "value": {"identifier": "NOPE"}}], "product"),
    ]
    for body, field in cases:
        assert fields_named(cw_api.patch(LINE, json=body)) == [field], body
    assert cw_loose_api.patch(LINE, json={"op": "replace", "path": "quantity", "value": 1}).status_code == 400
    assert (cw_sandbox.additions[501][601]["quantity"], cw_sandbox.writes()) == (10, [])


def test_an_agreements_status_follows_its_flag_and_end_date(cw_api: httpx.Client) -> None:
    cancel = [{"op": "replace", "path": "cancelledFlag", "value": True}]
    assert cw_api.patch("/finance/agreements/501", json=cancel).json()["agreementStatus"] == "Cancelled"
    lines = cw_api.get("/finance/agreements/501/additions").json()
    assert {line["agreementStatus"] for line in lines} == {"Cancelled"}
    ended = [
        {"op": "replace", "path": "noEndingDateFlag", "value": False},
        {"op": "replace", "path": "endDate", "value": "2023-12-31T00:00:00Z"},
    ]
    assert cw_api.patch("/finance/agreements/502", json=ended).json()["agreementStatus"] == "Expired"


def test_a_put_replaces_the_addition(cw_api: httpx.Client, cw_loose_api: httpx.Client) -> None:
    line = "/finance/agreements/503/additions/606"
    put = cw_api.put(line, json={"product": {"id": 402}, "billCustomer": "DoNotBill", "quantity": 3}).json()
    # What the PUT left out is back to what a new addition gets (the catalog's price, nothing included).
    assert (put["id"], put["lessIncluded"], put["unitPrice"], put["sequenceNumber"]) == (606, 0, 0.12, 2)
    assert (put["billCustomer"], put["extPrice"]) == ("DoNotBill", 0.36)
    assert fields_named(cw_loose_api.put(line, json={"quantity": 3})) == ["billCustomer", "product"]


def test_what_the_description_lacks_is_a_404(cw_loose_api: httpx.Client, cw_sandbox: ConnectWiseSandbox) -> None:
    absent = [
        ("GET", "/service/tickets"),
        ("DELETE", LINE),
        ("PUT", "/finance/agreements/501"),
        ("GET", "/finance/agreementTypes"),
        ("GET", "/company/companies/abc"),
        ("POST", "/finance/invoices"),
        ("GET", cw_sandbox.url + "/v4_6_release/apis/2.0/company/companies"),
    ]
    for method, path in absent:
        response = cw_loose_api.request(method, path)
        assert (response.status_code, response.json()["code"]) == (404, "NotFound"), path
    assert cw_sandbox.writes() == []


def test_records_that_do_not_exist_are_a_404(cw_api: httpx.Client) -> None:
    missing = [
        "/company/companies/9999",
        "/company/contacts/9999",
        "/finance/agreements/9999",
        "/finance/agreements/9999/additions",
        "/finance/agreements/502/additions/601",  # 601 is on agreement 501
        "/procurement/catalog/9999",
        "/finance/invoices/1",
    ]
    for path in missing:
        assert cw_api.get(path).status_code == 404, path


# -- the invoicing run ----------------------------------------------------------------------------------------------


def test_the_invoicing_run_bills_each_agreement_in_force_from_its_billable_additions(
    cw_api: httpx.Client, cw_sandbox: ConnectWiseSandbox
) -> None:
    sandbox = cw_sandbox
    # Contoso (501): 10 x 3.50 + 560 x 0.12 = 35.00 + 67.20, and 3 x 0.333 = 0.999, a line of 1.00: 103.20.
    sandbox.add_addition(501, "BKP-SERVER-GB", 100, billCustomer="DoNotBill")
    sandbox.add_addition(501, "BKP-SERVER-GB", 100, cancelledDate="2026-10-31T00:00:00Z")
    sandbox.add_addition(501, "BKP-SERVER-GB", 100, effectiveDate="2026-12-01T00:00:00Z")
    sandbox.add_addition(501, "BKP-M365-USER", 3, unit_price=0.333)
    # Northwind (503): 5 x 3.50 + (1200 - 100) x 0.10 = 17.50 + 110.00 = 127.50. Fabrikam's (502) is cancelled,
    # one agreement ended before the date and another starts after it.
    sandbox.agreements[502]["cancelledFlag"] = True
    sandbox.add_agreement(251, "Old backup", endDate="2026-06-30T00:00:00Z", noEndingDateFlag=False)
    sandbox.add_agreement(252, "Next year", startDate="2027-01-01T00:00:00Z")

    added = sandbox.invoice_agreements(date(2026, 11, 30))

    amounts = [(invoice["applyToId"], Decimal(str(invoice["agreementAmount"]))) for invoice in added]
    assert amounts == [(501, Decimal("103.20")), (503, Decimal("127.50"))]
    for invoice in added:
        assert (invoice["type"], invoice["applyToType"]) == ("Agreement", "Agreement")
        assert invoice["date"] == "2026-11-30T00:00:00Z"
        assert invoice["total"] == invoice["subtotal"] == invoice["balance"] == invoice["agreementAmount"]
        assert invoice["company"]["id"] == sandbox.agreements[invoice["applyToId"]]["company"]["id"]
        assert invoice["agreement"]["id"] == invoice["applyToId"]
        assert cw_api.get(f"/finance/invoices/{invoice['id']}").json() == invoice
    listed = cw_api.get("/finance/invoices", params={"conditions": 'type="Agreement" and applyToId=503'})
    assert ids(listed) == [added[1]["id"]]
    # The amount is what the billable lines the API shows come to.
    shown = cw_api.get("/finance/agreements/503/additions", params={"conditions": 'billCustomer="Billable"'}).json()
    assert sum(Decimal(str(line["extPrice"])) for line in shown) == Decimal("127.50")


# -- faults and kill points -----------------------------------------------------------------------------------------

FAILED = b'{"code": "ServerError", "message": "injected"}'
JSON = {"Content-Type": "application/json"}


def test_injected_faults_answer_instead_and_change_nothing(
    cw_api: httpx.Client, cw_sandbox: ConnectWiseSandbox
) -> None:
    body = [{"op": "replace", "path": "quantity", "value": 30}]
    cw_sandbox.inject(Fault(status=500, body=FAILED, headers=JSON, method="PATCH", path_prefix=API_PREFIX + "/finance"))
    assert cw_api.patch(LINE, json=body).status_code == 500
    cw_sandbox.inject(Fault(status=429, body=FAILED, headers={**JSON, "Retry-After": "7"}))
    limited = cw_api.get(LINE)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    cw_sandbox.inject(Fault(drop=True, method="PATCH"))
    with pytest.raises(httpx.TransportError):
        cw_api.patch(LINE, json=body)
    assert (cw_sandbox.additions[501][601]["quantity"], cw_sandbox.writes()) == (10, [])
    assert cw_api.patch(LINE, json=body).json()["quantity"] == 30
    assert [request.method for request in cw_sandbox.writes()] == ["PATCH"]


def test_write_hooks_stop_a_client_before_or_after_its_write_lands(
    cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract
) -> None:
    body = [{"op": "replace", "path": "quantity", "value": 30}]
    cw_sandbox.before_write = lambda request: SandboxResponse(503, FAILED, JSON)
    with checked_client(cw_sandbox, cw_contract) as api:
        assert api.patch(LINE, json=body).status_code == 503
    assert cw_sandbox.additions[501][601]["quantity"] == 10
    cw_sandbox.before_write = None

    # After a write lands, its answer can be held: a kill point there leaves a change the client never heard of.
    landed, release = threading.Event(), threading.Event()

    def hold(request: SandboxRequest, response: SandboxResponse) -> None:
        landed.set()
        release.wait(5)

    cw_sandbox.after_write = hold
    answers: list[httpx.Response] = []
    with checked_client(cw_sandbox, cw_contract) as api:
        client = threading.Thread(target=lambda: answers.append(api.patch(LINE, json=body)))
        client.start()
        assert landed.wait(5)
        assert (cw_sandbox.additions[501][601]["quantity"], answers) == (30, [])
        release.set()
        client.join(5)
    assert [answer.status_code for answer in answers] == [200]
    assert len(cw_sandbox.writes()) == 1


# -- the checker itself -----------------------------------------------------------------------------------------------


def described_request(method: str, path: str, **options: Any) -> httpx.Request:
    return httpx.Request(method, "https://na.myconnectwise.net" + API_PREFIX + path, **options)


NOT_ALLOWED: list[tuple[str, str, dict[str, Any], str]] = [
    ("DELETE", LINE, {}, "not an operation"),
    ("PUT", "/finance/agreements/501", {"json": {"name": "x"}}, "not an operation"),
    ("GET", "/finance/agreementTypes", {}, "matches no path"),
    ("GET", "/company/companies/abc", {}, "not an integer"),
    ("GET", "/company/companies", {"params": {"limit": 5}}, "'limit' is not declared"),
    ("GET", "/company/companies", {"params": {"page": "two"}}, "not an integer"),
    ("PATCH", LINE, {"json": {"op": "replace", "path": "quantity", "value": 1}}, "is not of type 'array'"),
    ("PATCH", LINE, {}, "the request body is required"),
    ("POST", "/company/companies", {"json": {"identifier": "X", "name": "Y", "nmae": "Y"}}, "'nmae' was unexpected"),
    ("POST", "/company/companies", {"json": {"name": "Y"}}, "'identifier' is a required property"),
    ("POST", "/finance/agreements/501/additions", {"json": {"product": {"id": "401"}}}, "is not of type 'integer'"),
    ("POST", "/finance/agreements/501/additions", {"json": {"effectiveDate": "2026-11-01"}}, "is not a 'date-time'"),
    ("GET", "/system/info", {"json": {"verbose": True}}, "takes no request body"),
    ("POST", "/company/companies", {"data": {"identifier": "X"}}, "a body of type"),
]


@pytest.mark.parametrize(("method", "path", "options", "why"), NOT_ALLOWED)
def test_the_checker_refuses_a_request_the_description_does_not_allow(
    cw_contract: OpenApiContract, method: str, path: str, options: dict[str, Any], why: str
) -> None:
    with pytest.raises(ContractViolation, match=re.escape(why)):
        cw_contract.check_request(described_request(method, path, **options))


def test_the_checker_accepts_what_the_description_allows(cw_contract: OpenApiContract) -> None:
    patch = [{"op": "replace", "path": "quantity", "value": 3}]
    cw_contract.check_request(described_request("PATCH", LINE, json=patch))
    query = {"conditions": "id=1", "orderBy": "id desc", "fields": "id", "page": 2, "pageSize": 1000, "pageId": 9}
    cw_contract.check_request(described_request("GET", "/company/companies", params=query))


def answer(method: str, path: str, status: int, body: Any, media: str = MEDIA_TYPE) -> httpx.Response:
    request = described_request(method, path)
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"Content-Type": media}, request=request)


WRONG_ANSWERS = [
    (
        answer("GET", "/company/companies/251", 200, {"identifier": "X", "name": "X", "colour": "red"}),
        "'colour' was unexpected",
    ),
    (answer("GET", "/company/companies/251", 200, {"id": 251}, "application/json"), "media type"),
    (answer("GET", LINE, 200, {"id": 601, "quantity": "25"}), "is not of type 'number', 'null'"),
    (answer("GET", "/company/companies/251", 201, {"id": 251}), "not documented"),
    (answer("DELETE", LINE, 204, None), "not documented"),
    (answer("GET", "/company/companies", 400, {"error": "x"}, "application/json"), "'error' was unexpected"),
    (answer("GET", "/finance/invoices/1", 200, {"id": 1, "date": "2026-11-30"}), "is not a 'date-time'"),
]


@pytest.mark.parametrize(("response", "why"), WRONG_ANSWERS)
def test_the_checker_refuses_an_answer_the_description_does_not_allow(
    cw_contract: OpenApiContract, response: httpx.Response, why: str
) -> None:
    with pytest.raises(ContractViolation, match=re.escape(why)):
        cw_contract.check_response(response)


# -- data, seeds and custom field definitions ------------------------------------------------------------------------


def test_the_demo_data_bills_the_atera_demo_customers(cw_sandbox: ConnectWiseSandbox) -> None:
    atera = json.loads((REPO / "providers" / "atera" / "sandbox_data.json").read_text(encoding="utf-8"))
    agreements = cw_sandbox.agreements.values()
    backup = [a for a in agreements if (a["name"], a["type"]["name"]) == ("Managed Backup", "Managed Services")]
    assert {a["company"]["name"] for a in backup} == {c["CustomerName"] for c in atera["customers"]}
    for agreement in backup:
        products = {line["product"]["identifier"] for line in cw_sandbox.additions[agreement["id"]].values()}
        assert products == {"BKP-M365-USER", "BKP-SERVER-GB"}
    assert {t["name"] for t in cw_sandbox.agreement_types.values()} == {"Managed Services", "Block Time"}
    assert "Example MSP" in {c["name"] for c in cw_sandbox.companies.values()}


def test_an_empty_sandbox_is_seeded_by_its_helpers(cw_contract: OpenApiContract) -> None:
    with ConnectWiseSandbox({}) as sandbox, checked_client(sandbox, cw_contract) as api:
        assert api.get("/company/companies").json() == []
        company = sandbox.add_company("Tailspin Toys")
        sandbox.add_catalog_item("BKP-PC", "PC backup", 4.0, cost=1.5, uom="Device")
        agreement = sandbox.add_agreement(company["id"], "Managed Backup")
        line = sandbox.add_addition(agreement["id"], "BKP-PC", 12)
        shown = api.get(f"/finance/agreements/{agreement['id']}/additions/{line['id']}").json()
        assert (shown["uom"], shown["extPrice"], shown["extCost"], shown["margin"]) == ("Device", 48.0, 18.0, 30.0)
        assert [t["name"] for t in api.get("/finance/agreements/types").json()] == ["Managed Services"]
        assert api.get(f"/finance/agreements/{agreement['id']}").json()["contact"]["name"] == "Billing Contact"


def test_a_data_file_and_custom_field_definitions_configure_the_sandbox(
    tmp_path: Path, cw_contract: OpenApiContract
) -> None:
    path = tmp_path / "connectwise.json"
    path.write_text(json.dumps(demo_data()), encoding="utf-8")
    seats = {"id": 8, "caption": "Seats counted", "type": "Number", "entryMethod": "EntryField", "numberOfDecimals": 0}
    fields = [RECORD_FIELD, seats]
    configured = ConnectWiseSandbox.from_file(path, private_key="another-key", addition_custom_fields=fields)
    with configured as sandbox, checked_client(sandbox, cw_contract) as api:
        captions = [field["caption"] for field in api.get(LINE).json()["customFields"]]
        assert captions == ["Billing connector record", "Seats counted"]
        counted = [{"op": "replace", "path": "customFields", "value": [{"id": 8, "value": 25}]}]
        assert api.patch(LINE, json=counted).status_code == 200 and sandbox.custom_value(601, 8) == 25
        wrong = [{"op": "replace", "path": "customFields", "value": [{"id": 8, "value": "many"}]}]
        assert fields_named(api.patch(LINE, json=wrong)) == ["customFields"]
