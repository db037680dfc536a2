"""What the connector may send Autotask, and how: the operations of the Swagger subset and nothing else, bodies as
JSON with exact numbers, days and instants as Autotask reads them, and the one write that changes what a customer is
billed (a service adjustment) checked field by field before it goes.

A request outside this is refused before it is sent, with a ValueError: a bug of the connector, never a guess at
what Autotask would make of it. Autotask answers such requests with a 500, and an adjustment cannot be read back
or undone, so the check happens here rather than there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from providers.autotask.models import utc_moment
from providers.autotask.settings import MAX_PAGE_SIZE

_ID = r"\d+"
# The Swagger subset's operations by method, as paths under the zone's base (…/ATServicesRest/).
_QUERIED = "BillingItems|Companies|Contacts|Contracts|ContractServices|ContractServiceUnits|Invoices|Services"
_BY_ID = "Companies|Contracts|ContractServices|Invoices|Services"
_DESCRIBED = "Companies|Contracts|ContractServiceAdjustments|ContractServices"
OPERATIONS: dict[str, tuple[str, ...]] = {
    "GET": (
        f"V1.0/({_BY_ID})/{_ID}", f"V1.0/({_DESCRIBED})/entityInformation/fields",
        "V1.0/ThresholdInformation", "V1.0/ZoneInformation", "VersionInformation",
    ),
    "POST": (
        f"V1.0/({_QUERIED})/query",
        "V1.0/Companies", f"V1.0/Companies/{_ID}/Contacts", "V1.0/Contracts", f"V1.0/Contracts/{_ID}/Services",
        "V1.0/ContractServiceAdjustments", f"V1.0/Contracts/{_ID}/ServiceAdjustments", "V1.0/Services",
    ),
    "PATCH": ("V1.0/Contracts",),
    "PUT": ("V1.0/Contracts",),
}  # fmt: skip
_ALLOWED = {method: [re.compile(f"^{path}$") for path in paths] for method, paths in OPERATIONS.items()}
_QUERY = re.compile(f"^V1.0/({_QUERIED})/query$")
_ADJUSTMENT = re.compile(rf"^V1.0/(Contracts/(?P<contract>{_ID})/Service|ContractService)Adjustments$")
QUERY_KEYS = frozenset({"filter", "maxRecords", "includeFields"})
ADJUSTMENT_REQUIRED = frozenset({"contractID", "contractServiceID", "serviceID", "unitChange", "effectiveDate"})
ADJUSTMENT_FIELDS = ADJUSTMENT_REQUIRED | {"adjustedUnitPrice"}
# Autotask keeps numbers as doubles (past 2^53 a double no longer holds every whole number) and units as int32.
WIRE_MAX = Decimal(2**53)
INT32 = range(-(2**31), 2**31)


def refuse_unsendable_request(method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> None:
    """Refuse (ValueError) a request the Swagger subset does not allow, or a body the connector must not send."""
    if not any(p.match(path) for p in _ALLOWED.get(method, [])):
        raise ValueError(f"{method} {path} is not an operation of Autotask's API subset; not sent")
    allowed_params = {"user"} if path == "V1.0/ZoneInformation" else set()
    unknown = sorted(set(params or {}) - allowed_params)
    if unknown:
        raise ValueError(f"{method} {path}: query parameters {unknown} are not declared; not sent")
    if (method == "GET") != (body is None):
        raise ValueError(f"{method} {path}: {'a GET takes no body' if body is not None else 'a body is required'}")
    if method != "GET" and not isinstance(body, dict):
        raise ValueError(f"{method} {path}: a body is a JSON object, not {type(body).__name__}")
    if method == "POST" and _QUERY.match(path):
        check_query(body)
    elif method == "POST" and (adjustment := _ADJUSTMENT.match(path)):
        contract = adjustment.group("contract")
        check_adjustment(body, int(contract) if contract else None)
    elif method in {"PATCH", "PUT"} and not _positive_id(body.get("id")):
        raise ValueError(f"{method} {path}: the record's id goes in the body (a positive integer); not sent")


def check_query(body: dict[str, Any]) -> None:
    """A query body: a non-empty filter (Autotask needs one; `exist id` lists everything), a page size it serves,
    and includeFields that name `id` (the paging is checked by id)."""
    unknown = sorted(set(body) - QUERY_KEYS)
    if unknown:
        raise ValueError(f"query keys {unknown} are not the query model's; not sent")
    if not isinstance(body.get("filter"), list) or not body["filter"]:
        raise ValueError("a query needs at least one filter (use filters.everything() to list all); not sent")
    size = body.get("maxRecords")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"maxRecords {size!r} is outside 1-{MAX_PAGE_SIZE}; not sent")
    fields = body.get("includeFields")
    if fields is not None and (not isinstance(fields, list) or "id" not in {str(f).casefold() for f in fields}):
        raise ValueError("includeFields must be a list that names id; not sent")


def check_adjustment(body: dict[str, Any], contract_id: int | None) -> None:
    """A service adjustment: the contract, its contract service and service by id, a whole non-zero `unitChange`
    (units are int32 and the change is a delta: zero would record an adjustment that changes nothing), the day it
    takes effect (a date, not an instant) and, optionally, an exact unit price. Nothing else."""
    missing = sorted(ADJUSTMENT_REQUIRED - set(body))
    unknown = sorted(set(body) - ADJUSTMENT_FIELDS)
    if missing or unknown:
        raise ValueError(f"a service adjustment lacks {missing} or has fields {unknown} it does not take; not sent")
    for key in ("contractID", "contractServiceID", "serviceID"):
        if not _positive_id(body[key]):
            raise ValueError(f"adjustment {key} {body[key]!r} is not a record id; not sent")
    if contract_id is not None and body["contractID"] != contract_id:
        raise ValueError(f"adjustment contractID {body['contractID']} is not contract {contract_id} it is posted to")
    change = body["unitChange"]
    if not isinstance(change, int) or isinstance(change, bool) or change not in INT32 or change == 0:
        raise ValueError(f"adjustment unitChange {change!r} is not a non-zero whole number of units; not sent")
    effective = body["effectiveDate"]
    if not isinstance(effective, date) or isinstance(effective, datetime):
        raise ValueError(f"adjustment effectiveDate {effective!r} is not a day (datetime.date); not sent")
    price = body.get("adjustedUnitPrice")
    if price is not None and (not isinstance(price, Decimal | int) or isinstance(price, bool)):
        raise ValueError(f"adjustment adjustedUnitPrice {price!r} is not an exact number (Decimal); not sent")


def _positive_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# -- values -------------------------------------------------------------------------------------------------------


def wire_day(day: date) -> str:
    """A day as Autotask takes it: `YYYY-MM-DDT00:00:00`, with no zone.

    What the connector sends as a day (an adjustment's effective date above all) is a calendar day, not an
    instant. Autotask's screen for a service adjustment has no time, and it is reported not to convert that date
    between zones: it keeps the day as written. A designator (Z, an offset) would state an instant, which a reader
    that does convert could place on the day before; midnight with none is the day itself, whichever way it is read.
    """
    if isinstance(day, datetime):
        raise ValueError(f"{day!r} is an instant; a day is sent as a datetime.date")
    return f"{day.isoformat()}T00:00:00"


def wire_moment(moment: datetime) -> str:
    """An instant as Autotask writes them: UTC, to the second, with no zone designator. A naive datetime names no
    instant and is refused."""
    if moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no zone; an instant sent to Autotask must be aware")
    return utc_moment(moment).strftime("%Y-%m-%dT%H:%M:%S")


def wire_problem(value: Decimal) -> str | None:
    """Why Autotask cannot be sent this number, or None."""
    if not value.is_finite():
        return "is not a finite number"
    if abs(value) > WIRE_MAX:
        return f"is more than Autotask can hold (its numbers are doubles, exact to {WIRE_MAX})"
    return None


def wire_json(value: Any) -> bytes:
    """A body as JSON: Decimals as their own digits (never through float), days by `wire_day`, instants by
    `wire_moment`. A float is refused: a price that went through binary on the way is not the price configured."""
    if isinstance(value, Decimal):
        problem = wire_problem(value)
        if problem is not None:
            raise ValueError(f"{value} {problem}")
        return (format(value, "f") if value.adjusted() >= -24 else str(value)).encode()
    if isinstance(value, float):
        raise ValueError(f"{value!r} is a float; numbers sent to Autotask are Decimal or int")
    if isinstance(value, datetime):
        return json.dumps(wire_moment(value)).encode()
    if isinstance(value, date):
        return json.dumps(wire_day(value)).encode()
    if isinstance(value, dict):
        return b"{" + b",".join(json.dumps(str(k)).encode() + b":" + wire_json(v) for k, v in value.items()) + b"}"
    if isinstance(value, list | tuple):
        return b"[" + b",".join(wire_json(v) for v in value) + b"]"
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()
