"""The `conditions` ConnectWise lists are filtered by, written from values so no text can change their meaning.

ConnectWise's developer guide gives the language: `field = value`, `field in (a, b)`, joined by `and` / `or`;
strings in double quotes (a quote or a backslash inside escaped with a backslash), numbers and `true` / `false` /
`null` bare, date-times in square brackets (`[2026-11-01T00:00:00Z]`). A field is a name or a path through a
reference (`company/id`). The description itself leaves `conditions` a bare string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

from providers.connectwise.dates import wire_moment

# A condition's text before URL encoding, at most: an `in (...)` list is split into several requests past it, so
# the URL stays well under the 2,048 characters a front end may refuse.
MAX_CONDITION_LENGTH = 1000
_FIELD = re.compile(r"^[A-Za-z_]\w*(/[A-Za-z_]\w*)*$")

Value = str | int | Decimal | bool | datetime | None


def quoted(text: str) -> str:
    """A string literal: double-quoted, its backslashes and double quotes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: Value) -> str:
    """Any value as the language writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a number a condition can hold")
        return format(value, "f")
    if isinstance(value, datetime):
        return f"[{wire_moment(value)}]"
    return quoted(value)


def field(name: str) -> str:
    """A field name or path, refused unless it is one: it is written into the condition as it is."""
    if not _FIELD.match(name):
        raise ValueError(f"{name!r} is not a ConnectWise field name or path")
    return name


def compare(name: str, operator: str, value: Value) -> str:
    """`name <operator> value`, e.g. `date >= [2026-11-01T00:00:00Z]`."""
    if operator not in ("=", "!=", "<", "<=", ">", ">="):
        raise ValueError(f"{operator!r} is not a comparison")
    return f"{field(name)} {operator} {literal(value)}"


def equals(name: str, value: Value) -> str:
    return compare(name, "=", value)


def both(*conditions: str) -> str:
    """Every condition holds; each is put in parentheses, so an `or` inside one stays inside it."""
    return " and ".join(f"({c})" for c in conditions)


def one_of(name: str, values: Iterable[Value], *, limit: int = MAX_CONDITION_LENGTH) -> Iterator[str]:
    """`name in (...)` for the values, as few conditions as keep each within `limit` characters (none for none).

    Values come in the order given, each once."""
    head = f"{field(name)} in ("
    written: list[str] = []
    for text in dict.fromkeys(literal(v) for v in values):
        if len(head) + len(text) + 1 > limit:
            raise ValueError(f"a value of {name} is too long for one condition: {text[:40]}...")
        if written and len(head) + sum(len(w) + 1 for w in written) + len(text) + 1 > limit:
            yield head + ",".join(written) + ")"
            written = []
        written.append(text)
    if written:
        yield head + ",".join(written) + ")"
