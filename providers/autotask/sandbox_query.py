"""The sandbox Autotask's query language and answers: `QueryModel` filters, `includeFields`, pages of at most 500.

A query is the body of `POST /V1.0/{Entity}/query` or the `search` parameter of the GET form, the same JSON:
`{"filter": [...], "includeFields": [...], "maxRecords": n}`, names matched ignoring case. Top-level filters are
ANDed; `and`/`or` nodes carry `items`. Autotask requires at least one filter (a client lists everything with
`{"op": "exist", "field": "id"}`). Values are compared as the field's type: text ignoring case, date-times as
date-times; a boolean must be JSON `true` or `false`. Whatever the query cannot mean (an unknown field or
operator, a value of the wrong type) is a 500 with `{"errors": [...]}`, as Autotask answers it.

Pages are ordered by id and hold `maxRecords` records (0 or absent: 500, the most there is). The next page is a
GET of the same `/query` path whose `search` is the query with one more top-level filter, `id gt <last id>`: the
GET form declares `search` as its only parameter, so the continuation lives inside it and stays a valid
QueryModel. `prevPageUrl` is always null (an id cursor only runs forward). `id` is in every answer, whatever
`includeFields` names, since a page cannot be continued without it.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from providers.autotask.sandbox_fields import Entity, parse_moment
from providers.sandbox import SandboxResponse

MAX_RECORDS = 500
GROUPS = ("and", "or")
COMPARISONS = ("eq", "noteq", "gt", "gte", "lt", "lte")
TEXT_OPERATORS = ("beginswith", "endswith", "contains")
LISTS = ("in", "notin")
PRESENCE = ("exist", "notexist")
Test = Callable[[dict[str, Any]], bool]


def ok(body: Any) -> SandboxResponse:
    return SandboxResponse.of_json(body)


def error(status: int, *messages: str) -> SandboxResponse:
    """An error answer, as Autotask shapes them: `{"errors": ["..."]}`."""
    return SandboxResponse.of_json({"errors": list(messages)}, status)


def refused(*messages: str) -> SandboxResponse:
    """What Autotask answers a request it cannot carry out: a 500 naming why."""
    return error(500, *messages)


def not_found(message: str) -> SandboxResponse:
    return error(404, message)


class Refused(Exception):
    """Raised by a handler for a request it cannot carry out; the front door answers it with `refused`."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.response = refused(*messages)


class QueryError(ValueError):
    """A query the sandbox cannot read; the message says why."""


@dataclass(frozen=True)
class Query:
    """A query read: the filters as given (kept for the next page's URL), their test, and what to show."""

    filters: list[Any]
    test: Test
    fields: list[str] | None
    max_records: int
    raw_max: int | None


def _keys(node: dict[str, Any], known: tuple[str, ...], what: str) -> dict[str, Any]:
    """A JSON object's members under their lower-cased names; a member not in `known` is an error."""
    found: dict[str, Any] = {}
    for key, value in node.items():
        if key.lower() not in known:
            raise QueryError(f"{what}: unknown member {key!r}")
        found[key.lower()] = value
    return found


def read_query(entity: Entity, model: Any) -> Query:
    """A `QueryModel` (already parsed from JSON) as a `Query`; raises QueryError when it cannot be one."""
    if not isinstance(model, dict):
        raise QueryError("the query must be a JSON object")
    members = _keys(model, ("filter", "includefields", "maxrecords"), "query")
    filters = members.get("filter")
    if not isinstance(filters, list) or not filters:
        raise QueryError("a filter is required: give at least one (exist on id lists everything)")
    tests = [_filter(entity, node) for node in filters]
    raw_max = members.get("maxrecords")
    if raw_max is not None and (isinstance(raw_max, bool) or not isinstance(raw_max, int)):
        raise QueryError(f"maxRecords must be an integer, not {raw_max!r}")
    if raw_max is not None and not 0 <= raw_max <= MAX_RECORDS:
        raise QueryError(f"maxRecords must be between 1 and {MAX_RECORDS} (0 means {MAX_RECORDS})")
    return Query(
        filters=filters,
        test=lambda record: all(test(record) for test in tests),
        fields=_include(entity, members.get("includefields")),
        max_records=raw_max or MAX_RECORDS,
        raw_max=raw_max,
    )


def parse_search(entity: Entity, text: str | None) -> Query:
    """The GET form's `search` parameter, read as a QueryModel."""
    if text is None or not text.strip():
        raise QueryError("the search parameter is required")
    try:
        model = json.loads(text)
    except ValueError:
        raise QueryError("the search parameter is not JSON") from None
    return read_query(entity, model)


def _include(entity: Entity, names: Any) -> list[str] | None:
    if names is None or names == []:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise QueryError("includeFields must be a list of field names")
    fields = ["id"]
    for name in names:
        canonical = entity.canonical(name)
        if canonical is None:
            raise QueryError(f"includeFields: {entity.name} has no field {name!r}")
        if canonical not in fields:
            fields.append(canonical)
    return fields


# -- filters ------------------------------------------------------------------------------------------------------


def _filter(entity: Entity, node: Any) -> Test:
    if not isinstance(node, dict):
        raise QueryError(f"a filter must be an object, not {node!r}")
    members = _keys(node, ("op", "field", "value", "items", "udf"), "filter")
    op = members.get("op")
    if not isinstance(op, str):
        raise QueryError(f"a filter needs an op: {node}")
    op = op.lower()
    if op in GROUPS:
        items = members.get("items")
        if not isinstance(items, list) or not items:
            raise QueryError(f"an {op} filter needs a non-empty items list")
        tests = [_filter(entity, item) for item in items]
        if op == "and":
            return lambda record: all(test(record) for test in tests)
        return lambda record: any(test(record) for test in tests)
    if op not in (*COMPARISONS, *TEXT_OPERATORS, *LISTS, *PRESENCE):
        raise QueryError(f"unknown filter operator {members['op']!r}")
    if members.get("udf") not in (None, False, True):
        raise QueryError("udf must be true or false")
    if members.get("udf"):
        return _udf_filter(op, members)
    return _field_filter(entity, op, members)


def _field_filter(entity: Entity, op: str, members: dict[str, Any]) -> Test:
    given = members.get("field")
    name = entity.canonical(given) if isinstance(given, str) else None
    if name is None or entity.fields[name] == "udf":
        raise QueryError(f"{entity.name} has no field {given!r} to filter on")
    if name in entity.not_queryable:
        raise QueryError(f"{name} cannot be queried")
    kind = entity.fields[name]
    if op in PRESENCE:
        exists = op == "exist"
        return lambda record: (record.get(name) not in (None, "")) == exists
    value = members.get("value")
    if op in LISTS:
        if not isinstance(value, list) or not value:
            raise QueryError(f"{op} on {name} needs a non-empty list of values")
        wanted = [_operand(kind, item, name) for item in value]
        inside = op == "in"
        return lambda record: (_comparable(kind, record.get(name)) in wanted) == inside
    operand = _operand(kind, value, name)
    if op in TEXT_OPERATORS:
        if kind != "str":
            raise QueryError(f"{members['op']} applies to text fields, and {name} is not one")
        return _text_test(op, name, operand)
    if kind == "bool" and op not in ("eq", "noteq"):
        raise QueryError(f"{name} is true or false: only eq and noteq compare it")
    return _comparison(op, name, kind, operand)


def _udf_filter(op: str, members: dict[str, Any]) -> Test:
    """A filter on a user-defined field, by its name; the sandbox's records carry none, but the name is read."""
    wanted = str(members.get("field") or "").lower()

    def value(record: dict[str, Any]) -> Any:
        found = [u.get("value") for u in record.get("userDefinedFields") or [] if str(u.get("name")).lower() == wanted]
        return found[0] if found else None

    if op in PRESENCE:
        return lambda record: (value(record) not in (None, "")) == (op == "exist")
    operand = _operand("str", members.get("value"), wanted)
    if op in TEXT_OPERATORS:
        test = _text_test(op, "udf", operand)
        return lambda record: test({"udf": value(record)})
    if op in LISTS:
        raise QueryError("in and notIn do not apply to user-defined fields in the sandbox")
    compare = _comparison(op, "udf", "str", operand)
    return lambda record: compare({"udf": value(record)})


def _operand(kind: str, value: Any, name: str) -> Any:
    """A filter's value as the field's type, in the form `_comparable` gives the records' values."""
    if value is None:
        raise QueryError(f"{name}: a filter value is required (null is not one: use exist or notExist)")
    if kind == "bool":
        if not isinstance(value, bool):
            raise QueryError(f"{name}: {value!r} is not a boolean; write true or false")
        return value
    if kind in ("i32", "i64", "dbl"):
        return _number(kind, value, name)
    if kind == "dt":
        moment = parse_moment(value)
        if moment is None:
            raise QueryError(f"{name}: {value!r} is not a date-time")
        return moment
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise QueryError(f"{name}: {value!r} is not text")
    return str(value).casefold()


def _number(kind: str, value: Any, name: str) -> int | float:
    """A number, or the text of one (Autotask reads `"175"` as 175)."""
    number: Any = value
    if isinstance(value, str):
        try:
            number = int(value) if kind != "dbl" else float(value)
        except ValueError:
            raise QueryError(f"{name}: {value!r} is not a number") from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise QueryError(f"{name}: {value!r} is not a number")
    return number


def _comparable(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "dt":
        return parse_moment(value)
    if kind == "str":
        return str(value).casefold()
    return value


_TEXT: dict[str, Callable[[str, str], bool]] = {
    "beginswith": str.startswith,
    "endswith": str.endswith,
    "contains": lambda text, operand: operand in text,
}
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _text_test(op: str, name: str, operand: str) -> Test:
    def test(record: dict[str, Any]) -> bool:
        value = record.get(name)
        return isinstance(value, str) and _TEXT[op](value.casefold(), operand)

    return test


def _comparison(op: str, name: str, kind: str, operand: Any) -> Test:
    def test(record: dict[str, Any]) -> bool:
        value = _comparable(kind, record.get(name))
        if op == "noteq":
            return bool(value != operand)
        if value is None:
            return False  # a field without a value is neither equal to, nor above or below, anything
        if op == "eq":
            return bool(value == operand)
        if isinstance(value, datetime) != isinstance(operand, datetime):
            return False
        return bool(_ORDER[op](value, operand))

    return test


def confined_to(query: Query, field: str) -> set[int] | None:
    """The ids a top-level `eq` or `in` filter on `field` (whole numbers) confines the query to, or None. Top-level
    filters all hold, so no other record can be in the answer: a collection may build only those records."""
    found: set[int] | None = None
    for node in query.filters:
        members = {str(key).lower(): value for key, value in node.items()} if isinstance(node, dict) else {}
        if str(members.get("field", "")).lower() != field.lower() or members.get("udf"):
            continue
        op, value = str(members.get("op", "")).lower(), members.get("value")
        values: list[Any] = [value] if op == "eq" else value if op == "in" and isinstance(value, list) else []
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            continue
        found = set(values) if found is None else found & set(values)
    return found


# -- answers ------------------------------------------------------------------------------------------------------


def shown(record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return record if fields is None else {name: record.get(name) for name in fields}


def _id_cursor(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    members = {key.lower(): value for key, value in node.items()}
    named = str(members.get("field", "")).lower() == "id" and not members.get("udf")
    return named and str(members.get("op", "")).lower() == "gt" and isinstance(members.get("value"), int)


def page(records: list[dict[str, Any]], query: Query, query_url: str) -> SandboxResponse:
    """One page of the records the query keeps, ordered by id, with the URL of the next page when there is one.

    `records` are views (every field present); `query_url` is the absolute URL of the entity's `/query`."""
    selected = sorted((r for r in records if query.test(r)), key=lambda r: r["id"])
    items = selected[: query.max_records]
    following = None
    if len(selected) > len(items):
        # The cursor replaces any earlier `id gt` at the top (an earlier page's, or the client's own): every record
        # shown passed those, so a cursor at the last id shown is the stronger condition.
        kept = [node for node in query.filters if not _id_cursor(node)]
        cursor = {"op": "gt", "field": "id", "value": items[-1]["id"]}
        search: dict[str, Any] = {"filter": [*kept, cursor]}
        if query.fields is not None:
            search["includeFields"] = query.fields
        if query.raw_max is not None:
            search["maxRecords"] = query.raw_max
        following = f"{query_url}?search={quote(json.dumps(search, separators=(',', ':')), safe='')}"
    details = {"count": len(items), "requestCount": query.max_records, "prevPageUrl": None, "nextPageUrl": following}
    return ok({"items": [shown(r, query.fields) for r in items], "pageDetails": details})
