"""The sandbox ConnectWise's reading of the `conditions` query language: a tiny tokenizer and a recursive descent.

The OpenAPI description leaves `conditions` a bare string; ConnectWise's developer guide describes the language:

    expression := conjunction ("or" conjunction)*
    conjunction := primary ("and" primary)*
    primary    := "(" expression ")" | comparison
    comparison := FIELD ("=" | "!=" | "<" | "<=" | ">" | ">=") VALUE
                | FIELD ["not"] ("like" | "contains") STRING
                | FIELD ["not"] "in" "(" VALUE ("," VALUE)* ")"
    VALUE      := integer | decimal | true | false | null | "double-quoted string" | [ISO date-time]
    FIELD      := a name, or a path through nested objects: company/id, type/name, _info/lastUpdated

Keywords are matched ignoring case (`AND` and `and` are the same), strings compare ignoring case as ConnectWise's
database does, and `like` takes `*` (or SQL's `%`) as its wildcard. A path that runs through a list (a contact's
`communicationItems/value`) matches when any element matches, which is what `childConditions` asks of children.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from operator import ge, gt, le, lt
from typing import Any

Condition = Callable[[Mapping[str, Any]], bool]
Literal = str | bool | int | Decimal | datetime | None

KEYWORDS = frozenset({"and", "or", "not", "in", "like", "contains", "true", "false", "null"})
TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*")
      | (?P<date>\[[^\]]*\])
      | (?P<number>-?\d+(?:\.\d+)?(?![\w/]))
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][\w/.]*)""",
    re.VERBOSE,
)


class ConditionError(ValueError):
    """A condition the sandbox cannot read; the message says what was expected and where."""


Token = tuple[str, str, int]  # kind, text, position in the condition


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        found = TOKEN.match(text, position)
        if found is None or found.lastgroup is None:
            what = "an unterminated string" if text[position] == '"' else repr(text[position])
            raise ConditionError(f"unexpected {what} at position {position}")
        kind = found.lastgroup
        if kind == "word" and found.group().lower() in KEYWORDS:
            kind = "keyword"
        tokens.append((kind, found.group(), position))
        position = found.end()
    return tokens


def parse(text: str) -> Condition:
    """The condition `text` states, as a test of one record (a JSON object as the API shows it)."""
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.length = len(text)

    def parse(self) -> Condition:
        if not self.tokens:
            raise ConditionError("the condition is empty")
        condition = self.expression()
        if self.index < len(self.tokens):
            _, text, position = self.tokens[self.index]
            raise ConditionError(f"unexpected {text!r} at position {position}; expected 'and', 'or' or the end")
        return condition

    # -- the token stream -----------------------------------------------------------------------------------------

    def peek_keyword(self, *words: str) -> bool:
        if self.index >= len(self.tokens):
            return False
        kind, text, _ = self.tokens[self.index]
        return kind == "keyword" and text.lower() in words

    def take(self, expected: str) -> Token:
        if self.index >= len(self.tokens):
            raise ConditionError(f"expected {expected} at the end of the condition (position {self.length})")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, token: Token, expected: str) -> ConditionError:
        return ConditionError(f"expected {expected} at position {token[2]}, found {token[1]!r}")

    # -- the grammar ----------------------------------------------------------------------------------------------

    def expression(self) -> Condition:
        parts = [self.conjunction()]
        while self.peek_keyword("or"):
            self.index += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda record: any(part(record) for part in parts)

    def conjunction(self) -> Condition:
        parts = [self.primary()]
        while self.peek_keyword("and"):
            self.index += 1
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else lambda record: all(part(record) for part in parts)

    def primary(self) -> Condition:
        token = self.take("a field name or '('")
        if token[1] == "(":
            inner = self.expression()
            closing = self.take("')'")
            if closing[1] != ")":
                raise self.fail(closing, "')'")
            return inner
        if token[0] != "word":
            raise self.fail(token, "a field name or '('")
        return self.comparison(token[1])

    def comparison(self, field: str) -> Condition:
        path = field.split("/")
        token = self.take(f"an operator after {field!r}")
        if token[0] == "op":
            return _compare(path, token[1], self.value())
        negate = token[0] == "keyword" and token[1].lower() == "not"
        if negate:
            token = self.take("'in', 'like' or 'contains' after 'not'")
        word = token[1].lower() if token[0] == "keyword" else ""
        if word == "in":
            test = _member(path, self.value_list())
        elif word in ("like", "contains"):
            value = self.value()
            if not isinstance(value, str):
                raise ConditionError(f"{word} needs a quoted string (after {field!r})")
            test = _like(path, value) if word == "like" else _contains(path, value)
        else:
            raise self.fail(token, "an operator (=, !=, <, <=, >, >=, like, contains, in, not in)")
        return (lambda record: not test(record)) if negate else test

    def value(self) -> Literal:
        token = self.take("a value")
        kind, text, position = token
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return int(text) if text.lstrip("-").isdigit() else Decimal(text)
        if kind == "date":
            moment = _moment(text[1:-1].strip())
            if moment is None:
                raise ConditionError(f"{text} at position {position} is not an ISO date-time")
            return moment
        if kind == "keyword" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise self.fail(token, 'a value (number, true, false, null, "string" or [date-time])')

    def value_list(self) -> list[Literal]:
        opening = self.take("'(' after 'in'")
        if opening[1] != "(":
            raise self.fail(opening, "'(' after 'in'")
        values = [self.value()]
        while True:
            token = self.take("',' or ')'")
            if token[1] == ")":
                return values
            if token[1] != ",":
                raise self.fail(token, "',' or ')'")
            values.append(self.value())


# -- evaluation ---------------------------------------------------------------------------------------------------


def _values(record: Any, path: list[str]) -> list[Any]:
    """What a path reaches in a record: one value, or one per element where the path runs through a list."""
    if not path:
        return [record]
    if isinstance(record, list):
        return [value for item in record for value in _values(item, path)] or [None]
    if not isinstance(record, Mapping):
        return [None]
    return _values(record.get(path[0]), path[1:])


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _comparable(actual: Any, expected: Literal) -> tuple[Any, Any] | None:
    """The record's value and the condition's, as two values of one comparable kind; None when they are not."""
    if actual is None or expected is None:
        return None
    if isinstance(expected, bool):
        return (actual, expected) if isinstance(actual, bool) else None
    if isinstance(expected, int | Decimal):
        number = _number(actual)
        return (number, Decimal(expected)) if number is not None else None
    if isinstance(expected, datetime):
        moment = _moment(actual) if isinstance(actual, str) else None
        return (moment, expected) if moment is not None else None
    if isinstance(actual, bool):
        return None
    return str(actual).casefold(), expected.casefold()


def _equal(actual: Any, expected: Literal) -> bool:
    if expected is None:
        return actual is None
    pair = _comparable(actual, expected)
    return pair is not None and pair[0] == pair[1]


ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {"<": lt, "<=": le, ">": gt, ">=": ge}


def _ordered(actual: Any, operator: str, expected: Literal) -> bool:
    pair = _comparable(actual, expected)
    if pair is None or isinstance(expected, bool):
        return False  # true and false have no order; neither has null
    return ORDERINGS[operator](*pair)


def _compare(path: list[str], operator: str, expected: Literal) -> Condition:
    if operator == "=":
        return lambda record: any(_equal(v, expected) for v in _values(record, path))
    if operator == "!=":
        return lambda record: not any(_equal(v, expected) for v in _values(record, path))
    return lambda record: any(_ordered(v, operator, expected) for v in _values(record, path))


def _member(path: list[str], expected: list[Literal]) -> Condition:
    return lambda record: any(_equal(v, e) for v in _values(record, path) for e in expected)


def _like(path: list[str], pattern: str) -> Condition:
    parts = re.split(r"[*%]", pattern.casefold())
    compiled = re.compile(".*".join(re.escape(part) for part in parts), re.DOTALL)
    return lambda record: any(
        isinstance(v, str) and compiled.fullmatch(v.casefold()) is not None for v in _values(record, path)
    )


def _contains(path: list[str], text: str) -> Condition:
    wanted = text.casefold()
    return lambda record: any(isinstance(v, str) and wanted in v.casefold() for v in _values(record, path))
