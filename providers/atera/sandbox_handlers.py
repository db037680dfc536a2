"""The sandbox Atera's request handlers for customers, contacts, agents, rates and custom values.

A handler takes the account, the request and the path's named groups, and returns a response, or a list of items
that the sandbox serves one page at a time (see `AteraSandbox._page`). Contracts and invoices have their own
modules (`sandbox_contracts`, `sandbox_invoices`); the route table is in `providers.atera.sandbox`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from providers.atera.sandbox_account import AteraAccount
from providers.sandbox import SandboxRequest, SandboxResponse

Reply = SandboxResponse | list[dict[str, Any]]  # a list is served as pages
Handler = Callable[[AteraAccount, SandboxRequest, dict[str, str]], Reply]

CUSTOMER_FIELDS = (
    *("CustomerName", "BusinessNumber", "Domain", "Address", "City", "State", "Country"),
    *("Phone", "Fax", "Notes", "Links", "ZipCodeStr"),
)
# What POST /contacts keeps (IsContactPerson marks the customer's main contact).
CONTACT_FIELDS = ("Firstname", "Lastname", "Email", "Phone", "MobilePhone", "JobTitle", "IsContactPerson")
RATE_FIELDS = ("Amount", "Description", "SKU", "Category")


def problem(status: int, title: str, detail: str = "") -> SandboxResponse:
    body = {"type": "https://tools.ietf.org/html/rfc9110", "title": title, "status": status, "detail": detail}
    return SandboxResponse.of_json(body, status)


# -- customers, contacts and agents ---------------------------------------------------------------------------


def list_customers(account: AteraAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    since = request.param("FromLastModifiedDate")
    customers = list(account.customers.values())
    if since:
        customers = [c for c in customers if (c.get("LastModified") or "") >= since]
    return customers


def get_customer(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    customer = account.customers.get(int(match["id"]))
    if customer is None:
        return problem(404, "Not Found", f"customer {match['id']} does not exist")
    return SandboxResponse.of_json(customer)


def create_customer(account: AteraAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    body = request.json() or {}
    if not body.get("CustomerName"):
        return problem(400, "Bad Request", "CustomerName is required")
    customer_id = account.new_id()
    account.customers[customer_id] = {
        "CustomerID": customer_id,
        **{k: body.get(k) for k in CUSTOMER_FIELDS},
        "CreatedOn": body.get("CreatedOn"),
        "LastModified": body.get("CreatedOn"),
    }
    return SandboxResponse.of_json({"ActionID": str(customer_id)}, 201)


def update_customer(account: AteraAccount, request: SandboxRequest, match: dict[str, str]) -> Reply:
    customer = account.customers.get(int(match["id"]))
    if customer is None:
        return problem(404, "Not Found", f"customer {match['id']} does not exist")
    customer.update({k: v for k, v in (request.json() or {}).items() if k in CUSTOMER_FIELDS and v is not None})
    return SandboxResponse.of_json({"ActionID": match["id"]})


def list_contacts(account: AteraAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    contacts = account.contacts
    for name in ("Email", "Phone"):
        wanted = (request.param(name) or "").lower()
        contacts = [c for c in contacts if wanted in (c.get(name) or "").lower()]
    return contacts


def create_contact(account: AteraAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    body = request.json() or {}
    customer = account.customers.get(body.get("CustomerID") or 0) or next(
        (c for c in account.customers.values() if c["CustomerName"] == body.get("CustomerName")), None
    )
    if not body.get("Email"):
        return problem(400, "Bad Request", "Email is required")
    if customer is None:
        return problem(400, "Bad Request", "CustomerID or CustomerName must name an existing customer")
    contact_id = account.new_id()
    account.contacts.append(
        {
            "EndUserID": contact_id,
            "CustomerID": customer["CustomerID"],
            "CustomerName": customer["CustomerName"],
            **{k: body.get(k) for k in CONTACT_FIELDS},
        }
    )
    return SandboxResponse.of_json({"ActionID": str(contact_id)}, 201)


def list_agents(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    agents = account.agents
    if match.get("customer"):
        agents = [a for a in agents if a.get("CustomerID") == int(match["customer"])]
    return agents


# -- rates ----------------------------------------------------------------------------------------------------


def list_rates(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    return list(account.rates[match["kind"]].values())


def get_rate(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    rate = account.rates[match["kind"]].get(int(match["id"]))
    if rate is None:
        return problem(404, "Not Found", f"rate {match['id']} does not exist")
    return SandboxResponse.of_json(rate)


def create_rate(account: AteraAccount, request: SandboxRequest, match: dict[str, str]) -> Reply:
    body = request.json() or {}
    if not body.get("Description"):
        return problem(400, "Bad Request", "Description is required")
    if not isinstance(body.get("Amount"), int | float):
        return problem(400, "Bad Request", "Amount must be a number")
    rate_id = account.new_id()
    account.rates[match["kind"]][rate_id] = {"RateID": rate_id, **{k: body.get(k) for k in RATE_FIELDS}}
    return SandboxResponse.of_json({"ActionID": str(rate_id)}, 201)


def update_rate(account: AteraAccount, request: SandboxRequest, match: dict[str, str]) -> Reply:
    rate = account.rates[match["kind"]].get(int(match["id"]))
    if rate is None:
        return problem(404, "Not Found", f"rate {match['id']} does not exist")
    body = request.json() or {}
    rate.update({k: v for k, v in body.items() if k in RATE_FIELDS and v is not None})
    return SandboxResponse.of_json({"ActionID": match["id"]})


def delete_rate(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    if account.rates[match["kind"]].pop(int(match["id"]), None) is None:
        return problem(404, "Not Found", f"rate {match['id']} does not exist")
    return SandboxResponse(204)


# -- custom values --------------------------------------------------------------------------------------------


def _custom_field(account: AteraAccount, match: dict[str, str]) -> tuple[str, int, str] | SandboxResponse:
    kind, item, field = match["kind"], int(match["id"]), unquote(match["field"])
    if field not in account.custom_fields.get(kind, []):
        return problem(400, "Bad Request", f"no {kind} custom field named {field!r}; define it in Admin")
    if kind == "contract" and item not in account.contracts:
        return problem(400, "Bad Request", f"contract {item} does not exist")
    if kind == "customer" and item not in account.customers:
        return problem(400, "Bad Request", f"customer {item} does not exist")
    return kind, item, field


def get_custom_value(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    key = _custom_field(account, match)
    if isinstance(key, SandboxResponse):
        return key
    value = account.custom_values.get(key)
    if value is None:
        return SandboxResponse.of_json([])
    item = {
        "ItemId": key[1],
        "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, key)))),
        "FieldName": key[2],
        "ValueAsString": value,
        "ValueAsDecimal": 0,
        "ValueAsDateTime": None,
        "ValueAsBool": False,
    }
    return SandboxResponse.of_json([item])


def set_custom_value(account: AteraAccount, request: SandboxRequest, match: dict[str, str]) -> Reply:
    key = _custom_field(account, match)
    if isinstance(key, SandboxResponse):
        return key
    body = request.json()
    if not isinstance(body, dict) or "Value" not in body:
        return problem(400, "Bad Request", 'the body must be {"Value": "..."}')
    if body["Value"] is None:
        account.custom_values.pop(key, None)
    else:
        account.custom_values[key] = str(body["Value"])
    return SandboxResponse.of_json({"ActionID": str(key[1])})
