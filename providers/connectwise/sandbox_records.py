"""What the sandbox ConnectWise accepts in a write: each record's rules, taken from the OpenAPI description.

A `Shape` says what the description requires of a record (its `required` list and the " Max length: N;" notes),
the type of each field the sandbox reads, and which fields the server owns. Server-owned fields (an id, `_info`,
an addition's `extPrice`) are ignored in a POST or PUT body, which a client may fill from a record it read, and
refused by a PATCH, which can only mean to change them. Errors come back as ConnectWise words them: an
`ErrorResponseMessage` whose `errors` name each field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from providers.connectwise.sandbox_query import error
from providers.sandbox import SandboxResponse

BILL_CUSTOMER = ("Billable", "DoNotBill", "NoCharge")


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The description's Addition and Agreement fields: a PATCH path must name one of them.
ADDITION_FIELDS = _names(
    """id product quantity lessIncluded unitPrice unitCost billCustomer effectiveDate cancelledDate taxableFlag
    serialNumber invoiceDescription purchaseItemFlag specialOrderFlag agreementId description billedQuantity uom
    extPrice extCost sequenceNumber margin prorateCost proratePrice extendedProrateCost extendedProratePrice
    prorateCurrentPeriodFlag opportunity agreementStatus invoiceGrouping _info customFields"""
)
AGREEMENT_FIELDS = _names(
    """id name type company contact site subContractCompany subContractContact parentAgreement customerPO location
    department restrictLocationFlag restrictDepartmentFlag startDate endDate noEndingDateFlag opportunity
    cancelledFlag dateCancelled reasonCancelled sla workOrder internalNotes applicationUnits applicationLimit
    applicationCycle applicationUnlimitedFlag oneTimeFlag coverAgreementTime coverAgreementProduct
    coverAgreementExpense coverSalesTax carryOverUnused allowOverruns expiredDays limit expireWhenZero chargeToFirm
    employeeCompRate employeeCompNotExceed compHourlyRate compLimitAmount billingCycle billOneTimeFlag billingTerms
    invoicingCycle billToCompany billToContact billToSite billAmount taxable prorateFirstBill billStartDate taxCode
    restrictDownPayment prorateFlag invoiceProratedAdditionsFlag invoiceDescription topComment bottomComment
    workRole workType projectType invoiceTemplate billTime billExpenses billProducts billableTimeInvoice
    billableExpenseInvoice billableProductInvoice currency periodType autoInvoiceFlag nextInvoiceDate
    companyLocation shipToCompany shipToContact shipToSite agreementStatus _info customFields"""
)


@dataclass(frozen=True)
class Shape:
    """One kind of record's rules, as the description states them."""

    resource: str  # the record's name in ConnectWise's error messages
    required: tuple[str, ...]
    max_lengths: dict[str, int] = field(default_factory=dict)
    numbers: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()
    references: frozenset[str] = frozenset()
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    server_owned: frozenset[str] = frozenset({"id", "_info"})
    fields: frozenset[str] = frozenset()  # what a PATCH may name (the kinds the sandbox patches)


COMPANY = Shape(
    "company", ("identifier", "name"), {"identifier": 30, "name": 50}, references=frozenset({"status", "site"})
)
CONTACT = Shape("contact", (), references=frozenset({"company"}))  # the description requires nothing of a contact
AGREEMENT = Shape(
    "agreement",
    ("company", "contact", "name", "type"),
    {"name": 100, "reasonCancelled": 100},
    numbers=frozenset({"billAmount", "applicationLimit", "compHourlyRate", "compLimitAmount", "prorateFirstBill"}),
    flags=frozenset({"cancelledFlag", "noEndingDateFlag", "autoInvoiceFlag", "taxable", "prorateFlag"}),
    dates=frozenset({"startDate", "endDate", "dateCancelled", "billStartDate"}),
    references=frozenset({"company", "contact", "type", "billingCycle", "parentAgreement"}),
    server_owned=frozenset({"id", "_info", "agreementStatus"}),
    fields=AGREEMENT_FIELDS,
)
ADDITION = Shape(
    "addition",
    ("billCustomer", "product"),
    {"serialNumber": 50, "invoiceDescription": 6000},
    numbers=frozenset({"quantity", "lessIncluded", "unitPrice", "unitCost", "sequenceNumber"}),
    flags=frozenset({"taxableFlag", "purchaseItemFlag", "specialOrderFlag", "prorateCurrentPeriodFlag"}),
    dates=frozenset({"effectiveDate", "cancelledDate"}),
    references=frozenset({"product", "opportunity", "invoiceGrouping"}),
    choices={"billCustomer": BILL_CUSTOMER},
    server_owned=frozenset(
        {"id", "_info", "agreementId", "agreementStatus", "billedQuantity", "extPrice", "extCost", "margin"}
        | {"prorateCost", "proratePrice", "extendedProrateCost", "extendedProratePrice"}
    ),
    fields=ADDITION_FIELDS,
)
CATALOG_ITEM = Shape(
    "catalogItem",
    ("identifier", "description", "customerDescription", "subcategory", "type"),
    {"identifier": 75, "description": 60, "customerDescription": 6000},
    numbers=frozenset({"price", "cost"}),
    references=frozenset({"subcategory", "type", "unitOfMeasure", "category", "vendor"}),
)
# Custom field types whose values are numbers; a Checkbox takes true or false, every other type takes text.
NUMBER_FIELD_TYPES = frozenset({"Number", "Currency", "Percent"})


def problem(resource: str, field_name: str, message: str, code: str = "InvalidField") -> dict[str, str]:
    """One `ValidationError`, naming the field."""
    return {"code": code, "message": message, "resource": resource, "field": field_name}


def invalid(resource: str, problems: list[dict[str, str]]) -> SandboxResponse:
    return error(400, "InvalidObject", f"{resource} object is invalid", problems)


def body_object(body: Any, resource: str) -> dict[str, Any] | SandboxResponse:
    """A POST or PUT body as the record it states: a JSON object, its nulls dropped (null means "not set")."""
    if isinstance(body, SandboxResponse):
        return body  # it was not JSON at all
    if not isinstance(body, dict):
        return error(400, "InvalidObject", f"the body must be a JSON object (a {resource})")
    return {key: value for key, value in body.items() if value is not None}


def writable(shape: Shape, body: dict[str, Any]) -> dict[str, Any]:
    """A body without the fields the server owns (and without customFields, which the caller applies)."""
    return {k: v for k, v in body.items() if k not in shape.server_owned and k != "customFields"}


def check(shape: Shape, record: dict[str, Any]) -> list[dict[str, str]]:
    """What is wrong with a record as `shape` states it: each problem names its field."""
    found = []
    for name in shape.required:
        if record.get(name) in (None, ""):
            found.append(problem(shape.resource, name, f"The {name} field is required.", "NullValue"))
    for name, value in record.items():
        message = _field_problem(shape, name, value)
        if message is not None:
            found.append(problem(shape.resource, name, message))
    return found


def _field_problem(shape: Shape, name: str, value: Any) -> str | None:
    limit = shape.max_lengths.get(name)
    if limit is not None and (not isinstance(value, str) or len(value) > limit):
        return f"The field {name} must be a string with a maximum length of {limit}."
    if name in shape.numbers and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"The field {name} must be a number."
    if name in shape.flags and not isinstance(value, bool):
        return f"The field {name} must be true or false."
    if name in shape.dates and not _is_moment(value):
        return f"The field {name} must be a date-time such as 2026-01-01T00:00:00Z."
    if name in shape.references and not isinstance(value, dict):
        return f'The field {name} must be a reference object such as {{"id": 1}}.'
    if name in shape.choices and value not in shape.choices[name]:
        return f"The field {name} must be one of {', '.join(shape.choices[name])}."
    return None


def _is_moment(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# -- PATCH ------------------------------------------------------------------------------------------------------


@dataclass
class Patched:
    """A record with a PATCH applied (to a copy), and the custom field values it sets."""

    record: dict[str, Any]
    custom: list[Any] = field(default_factory=list)


def apply_patch(shape: Shape, record: dict[str, Any], operations: Any) -> Patched | SandboxResponse:
    """The record after the operations (`replace`, `add`, `remove` of top-level fields), or a 400.

    A path is written with or without its leading slash (`quantity`, `/quantity`); `customFields` takes a list of
    `{id, value}`, which the caller applies to those custom fields only.
    """
    if isinstance(operations, SandboxResponse):
        return operations  # it was not JSON at all
    if not isinstance(operations, list) or not operations:
        return error(400, "InvalidObject", "the body must be a JSON array of PatchOperation {op, path, value}")
    patched = Patched(dict(record))
    names = {name.lower(): name for name in shape.fields}
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            return invalid(shape.resource, [problem(shape.resource, "path", "each operation needs op and path")])
        op = str(operation.get("op") or "").lower()
        name = names.get(operation["path"].strip().lstrip("/").lower())
        if name is None:
            message = f"{operation['path']!r} is not a field of {shape.resource} that can be patched"
            return invalid(shape.resource, [problem(shape.resource, operation["path"], message)])
        refused = _refused(shape, op, name)
        if refused is not None:
            return invalid(shape.resource, [refused])
        if name == "customFields":
            patched.custom.append(operation.get("value"))
        elif op == "remove" or operation.get("value") is None:
            patched.record.pop(name, None)
        else:
            patched.record[name] = operation["value"]
    return patched


def _refused(shape: Shape, op: str, name: str) -> dict[str, str] | None:
    """Why an operation on a field of the record cannot be applied, if it cannot."""
    if op not in ("replace", "add", "remove"):
        return problem(shape.resource, name, f"op {op!r} is not supported; use replace, add or remove")
    if name in shape.server_owned:
        return problem(shape.resource, name, f"{name} is set by the server and cannot be changed")
    if name == "customFields" and op == "remove":
        return problem(shape.resource, name, "customFields cannot be removed; replace a field's value with null")
    return None


def custom_values(
    definitions: list[dict[str, Any]], given: Any, resource: str = "addition"
) -> dict[int, Any] | SandboxResponse:
    """The values a `customFields` list sets, by field id: each entry names a defined field and fits its type."""
    if not isinstance(given, list):
        return invalid(resource, [problem(resource, "customFields", "customFields must be a list of {id, value}")])
    by_id = {definition["id"]: definition for definition in definitions}
    values: dict[int, Any] = {}
    for entry in given:
        named = entry.get("id") if isinstance(entry, dict) else entry
        definition = by_id.get(named) if isinstance(named, int) else None
        if definition is None:
            return invalid(resource, [problem(resource, "customFields", f"no custom field {named!r} on {resource}s")])
        value = entry.get("value")
        if not _fits(value, definition.get("type") or "Text"):
            message = f"custom field {named} ({definition.get('caption')}) takes a {definition.get('type')} value"
            return invalid(resource, [problem(resource, "customFields", message)])
        values[definition["id"]] = value
    return values


def _fits(value: Any, kind: str) -> bool:
    if value is None:
        return True  # null clears the field
    if kind in NUMBER_FIELD_TYPES:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "Checkbox":
        return isinstance(value, bool)
    return isinstance(value, str)
