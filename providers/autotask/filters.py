"""Autotask's query filter language as small functions that return the plain dicts a query body carries.

A comparison is `{"op": "eq", "field": "companyID", "value": 42}`; a group is `{"op": "or", "items": [...]}`. The
entries of a query's top-level `filter` list must all hold (an implicit AND). A value is a string, a whole
number, an exact Decimal, a boolean (JSON true or false: Autotask refuses anything else for a boolean, null
included), a day or an aware instant (written as `wire.wire_day` and `wire.wire_moment` write them); `in` takes a
list of strings or whole numbers, at most 500 of them, so a longer list is asked in several queries
(`in_chunks`). A value that is none of these is refused (ValueError) before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from providers.autotask.wire import wire_day, wire_moment, wire_problem

Filter = dict[str, Any]

# Values in one `in` filter, and conditions in one `or` group: more are refused rather than trusted to work.
MAX_IN_VALUES = 500
MAX_OR_ITEMS = 500
COMPARISONS = frozenset({"eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains"})


def _value(field: str, value: Any) -> Any:
    if value is None:
        raise ValueError(f"filter on {field}: null is not a value Autotask compares; use exist")
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if (problem := wire_problem(value)) is not None:
            raise ValueError(f"filter on {field}: {value} {problem}")
        return value
    if isinstance(value, datetime):
        return wire_moment(value)
    if isinstance(value, date):
        return wire_day(value)
    raise ValueError(f"filter on {field}: {value!r} ({type(value).__name__}) is not a value the filter takes")


def _field(field: str) -> str:
    if not isinstance(field, str) or not field.strip():
        raise ValueError(f"a filter needs a field name, not {field!r}")
    return field


def compare(op: str, field: str, value: Any, *, udf: bool = False) -> Filter:
    """`field op value`; `udf=True` compares the user-defined field of that name."""
    if op not in COMPARISONS:
        raise ValueError(f"{op!r} is not a comparison Autotask's filters take")
    found: Filter = {"op": op, "field": _field(field), "value": _value(field, value)}
    if udf:
        found["udf"] = True
    return found


eq = partial(compare, "eq")
noteq = partial(compare, "noteq")
gt = partial(compare, "gt")
gte = partial(compare, "gte")
lt = partial(compare, "lt")
lte = partial(compare, "lte")


def exist(field: str, *, udf: bool = False) -> Filter:
    """`field` has a value; on `id`, every record (Autotask lists nothing without a filter)."""
    found: Filter = {"op": "exist", "field": _field(field)}
    if udf:
        found["udf"] = True
    return found


def everything() -> list[Filter]:
    """The filter list that lists every record of an entity: `id exist`."""
    return [exist("id")]


def _distinct(field: str, values: Iterable[int | str]) -> list[int | str]:
    found: dict[int | str, None] = {}
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"filter on {field}: {value!r} is not a value `in` takes (whole numbers or strings)")
        found.setdefault(value, None)
    return list(found)


def in_(field: str, values: Iterable[int | str]) -> Filter:
    """`field` is one of `values` (1 to 500 of them, duplicates dropped); more go through `in_chunks`."""
    distinct = _distinct(field, values)
    if not distinct:
        raise ValueError(f"filter on {field}: `in` needs at least one value")
    if len(distinct) > MAX_IN_VALUES:
        raise ValueError(f"filter on {field}: {len(distinct)} values, over {MAX_IN_VALUES}; use in_chunks")
    return {"op": "in", "field": _field(field), "value": distinct}


def in_chunks(
    field: str, values: Iterable[int | str], *, also: Sequence[Filter] = (), size: int = MAX_IN_VALUES
) -> Iterator[list[Filter]]:
    """One filter list per chunk of `values` (each `also` + `field in chunk`), nothing for no values.

    Duplicates are dropped first, so the chunks are disjoint: a record whose `field` holds one value comes from
    one chunk only, and the queries' records together are each listed once.
    """
    if not 1 <= size <= MAX_IN_VALUES:
        raise ValueError(f"an `in` chunk holds 1 to {MAX_IN_VALUES} values, not {size}")
    distinct = _distinct(field, values)
    for start in range(0, len(distinct), size):
        yield [*also, in_(field, distinct[start : start + size])]


def _group(op: str, items: Sequence[Filter]) -> Filter:
    if not items:
        raise ValueError(f"an {op!r} group needs at least one condition")
    if not all(isinstance(item, dict) and "op" in item for item in items):
        raise ValueError(f"an {op!r} group holds filters (dicts with an op)")
    return {"op": op, "items": list(items)}


def and_(*items: Filter) -> Filter:
    return _group("and", items)


def or_(*items: Filter) -> Filter:
    """Any of `items` holds (at most 500 of them)."""
    if len(items) > MAX_OR_ITEMS:
        raise ValueError(f"an 'or' group of {len(items)} conditions is over {MAX_OR_ITEMS}; split the query")
    return _group("or", items)
