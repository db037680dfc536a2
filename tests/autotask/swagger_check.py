"""Autotask's Swagger 2.0 subset as a contract: every request a test sends and every answer it gets is checked.

The subset (27 paths, 37 operations) is kept beside this file, `autotask-swagger-subset.json`, because the shared
copy (`../shared/specs/` beside a checkout) is not there in CI; a test checks the two are identical when the
shared one is there. The checker reads the document strictly, with a few relaxations where the 2.0 document
cannot say what the live API does; each is deliberate:

- An operation is a method on a path template under `basePath`; any other request fails (the first template that
  matches decides, literal segments before `{id}`, as a router would).
- Parameters are checked by where they go. Header names match ignoring case (HTTP's are), and the required ones
  (`ApiIntegrationCode`, `UserName`, `Secret`) must be sent; headers the operation does not name are HTTP's own
  and pass. Query and path parameters must be declared (names exactly), given once, and fit their types. The
  `search` text of a GET query must also be JSON fitting `QueryModel`, as the POST form's body must.
- A body is sent only where an operation declares a `body` parameter, as one of its `consumes` types, and must
  fit that schema; where one is declared required it must be sent.
- Objects are read closed: a field the definitions do not name fails (Swagger allows extra fields by default,
  which would let a misspelt one through). Names are matched exactly as the definitions spell them, camelCase:
  Autotask itself reads names ignoring case, but the clients we write send the models' own spelling, so a
  PascalCase name here is a client's slip to catch.
- `readOnly` fields (`soapParentPropertyId`, the information models' fields) must not be sent in a request.
- Every property may be null, in requests and answers: Autotask answers every field of a model, null when unset,
  and the 2.0 document has no way to say so (no `nullable`).
- A bare `type: object` with no properties (the `Object` definition behind `itemId` and
  `isSupportedWebhookField`, and `Filter.value`, "an Integer, String, Boolean, an Array of Integers, or an Array
  of Strings") takes any JSON value.
- Formats are checked: `int32` and `int64` by range, `date-time` as `YYYY-MM-DDThh:mm:ss`, optional fractions,
  and an optional zone. Autotask writes date-times in UTC without a zone designator (spec notes section 12),
  which RFC 3339 would refuse; so a zone-less form is accepted, in answers and in requests.
- An answer's status must be declared for the operation, in one of its `produces` types, and fit the declared
  schema. The document declares no error bodies (401 and 403 carry none), so an error answer (a declared 401 or
  403, or any other 4xx/5xx, such as the 404 of an undeclared path or the 500 Autotask sends when it cannot
  carry out a request) must be empty or Autotask's error shape, `{"errors": ["..."]}`.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema

SUBSET_PATH = Path(__file__).with_name("autotask-swagger-subset.json")
SHARED_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "autotask-psa-swagger-subset.json"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"errors": {"type": "array", "items": {"type": "string"}}},
    "required": ["errors"],
    "additionalProperties": False,
}
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?")
RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}

FORMATS = jsonschema.FormatChecker()


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if DATE_TIME.fullmatch(value) is None:
        return False
    # Python reads at most six fractional digits; Autotask may write seven.
    trimmed = re.sub(r"(\.\d{6})\d", r"\1", value)
    return bool(datetime.fromisoformat(trimmed.replace("Z", "+00:00")))


def _in_range(name: str) -> Any:
    low, high = RANGES[name]
    return lambda value: not isinstance(value, int) or isinstance(value, bool) or low <= value <= high


FORMATS.checks("date-time", raises=ValueError)(_date_time)
FORMATS.checks("int32")(_in_range("int32"))
FORMATS.checks("int64")(_in_range("int64"))


class ContractViolation(AssertionError):
    """A request or an answer the document does not allow."""


def _any_value(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" and not node.get("properties") and "items" not in node


def as_json_schema(node: Any, *, request: bool) -> Any:
    """A Swagger 2.0 schema as the JSON Schema (draft 4) this checker validates with (see the module's notes).
    `request` refuses read-only properties, which a request must not send."""
    if isinstance(node, list):
        return [as_json_schema(item, request=request) for item in node]
    if not isinstance(node, dict):
        return node
    if _any_value(node):
        return {}
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("readOnly", "example", "description"):
            continue
        if key == "properties":
            converted[key] = {
                name: {"not": {}}
                if request and schema.get("readOnly")
                else _nullable(as_json_schema(schema, request=request))
                for name, schema in value.items()
            }
        else:
            converted[key] = as_json_schema(value, request=request)
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    return converted


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if not schema:
        return schema
    if "$ref" in schema:  # draft 4 ignores a reference's siblings: null has to be an alternative
        return {"anyOf": [schema, {"type": "null"}]}
    nullable = dict(schema)
    if "type" in nullable:
        nullable["type"] = [nullable["type"], "null"]
    if "enum" in nullable:
        nullable["enum"] = [*nullable["enum"], None]
    return nullable


def _cause(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The error under an `anyOf` of a reference or null that says what is wrong (not that it is not null)."""
    while error.context:
        causes = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if not causes:
            break
        error = jsonschema.exceptions.best_match(causes) or causes[0]
    return error


def _media(value: str) -> str:
    return value.split(";")[0].replace(" ", "").lower()


class SwaggerContract:
    """The document's operations, with checks of concrete requests and answers against them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.base_path: str = spec["basePath"]
        self.request_definitions = as_json_schema(copy.deepcopy(spec["definitions"]), request=True)
        self.answer_definitions = as_json_schema(copy.deepcopy(spec["definitions"]), request=False)
        # Literal segments win over `{id}`: templates with fewer parameters are tried first.
        self.templates = sorted(spec["paths"], key=lambda template: (template.count("{"), template))

    @classmethod
    def load(cls, path: Path = SUBSET_PATH) -> SwaggerContract:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def operations(self) -> list[tuple[str, str]]:
        """Every (METHOD, template) the document has."""
        return [(m.upper(), t) for t, item in self.spec["paths"].items() for m in item if m != "parameters"]

    def operation(
        self, method: str, path: str, *, ignore_case: bool = False
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The template a concrete path matches, its path parameters, and the operation; or a violation. Requests
        must spell paths as the document does; an answer is matched `ignore_case`, as Autotask routes, so the
        answer to a request sent in another case is still checked."""
        flags = re.IGNORECASE if ignore_case else 0
        if not re.match(re.escape(self.base_path + "/"), path, flags):
            raise ContractViolation(f"{path} is not under the base path {self.base_path}")
        relative = path[len(self.base_path) :]
        for template in self.templates:
            pattern = "^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            found = re.match(pattern, relative, flags)
            if found is None:
                continue
            operation: dict[str, Any] | None = self.spec["paths"][template].get(method.lower())
            if operation is None:
                raise ContractViolation(f"{method} {template} is not an operation in the document")
            return template, found.groupdict(), operation
        raise ContractViolation(f"{relative} matches no path in the document")

    def validate(self, schema: dict[str, Any], instance: Any, what: str, *, request: bool) -> None:
        definitions = self.request_definitions if request else self.answer_definitions
        document = {"definitions": definitions, **as_json_schema(schema, request=request)}
        try:
            jsonschema.Draft4Validator(document, format_checker=FORMATS).validate(instance)
        except jsonschema.ValidationError as error:
            why = _cause(error)
            where = "/".join(str(part) for part in why.absolute_path) or "(the whole body)"
            raise ContractViolation(f"{what}: at {where}: {why.message}") from None

    # -- requests ---------------------------------------------------------------------------------------------------

    def check_request(self, request: httpx.Request) -> None:
        template, path_values, operation = self.operation(request.method, request.url.path)
        what = f"{request.method} {template}"
        parameters = operation.get("parameters", [])
        declared = {(p["in"], p["name"]): p for p in parameters if p["in"] in ("path", "query")}
        for name, value in path_values.items():
            self._check_parameter(declared[("path", name)], value, f"{what} path parameter {name}")
        for name in request.url.params:
            parameter = declared.get(("query", name))
            if parameter is None:
                raise ContractViolation(f"{what}: query parameter {name!r} is not declared")
            values = request.url.params.get_list(name)
            if len(values) != 1:
                raise ContractViolation(f"{what}: query parameter {name!r} given {len(values)} times")
            self._check_parameter(parameter, values[0], f"{what} query parameter {name}")
        for parameter in parameters:
            if parameter["in"] == "query" and parameter.get("required") and parameter["name"] not in request.url.params:
                raise ContractViolation(f"{what}: query parameter {parameter['name']!r} is required")
            if parameter["in"] == "header" and parameter.get("required") and parameter["name"] not in request.headers:
                raise ContractViolation(f"{what}: header {parameter['name']!r} is required")
        if template.endswith("/query") and "search" in request.url.params:
            self._check_search(request.url.params["search"], what)
        self._check_body(operation, request, what)

    def _check_parameter(self, parameter: dict[str, Any], text: str, what: str) -> None:
        value: Any = text
        if parameter.get("type") == "integer":
            if not re.fullmatch(r"-?\d+", text):
                raise ContractViolation(f"{what}: {text!r} is not an integer")
            value = int(text)
        schema = {k: v for k, v in parameter.items() if k in ("type", "format", "enum")}
        self.validate(schema, value, what, request=True)

    def _check_search(self, text: str, what: str) -> None:
        try:
            model = json.loads(text)
        except ValueError:
            raise ContractViolation(f"{what}: the search parameter is not JSON") from None
        self.validate({"$ref": "#/definitions/QueryModel"}, model, f"{what} search", request=True)

    def _check_body(self, operation: dict[str, Any], request: httpx.Request, what: str) -> None:
        declared = next((p for p in operation.get("parameters", []) if p["in"] == "body"), None)
        if not request.content:
            if declared is not None and declared.get("required"):
                raise ContractViolation(f"{what}: the request body is required")
            return
        if declared is None:
            raise ContractViolation(f"{what}: takes no request body")
        media = _media(request.headers.get("content-type", ""))
        accepted = [_media(m) for m in operation.get("consumes", [])]
        if media not in accepted:
            raise ContractViolation(f"{what}: a body of type {media!r}, not one of {accepted}")
        try:
            body = json.loads(request.content)
        except ValueError:
            raise ContractViolation(f"{what}: the request body is not JSON") from None
        self.validate(declared["schema"], body, f"{what} request body", request=True)

    # -- answers ------------------------------------------------------------------------------------------------------

    def check_response(self, response: httpx.Response) -> None:
        request = response.request
        status = str(response.status_code)
        try:
            template, _, operation = self.operation(request.method, request.url.path, ignore_case=True)
            documented = operation["responses"].get(status)
        except ContractViolation:
            template, operation, documented = request.url.path, {}, None
        what = f"{request.method} {template} answered {status}"
        if response.status_code >= 400:
            self._check_error(response, what)
        elif documented is None:
            raise ContractViolation(f"{what}: the status is not documented for this operation")
        elif "schema" not in documented:
            if response.content:
                raise ContractViolation(f"{what}: documented without a body, but one came")
        else:
            given = _media(response.headers.get("content-type", ""))
            produces = [_media(m) for m in operation.get("produces", [])]
            if given not in produces:
                raise ContractViolation(f"{what}: media type {given!r}, not one of {produces}")
            self.validate(documented["schema"], response.json(), what, request=False)

    def _check_error(self, response: httpx.Response, what: str) -> None:
        if not response.content:
            return
        if _media(response.headers.get("content-type", "")) != "application/json":
            raise ContractViolation(f"{what}: an error answer with a body should be JSON")
        try:
            jsonschema.Draft4Validator(ERROR_SCHEMA).validate(response.json())
        except jsonschema.ValidationError as why:
            raise ContractViolation(f"{what}: not Autotask's error shape: {why.message}") from None

    def check(self, response: httpx.Response) -> None:
        """The request that was sent, and the answer to it."""
        self.check_request(response.request)
        self.check_response(response)
