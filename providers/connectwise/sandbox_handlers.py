"""The sandbox ConnectWise's request handlers: list, count and get for every collection, and the writes.

A handler takes the account, the request and the path's named groups and returns a response, or a list of
records that the front door (`providers.connectwise.sandbox`) filters, orders and serves one page at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from providers.connectwise import sandbox_query as query
from providers.connectwise.sandbox_account import ConnectWiseAccount
from providers.connectwise.sandbox_records import (
    ADDITION,
    AGREEMENT,
    CATALOG_ITEM,
    COMPANY,
    CONTACT,
    Shape,
    apply_patch,
    body_object,
    check,
    custom_values,
    invalid,
    problem,
    writable,
)
from providers.sandbox import SandboxRequest, SandboxResponse

Reply = SandboxResponse | list[dict[str, Any]]  # a list is served as pages
Handler = Callable[[ConnectWiseAccount, SandboxRequest, dict[str, str]], Reply]
Collect = Callable[[ConnectWiseAccount, dict[str, str]], Reply]

SYSTEM_INFO = {
    "version": "v2025.8.104318",
    "isCloud": True,
    "serverTimeZone": "Eastern Standard Time",
    "licenseBits": [{"name": "Agreements", "activeFlag": True}, {"name": "Procurement", "activeFlag": True}],
    "cloudRegion": "NA",
    "maxWorkFlowRecordsAllowed": 10000,
}


# -- the collections, as the API shows their records ---------------------------------------------------------------


def companies(account: ConnectWiseAccount, _: dict[str, str]) -> Reply:
    return list(account.companies.values())


def contacts(account: ConnectWiseAccount, _: dict[str, str]) -> Reply:
    return list(account.contacts.values())


def agreements(account: ConnectWiseAccount, _: dict[str, str]) -> Reply:
    return [account.agreement_view(a) for a in account.agreements.values()]


def agreement_types(account: ConnectWiseAccount, _: dict[str, str]) -> Reply:
    return list(account.agreement_types.values())


def additions(account: ConnectWiseAccount, groups: dict[str, str]) -> Reply:
    parent = int(groups["parentId"])
    if parent not in account.agreements:
        return query.not_found(f"Agreement {parent} not found")
    return [account.addition_view(a) for a in account.additions.get(parent, {}).values()]


def catalog(account: ConnectWiseAccount, _: dict[str, str]) -> Reply:
    return list(account.catalog.values())


def invoices(account: ConnectWiseAccount, _: dict[str, str]) -> Reply:
    return list(account.invoices.values())


def listing(collect: Collect) -> Handler:
    """GET of a collection: its records, which the front door selects and pages."""
    return lambda account, _, groups: collect(account, groups)


def counting(collect: Collect) -> Handler:
    """GET …/count: how many records the request's conditions keep, as `Count`."""

    def handle(account: ConnectWiseAccount, request: SandboxRequest, groups: dict[str, str]) -> Reply:
        items = collect(account, groups)
        if isinstance(items, SandboxResponse):
            return items
        selected = query.select(items, request)
        return selected if isinstance(selected, SandboxResponse) else query.ok({"count": len(selected)})

    return handle


def one(collect: Collect, noun: str) -> Handler:
    """GET …/{id}: one record of a collection, or 404."""

    def handle(account: ConnectWiseAccount, request: SandboxRequest, groups: dict[str, str]) -> Reply:
        items = collect(account, groups)
        if isinstance(items, SandboxResponse):
            return items
        found = next((item for item in items if item["id"] == int(groups["id"])), None)
        if found is None:
            return query.not_found(f"{noun} {groups['id']} not found")
        return query.ok(query.pick(found, request))

    return handle


def system_info(_: ConnectWiseAccount, __: SandboxRequest, ___: dict[str, str]) -> Reply:
    return query.ok(SYSTEM_INFO)


# -- writes -------------------------------------------------------------------------------------------------------


def _body(request: SandboxRequest) -> Any:
    try:
        return request.json()
    except ValueError:
        return query.error(400, "InvalidObject", "the body is not JSON")


def _references(account: ConnectWiseAccount, resource: str, record: dict[str, Any]) -> list[dict[str, str]]:
    """Resolve a record's company, contact and agreement type references in place; a problem for each that names
    nothing (ConnectWise fills in a reference's name and identifier from its id, so the sandbox does too)."""
    found: list[dict[str, str]] = []
    if isinstance(record.get("company"), dict):
        company = account.company(record["company"])
        if company is None:
            found.append(problem(resource, "company", f"company {record['company']} does not exist"))
        else:
            record["company"] = {"id": company["id"], "identifier": company["identifier"], "name": company["name"]}
    if isinstance(record.get("contact"), dict):
        contact = account.contacts.get(record["contact"].get("id"))
        if contact is None:
            found.append(problem(resource, "contact", f"contact {record['contact']} does not exist"))
        else:
            name = f"{contact.get('firstName', '')} {contact.get('lastName', '')}".strip()
            record["contact"] = {"id": contact["id"], "name": name}
    if isinstance(record.get("type"), dict) and resource == "agreement":
        kind = account.agreement_type(record["type"])
        if kind is None:
            found.append(problem(resource, "type", f"agreement type {record['type']} does not exist"))
        else:
            record["type"] = {"id": kind["id"], "name": kind["name"]}
    return found


def _new(
    account: ConnectWiseAccount,
    request: SandboxRequest,
    shape: Shape,
    into: dict[int, dict[str, Any]],
    more: Callable[[dict[str, Any]], list[dict[str, str]]],
    **defaults: Any,
) -> dict[str, Any] | SandboxResponse:
    """The record a POST body states, stored `into` its collection once `shape` and `more` find no problem."""
    body = body_object(_body(request), shape.resource)
    if isinstance(body, SandboxResponse):
        return body
    record = writable(shape, body)
    problems = check(shape, record) or more(record)
    if problems:
        return invalid(shape.resource, problems)
    number = account.new_id()
    into[number] = {"id": number, **defaults, **record, "_info": account.info()}
    return into[number]


def _created(made: dict[str, Any] | SandboxResponse) -> Reply:
    return made if isinstance(made, SandboxResponse) else query.ok(made, 201)


def _taken(resource: str, record: dict[str, Any], find: Callable[[dict[str, Any]], Any]) -> list[dict[str, str]]:
    """A problem when another record holds the identifier already."""
    if find({"identifier": record["identifier"]}) is None:
        return []
    return [problem(resource, "identifier", f"The identifier {record['identifier']} is already in use.", "Duplicate")]


def create_company(account: ConnectWiseAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    taken = partial(_taken, "company", find=account.company)
    return _created(_new(account, request, COMPANY, account.companies, taken, status={"id": 1, "name": "Active"}))


def create_contact(account: ConnectWiseAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    return _created(_new(account, request, CONTACT, account.contacts, partial(_references, account, "contact")))


def create_catalog_item(account: ConnectWiseAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    taken = partial(_taken, "catalogItem", find=account.catalog_item)
    return _created(_new(account, request, CATALOG_ITEM, account.catalog, taken))


def create_agreement(account: ConnectWiseAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    made = _new(account, request, AGREEMENT, account.agreements, partial(_references, account, "agreement"))
    if isinstance(made, SandboxResponse):
        return made
    account.additions[made["id"]] = {}
    return query.ok(account.agreement_view(made), 201)


def patch_agreement(account: ConnectWiseAccount, request: SandboxRequest, groups: dict[str, str]) -> Reply:
    agreement = account.agreements.get(int(groups["id"]))
    if agreement is None:
        return query.not_found(f"Agreement {groups['id']} not found")
    patched = apply_patch(AGREEMENT, agreement, _body(request))
    if isinstance(patched, SandboxResponse):
        return patched
    for given in patched.custom:  # the sandbox defines no agreement custom fields: only an empty list is accepted
        refused = custom_values([], given, "agreement")
        if isinstance(refused, SandboxResponse):
            return refused
    problems = check(AGREEMENT, patched.record) or _references(account, "agreement", patched.record)
    if problems:
        return invalid("agreement", problems)
    agreement.clear()
    agreement.update(patched.record, _info=account.info())
    return query.ok(account.agreement_view(agreement))


# -- additions ------------------------------------------------------------------------------------------------------


def _addition_from(
    account: ConnectWiseAccount, body: dict[str, Any], agreement_id: int
) -> tuple[dict[str, Any], dict[int, Any]] | SandboxResponse:
    """An addition as a POST or PUT body states it, its product resolved from the catalog and what it leaves out
    (description, unit of measure, prices) copied from the catalog item; and the custom field values it sets."""
    record = writable(ADDITION, body)
    item = _product(account, record)
    if isinstance(item, SandboxResponse):
        return item
    values = custom_values(account.custom_fields, body.get("customFields", []))
    if isinstance(values, SandboxResponse):
        return values
    record["product"] = {"id": item["id"], "identifier": item["identifier"]}
    defaults = {
        "description": item.get("description"),
        "uom": (item.get("unitOfMeasure") or {}).get("name"),
        "unitPrice": item.get("price", 0),
        "unitCost": item.get("cost", 0),
        "taxableFlag": item.get("taxableFlag", False),
        "quantity": 0,
        "lessIncluded": 0,
        "sequenceNumber": float(len(account.additions.get(agreement_id, {})) + 1),
    }
    return {**{k: v for k, v in defaults.items() if v is not None}, **record, "agreementId": agreement_id}, values


def _product(account: ConnectWiseAccount, record: dict[str, Any]) -> dict[str, Any] | SandboxResponse:
    """The catalog item an addition bills, once the addition is checked; or a 400 saying what is wrong."""
    problems = check(ADDITION, record)
    if problems:
        return invalid("addition", problems)
    item = account.catalog_item(record["product"])
    if item is None:
        message = f"product {record['product']} is not in the catalog"
        return invalid("addition", [problem("addition", "product", message)])
    return item


def _set_custom_values(account: ConnectWiseAccount, addition_id: int, values: dict[int, Any]) -> None:
    for field_id, value in values.items():
        if value is None:
            account.custom_values.pop((addition_id, field_id), None)
        else:
            account.custom_values[(addition_id, field_id)] = value


def create_addition(account: ConnectWiseAccount, request: SandboxRequest, groups: dict[str, str]) -> Reply:
    parent = int(groups["parentId"])
    if parent not in account.agreements:
        return query.not_found(f"Agreement {parent} not found")
    body = body_object(_body(request), "addition")
    if isinstance(body, SandboxResponse):
        return body
    made = _addition_from(account, body, parent)
    if isinstance(made, SandboxResponse):
        return made
    record, values = made
    number = account.new_id()
    account.additions.setdefault(parent, {})[number] = {"id": number, **record, "_info": account.info()}
    _set_custom_values(account, number, values)
    return query.ok(account.addition_view(account.additions[parent][number]), 201)


def _existing_addition(account: ConnectWiseAccount, groups: dict[str, str]) -> dict[str, Any] | SandboxResponse:
    parent, number = int(groups["parentId"]), int(groups["id"])
    if parent not in account.agreements:
        return query.not_found(f"Agreement {parent} not found")
    addition = account.additions.get(parent, {}).get(number)
    return addition if addition is not None else query.not_found(f"Addition {number} not found on agreement {parent}")


def put_addition(account: ConnectWiseAccount, request: SandboxRequest, groups: dict[str, str]) -> Reply:
    addition = _existing_addition(account, groups)
    if isinstance(addition, SandboxResponse):
        return addition
    body = body_object(_body(request), "addition")
    if isinstance(body, SandboxResponse):
        return body
    made = _addition_from(account, body, addition["agreementId"])
    if isinstance(made, SandboxResponse):
        return made
    record, values = made
    if "sequenceNumber" not in body and "sequenceNumber" in addition:
        record["sequenceNumber"] = addition["sequenceNumber"]  # a PUT that leaves it out keeps the line's place
    number = addition["id"]
    addition.clear()
    addition.update({"id": number, **record, "_info": account.info()})
    _set_custom_values(account, number, values)
    return query.ok(account.addition_view(addition))


def patch_addition(account: ConnectWiseAccount, request: SandboxRequest, groups: dict[str, str]) -> Reply:
    addition = _existing_addition(account, groups)
    if isinstance(addition, SandboxResponse):
        return addition
    patched = apply_patch(ADDITION, addition, _body(request))
    if isinstance(patched, SandboxResponse):
        return patched
    values: dict[int, Any] = {}
    for given in patched.custom:
        found = custom_values(account.custom_fields, given)
        if isinstance(found, SandboxResponse):
            return found
        values |= found
    item = _product(account, patched.record)
    if isinstance(item, SandboxResponse):
        return item
    addition.clear()
    addition.update(patched.record, product={"id": item["id"], "identifier": item["identifier"]}, _info=account.info())
    _set_custom_values(account, addition["id"], values)
    return query.ok(account.addition_view(addition))
