"""What the connector may send ConnectWise: the operations of its OpenAPI description and nothing else, the query
parameters they declare, only numbers ConnectWise can hold, and the writes a push makes, checked before they go.

A request outside this is refused before it is sent (a ValueError: a bug of the connector, never a guess at what
ConnectWise would do with it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from connector.core.errors import DataError
from mappings.lines import Line
from providers.connectwise.dates import wire_moment
from providers.connectwise.settings import MAX_PAGE_SIZE

# The operations of the description's subset, by method: a path (under the API base) must match one of them.
_ID = r"\d+"
OPERATIONS: dict[str, tuple[str, ...]] = {
    "GET": (
        "/company/companies", f"/company/companies/{_ID}", "/company/companies/count",
        "/company/contacts", f"/company/contacts/{_ID}",
        "/finance/agreements", f"/finance/agreements/{_ID}", "/finance/agreements/count", "/finance/agreements/types",
        f"/finance/agreements/{_ID}/additions", f"/finance/agreements/{_ID}/additions/{_ID}",
        f"/finance/agreements/{_ID}/additions/count",
        "/finance/invoices", f"/finance/invoices/{_ID}",
        "/procurement/catalog", f"/procurement/catalog/{_ID}",
        "/system/info",
    ),
    "POST": (
        "/company/companies", "/company/contacts", "/finance/agreements", f"/finance/agreements/{_ID}/additions",
        "/procurement/catalog",
    ),
    "PATCH": (f"/finance/agreements/{_ID}", f"/finance/agreements/{_ID}/additions/{_ID}"),
    "PUT": (f"/finance/agreements/{_ID}/additions/{_ID}",),
}  # fmt: skip
_ALLOWED = {method: [re.compile(f"^{p}$") for p in paths] for method, paths in OPERATIONS.items()}
# Every GET of the description declares these query parameters, and no other operation declares any.
QUERY_PARAMETERS = frozenset(
    {"conditions", "childConditions", "customFieldConditions", "orderBy", "fields", "page", "pageSize", "pageId"}
)
# What a PATCH of an addition may change: its quantity and its custom fields (the record). Nothing else is the
# connector's to change, so nothing else is ever sent.
ADDITION_PATCH_PATHS = frozenset({"quantity", "customFields"})
# The Addition fields a POST may state (the description's, less what the server derives).
ADDITION_POST_FIELDS = frozenset(
    {"product", "quantity", "unitPrice", "billCustomer", "effectiveDate", "description", "invoiceDescription"}
    | {"customFields", "taxableFlag"}
)
_ADDITION = re.compile(rf"^/finance/agreements/{_ID}/additions(/{_ID})?$")

# ConnectWise keeps numbers as doubles: past 2^53 a double no longer holds every whole number.
WIRE_MAX = Decimal(2**53)


def refuse_unsendable_request(method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> None:
    """Refuse (ValueError) a request the description does not allow, before it is sent."""
    if not any(p.match(path) for p in _ALLOWED.get(method, [])):
        raise ValueError(f"{method} {path} is not an operation of ConnectWise's API description; not sent")
    unknown = sorted(set(params or {}) - (QUERY_PARAMETERS if method == "GET" else frozenset()))
    if unknown:
        raise ValueError(f"{method} {path}: query parameters {unknown} are not declared; not sent")
    size = (params or {}).get("pageSize")
    if size is not None and not 1 <= int(size) <= MAX_PAGE_SIZE:
        raise ValueError(f"{method} {path}: pageSize {size} is outside 1-{MAX_PAGE_SIZE}; not sent")
    if (method == "GET") != (body is None):
        raise ValueError(f"{method} {path}: {'a GET takes no body' if body is not None else 'a body is required'}")
    if _ADDITION.match(path) and method == "PATCH":
        check_addition_patch(body)
    if _ADDITION.match(path) and method == "POST":
        unexpected = sorted(set(body) - ADDITION_POST_FIELDS) if isinstance(body, dict) else ["(not an object)"]
        if unexpected:
            raise ValueError(f"POST {path}: fields {unexpected} are not the connector's to set; not sent")


def check_addition_patch(operations: Any) -> None:
    """A PATCH of an addition is a list of `replace` operations of its quantity and custom fields, each once."""
    if not isinstance(operations, list) or not operations:
        raise ValueError("a PATCH body is a non-empty list of operations")
    paths = [op.get("path") if isinstance(op, dict) else None for op in operations]
    for op in operations:
        if not isinstance(op, dict) or set(op) != {"op", "path", "value"} or op["op"] != "replace":
            raise ValueError(f"{op!r}: the connector sends only {{op: replace, path, value}} operations")
        if op["path"] not in ADDITION_PATCH_PATHS:
            raise ValueError(f"{op['path']!r} is not an addition field the connector changes")
    if len(set(paths)) != len(paths):
        raise ValueError(f"a PATCH names a field twice: {paths}")


# -- numbers and bodies -------------------------------------------------------------------------------------------


def wire_problem(value: Decimal) -> str | None:
    """Why ConnectWise cannot be sent this number, or None."""
    if not value.is_finite():
        return "is not a finite number"
    if abs(value) > WIRE_MAX:
        return f"is more than ConnectWise can hold (its numbers are doubles, exact to {WIRE_MAX})"
    return None


def wire_json(value: Any) -> bytes:
    """A body as JSON with every Decimal written as its own digits: never through float, never NaN or Infinity."""
    if isinstance(value, Decimal):
        problem = wire_problem(value)
        if problem is not None:
            raise ValueError(f"{value} {problem}")
        return (format(value, "f") if value.adjusted() >= -24 else str(value)).encode()
    if isinstance(value, dict):
        return b"{" + b",".join(json.dumps(str(k)).encode() + b":" + wire_json(v) for k, v in value.items()) + b"}"
    if isinstance(value, list | tuple):
        return b"[" + b",".join(wire_json(v) for v in value) + b"]"
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


def same_number(held: Decimal, sent: Decimal) -> bool:
    """Whether ConnectWise holding `held` holds `sent`: equal, or the same double (it keeps no more digits)."""
    return held == sent or float(held) == float(sent)


def refuse_unsendable(line: Line) -> None:
    """Nothing ConnectWise cannot hold is sent, not even in part: checked before the first request of a push."""
    where = f"{line.psa_customer} / {line.contract} / {line.period_key}"
    for name, value in (("quantity", line.quantity), ("rate", line.rate)):
        problem = wire_problem(value)
        if problem is not None:
            raise DataError(f"{where}: {name} {value} {problem}; nothing was sent to ConnectWise")
    if line.quantity < 0:
        # A negative quantity would invoice a credit: usage never is one.
        raise DataError(f"{where}: quantity {line.quantity} is negative; nothing was sent to ConnectWise")


def quantity_patch(quantity: Decimal, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The one PATCH of a push: the quantity and the custom fields (the record among them) replaced together."""
    return [
        {"op": "replace", "path": "quantity", "value": quantity},
        {"op": "replace", "path": "customFields", "value": fields},
    ]


def new_addition(
    product: str,
    quantity: Decimal,
    unit_price: Decimal | None,
    effective: datetime,
    custom_fields: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The body of the POST that adds an addition to an agreement: the catalog item by its identifier, billed to the
    customer from `effective` (without a `unit_price`, at the catalog's price). The one body a push that creates an
    addition (`create_if_missing`) and onboarding send."""
    body: dict[str, Any] = {"product": {"identifier": product}, "quantity": quantity}
    if unit_price is not None:
        body["unitPrice"] = unit_price
    body |= {"billCustomer": "Billable", "effectiveDate": wire_moment(effective)}
    if custom_fields:
        body["customFields"] = custom_fields
    return body
