"""The sandbox Autotask's request handlers: queries and gets of every entity, field information, the creates and
updates the subset declares, and the three information calls (version, zone, threshold).

A handler takes a `Context` (the account and what the front door knows: today, its own URL, the user, the
hour's request count), the request and the path's named groups, and returns a response. Bodies are read with
their names matched ignoring case (`sandbox_fields.normalised`); what a write cannot carry out is a 500 with
`{"errors": [...]}`, as Autotask answers it. Fields the server owns (an id, a create date) are ignored in a body,
which a client may have filled from a record it read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from providers.autotask import sandbox_query as query
from providers.autotask import sandbox_units as units
from providers.autotask.sandbox_account import DEFAULT_RESOURCE_ID, AutotaskAccount, day, now
from providers.autotask.sandbox_fields import (
    ADJUSTMENTS,
    COMPANIES,
    CONTACTS,
    CONTRACT_SERVICES,
    CONTRACTS,
    ENTITIES,
    MONTHLY,
    SERVICES,
    Entity,
    field_information,
    missing,
    normalised,
    wire,
)
from providers.sandbox import SandboxRequest, SandboxResponse

API_VERSIONS = ["1.0"]
EXTERNAL_REQUEST_THRESHOLD = 10_000
THRESHOLD_TIMEFRAME_MINUTES = 60


@dataclass(frozen=True)
class Context:
    account: AutotaskAccount
    today: date
    api_url: str  # the zone URL, `.../ATServicesRest`
    web_url: str
    username: str
    requests_this_hour: int


Handler = Callable[[Context, SandboxRequest, dict[str, str]], SandboxResponse]
Collect = Callable[[Context], list[dict[str, Any]]]


def _stored(name: str) -> Collect:
    def collect(context: Context) -> list[dict[str, Any]]:
        records = getattr(context.account, name)
        return context.account.views(ENTITY_OF[name], records)

    return collect


ENTITY_OF = {
    "companies": "Companies",
    "contacts": "Contacts",
    "contracts": "Contracts",
    "services": "Services",
    "contract_services": "ContractServices",
    "invoices": "Invoices",
    "billing_items": "BillingItems",
}
COLLECT: dict[str, Collect] = {entity: _stored(name) for name, entity in ENTITY_OF.items()}
COLLECT["ContractServiceUnits"] = lambda context: units.all_records(context.account, context.today)


# -- reads --------------------------------------------------------------------------------------------------------


def querying(entity_name: str) -> Handler:
    """`POST /{Entity}/query` (the body) and `GET /{Entity}/query?search=` (the parameter): one page."""
    entity = ENTITIES[entity_name]

    def handle(context: Context, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            if request.method == "POST":
                read = query.read_query(entity, _json(request))
            else:
                read = query.parse_search(entity, request.param("search"))
        except (query.QueryError, ValueError) as why:
            return query.refused(str(why))
        url = f"{context.api_url}/V1.0/{entity_name}/query"
        return query.page(_collected(entity_name, context, read), read, url)

    return handle


def _collected(entity_name: str, context: Context, read: query.Query) -> list[dict[str, Any]]:
    """The records a query is answered from. Units records are derived on every read (each page of a query
    again): a units query naming its contract services (`in` or `eq` on contractServiceID) builds only theirs, not
    those of every contract service (seconds at thousands of them, and the connector reads a contract service's
    units before and after each adjustment)."""
    if entity_name == "ContractServiceUnits":
        return units.all_records(context.account, context.today, query.confined_to(read, "contractServiceID"))
    return COLLECT[entity_name](context)


def item(entity_name: str) -> Handler:
    """`GET /{Entity}/{id}`: `{"item": {...}}`, or a 404 naming what is missing."""

    def handle(context: Context, _: SandboxRequest, groups: dict[str, str]) -> SandboxResponse:
        wanted = int(groups["id"])
        found = next((r for r in COLLECT[entity_name](context) if r["id"] == wanted), None)
        if found is None:
            return query.not_found(f"{entity_name} {wanted} does not exist")
        return query.ok({"item": found})

    return handle


def fields(entity_name: str) -> Handler:
    def handle(_: Context, __: SandboxRequest, ___: dict[str, str]) -> SandboxResponse:
        return query.ok(field_information(ENTITIES[entity_name]))

    return handle


def version_information(_: Context, __: SandboxRequest, ___: dict[str, str]) -> SandboxResponse:
    return query.ok({"apiVersions": API_VERSIONS})


def zone_information(context: Context, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
    """The zone of the user named: this sandbox for its own user; any other user is a 404 (the sandbox knows one
    database; real Autotask answers an unknown user with an error too)."""
    user = request.param("user")
    if not user:
        return query.refused("the user parameter is required")
    if user.casefold() != context.username.casefold():
        return query.not_found(f"no zone knows the user {user!r}")
    return query.ok({"zoneName": "Sandbox", "url": context.api_url + "/", "webUrl": context.web_url, "ci": 1})


def threshold_information(context: Context, _: SandboxRequest, __: dict[str, str]) -> SandboxResponse:
    return query.ok(
        {
            "externalRequestThreshold": EXTERNAL_REQUEST_THRESHOLD,
            "requestThresholdTimeframe": THRESHOLD_TIMEFRAME_MINUTES,
            "currentTimeframeRequestCount": context.requests_this_hour,
        }
    )


# -- writes -------------------------------------------------------------------------------------------------------


def _json(request: SandboxRequest) -> Any:
    try:
        return request.json()
    except ValueError:
        raise ValueError("the body is not JSON") from None


def _refuse_any(problems: list[str]) -> None:
    if problems:
        raise query.Refused(*problems)


def _record(entity: Entity, request: SandboxRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """A body read as the entity's fields: (the writable fields given, the server-owned ones given)."""
    try:
        body = _json(request)
    except ValueError as why:
        raise query.Refused(str(why)) from None
    if not isinstance(body, dict):
        raise query.Refused(f"the body must be a {entity.name} object")
    record, problems = normalised(entity, body)
    _refuse_any(problems)
    owned = {name: record.pop(name) for name in list(record) if name in entity.read_only}
    return record, owned


def _created(made: dict[str, Any]) -> SandboxResponse:
    return query.ok({"itemId": made["id"]})


def create_company(context: Context, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
    record, _owned = _record(COMPANIES, request)
    account = context.account
    problems = missing(COMPANIES, record)
    if record.get("ownerResourceID") is not None and record["ownerResourceID"] not in account.resources:
        problems.append(f"ownerResourceID: no resource {record['ownerResourceID']}")
    if record.get("parentCompanyID") is not None and record["parentCompanyID"] not in account.companies:
        problems.append(f"parentCompanyID: no company {record['parentCompanyID']}")
    _refuse_any(problems)
    defaults = {"isActive": True, "createDate": wire(now()), "createdByResourceID": DEFAULT_RESOURCE_ID}
    return _created(account.stored(account.companies, {**defaults, **record}))


def create_contact(context: Context, request: SandboxRequest, groups: dict[str, str]) -> SandboxResponse:
    parent = int(groups["parentId"])
    if parent not in context.account.companies:
        raise query.Refused(f"Company {parent} does not exist")
    record, _owned = _record(CONTACTS, request)
    if record.get("companyID") not in (None, parent):
        raise query.Refused(f"companyID {record['companyID']} is not the parent company {parent}")
    _refuse_any(missing(CONTACTS, record))
    stored = {"isActive": 1, "createDate": wire(now()), **record, "companyID": parent}
    return _created(context.account.stored(context.account.contacts, stored))


def _contract_problems(account: AutotaskAccount, record: dict[str, Any]) -> list[str]:
    problems = missing(CONTRACTS, record)
    if record.get("companyID") is not None and record["companyID"] not in account.companies:
        problems.append(f"companyID: no company {record['companyID']}")
    contact = account.contacts.get(record.get("contactID") or -1)
    if record.get("contactID") is not None and (contact is None or contact["companyID"] != record.get("companyID")):
        problems.append(f"contactID: no contact {record['contactID']} at company {record.get('companyID')}")
    start, end = day(record.get("startDate")), day(record.get("endDate"))
    if start is not None and end is not None and end < start:
        problems.append("endDate: before startDate")
    return problems


def create_contract(context: Context, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
    record, _owned = _record(CONTRACTS, request)
    _refuse_any(_contract_problems(context.account, record))
    if context.account.is_recurring(record):
        record.setdefault("contractPeriodType", MONTHLY)  # the sandbox bills monthly unless told otherwise
    stored = {**record, "lastModifiedDateTime": wire(now())}
    return _created(context.account.stored(context.account.contracts, stored))


def update_contract(context: Context, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
    """PUT (every writable field replaced: what the body leaves out is cleared) or PATCH (only what it names);
    the contract's id is in the body. Its company and type cannot change."""
    record, owned = _record(CONTRACTS, request)
    number = owned.get("id")
    current = context.account.contracts.get(number) if isinstance(number, int) else None
    if current is None:
        raise query.Refused(f"the body's id names no contract: {number!r}")
    problems = [
        f"{name}: cannot be changed ({current.get(name)} to {record[name]})"
        for name in ("companyID", "contractType")
        if name in record and record[name] != current.get(name)
    ]
    kept = {name: current.get(name) for name in ("companyID", "contractType")}
    updated = {**current, **record} if request.method == "PATCH" else {**kept, **record}
    _refuse_any(problems + _contract_problems(context.account, updated))
    if context.account.is_recurring(updated):
        updated.setdefault("contractPeriodType", current.get("contractPeriodType") or MONTHLY)
    current.clear()
    current.update({**updated, "id": number, "lastModifiedDateTime": wire(now())})
    return _created(current)


def create_service(context: Context, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
    record, _owned = _record(SERVICES, request)
    problems = missing(SERVICES, record)
    name = str(record.get("name") or "").casefold()
    if name and any(str(s.get("name", "")).casefold() == name for s in context.account.services.values()):
        problems.append(f"name: a service named {record['name']!r} exists already")
    _refuse_any(problems)
    stamp = wire(now())
    defaults = {
        "isActive": True,
        "createDate": stamp,
        "lastModifiedDate": stamp,
        "creatorResourceID": DEFAULT_RESOURCE_ID,
    }
    return _created(context.account.stored(context.account.services, {**defaults, **record}))


def _recurring_parent(context: Context, contract_id: Any) -> dict[str, Any]:
    contract = context.account.contracts.get(contract_id) if isinstance(contract_id, int) else None
    if contract is None:
        raise query.Refused(f"contractID: no contract {contract_id}")
    if not context.account.is_recurring(contract):
        raise query.Refused(f"contractID must reference a Recurring Service contract (contractType 7): {contract_id}")
    return contract


def create_contract_service(context: Context, request: SandboxRequest, groups: dict[str, str]) -> SandboxResponse:
    parent = int(groups["parentId"])
    _recurring_parent(context, parent)
    record, _owned = _record(CONTRACT_SERVICES, request)
    problems = missing(CONTRACT_SERVICES, record)
    if record.get("contractID") not in (None, parent):
        problems.append(f"contractID {record['contractID']} is not the parent contract {parent}")
    service_id = record.get("serviceID")
    if service_id is not None and service_id not in context.account.services:
        problems.append(f"serviceID: no service {service_id}")
    elif service_id is not None and context.account.contract_service_for(parent, service_id) is not None:
        problems.append(f"serviceID: service {service_id} is on contract {parent} already")
    _refuse_any(problems)
    fields = {k: v for k, v in record.items() if k not in ("contractID", "serviceID", "unitPrice")}
    made = context.account.new_contract_service(parent, record["serviceID"], record.get("unitPrice"), **fields)
    return _created(made)


def create_adjustment(context: Context, request: SandboxRequest, groups: dict[str, str]) -> SandboxResponse:
    """`POST /ContractServiceAdjustments` or `POST /Contracts/{parentId}/ServiceAdjustments`: units added to or
    removed from a contract service from a date on. The contract service may be named by id, or by its service,
    in which case it is made when the contract has none (as Autotask's help says). `adjustedUnitPrice`, when
    given, becomes the contract service's unit price (an inference: the help calls it the adjusted price)."""
    record, _owned = _record(ADJUSTMENTS, request)
    account = context.account
    parent = int(groups["parentId"]) if "parentId" in groups else None
    if parent is not None and record.get("contractID") not in (None, parent):
        raise query.Refused(f"contractID {record['contractID']} is not the parent contract {parent}")
    contract = _recurring_parent(context, parent if parent is not None else record.get("contractID"))
    _refuse_any(missing(ADJUSTMENTS, record))
    found = _adjusted_service(account, contract, record)
    effective = day(record["effectiveDate"])
    assert effective is not None  # normalised() checked it is a date-time
    change = record["unitChange"]
    problem = units.adjustment_problem(account, found, change, effective, context.today)
    if problem is not None:
        raise query.Refused(problem)
    if found["id"] is None:  # the contract had no contract service for the service: make it now
        found = account.new_contract_service(contract["id"], found["serviceID"], record.get("adjustedUnitPrice"))
    elif record.get("adjustedUnitPrice") is not None:
        found["unitPrice"] = record["adjustedUnitPrice"]
    named = ("contractID", "contractServiceID", "serviceID", "unitChange", "effectiveDate")
    extra = {k: v for k, v in record.items() if k not in named}
    made = units.record_adjustment(account, found, change, effective, **extra)
    return _created(made)


def _adjusted_service(account: AutotaskAccount, contract: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The contract service an adjustment names; one with id None stands for the one to make."""
    contract_service_id, service_id = record.get("contractServiceID"), record.get("serviceID")
    if contract_service_id is not None:
        found = account.contract_services.get(contract_service_id)
        if found is None or found.get("contractID") != contract["id"]:
            raise query.Refused(f"contractServiceID: no contract service {contract_service_id} on this contract")
        if service_id is not None and service_id != found["serviceID"]:
            raise query.Refused(f"serviceID {service_id} is not contract service {contract_service_id}'s service")
        return found
    if service_id is None:
        raise query.Refused("contractServiceID or serviceID is required")
    if service_id not in account.services:
        raise query.Refused(f"serviceID: no service {service_id}")
    existing = account.contract_service_for(contract["id"], service_id)
    return existing or {"id": None, "contractID": contract["id"], "serviceID": service_id}
