"""ConnectWise's OpenAPI subset as a contract: every request a test sends and every answer it gets is checked.

The subset (25 operations, 66 schemas) is kept beside this file, `connectwise-openapi-subset.json`, because the
shared copy (`../shared/specs/` beside a checkout) is not there in CI; a test checks the two are identical when
the shared one is there. The checker is stricter than OpenAPI's defaults, on purpose:

- An operation is a method on a path template of the description; any other request fails (the first template
  that matches a path decides, literal segments before `{id}`, as a router would).
- Path and query parameters must be declared by the operation (names matched exactly) and fit their schemas.
- A body is sent only where the operation declares one, as `application/json`, and it must fit that schema.
- A success answer must be a documented status, in the declared media type, and fit the declared schema. The
  description declares no error answers, so an error answer must be its one error shape, `ErrorResponseMessage`.
- Objects are read closed: a field the description does not name fails (OpenAPI allows extra fields by default,
  which would let a misspelt field through unnoticed).
- `nullable: true` becomes JSON Schema's null type. A bare `type: object` (how the generator wrote .NET's
  `object`: `PatchOperation.value`, `CustomFieldValue.value`) takes any JSON value, since a quantity or a text must.
- Formats are checked: `date-time` (RFC 3339, with a zone), `int32` (its range) and `uuid`.
- An answer to a request that names `fields` is a projection: it is checked without the schemas' `required` lists
  (ConnectWise leaves out what was not asked for, required or not), every other rule still holding.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema

SUBSET_PATH = Path(__file__).with_name("connectwise-openapi-subset.json")
SHARED_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "connectwise-psa-openapi-subset.json"
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponseMessage"}
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")

FORMATS = jsonschema.FormatChecker()


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return DATE_TIME.fullmatch(value) is not None and bool(datetime.fromisoformat(value))


def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


FORMATS.checks("date-time", raises=ValueError)(_date_time)
FORMATS.checks("int32")(_int32)


class ContractViolation(AssertionError):
    """A request or an answer the description does not allow."""


def _bare_object(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" and not set(node) - {"type", "description"}


def as_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as the JSON Schema this checker validates with (see the module's notes)."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if _bare_object(node):
        return {}
    converted = {
        key: ({k: as_json_schema(v) for k, v in value.items()} if key == "properties" else as_json_schema(value))
        for key, value in node.items()
        if key != "nullable"
    }
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    return converted


def _without_required(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_required(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: ({k: _without_required(v) for k, v in value.items()} if key == "properties" else _without_required(value))
        for key, value in node.items()
        if key != "required"
    }


def _media(value: str) -> str:
    return value.replace(" ", "").lower()


class OpenApiContract:
    """The description's operations, with checks of concrete requests and answers against them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.base_path = urlsplit(spec["servers"][0]["url"]).path
        self.components = as_json_schema(copy.deepcopy(spec["components"]))
        self.projected_components = _without_required(self.components)
        self.templates = sorted(spec["paths"], key=lambda template: (template.count("{"), template))

    @classmethod
    def load(cls, path: Path = SUBSET_PATH) -> OpenApiContract:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def operations(self) -> list[tuple[str, str]]:
        """Every (METHOD, template) the description has."""
        return [(m.upper(), t) for t, item in self.spec["paths"].items() for m in item if m != "parameters"]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The template a concrete path matches, its path parameters, and the operation; or a violation."""
        if not path.startswith(self.base_path + "/"):
            raise ContractViolation(f"{path} is not under the server's base path {self.base_path}")
        relative = path[len(self.base_path) :]
        for template in self.templates:
            pattern = "^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            found = re.match(pattern, relative)
            if found is None:
                continue
            operation: dict[str, Any] | None = self.spec["paths"][template].get(method.lower())
            if operation is None:
                raise ContractViolation(f"{method} {template} is not an operation in the description")
            return template, found.groupdict(), operation
        raise ContractViolation(f"{relative} matches no path in the description")

    def validate(self, schema: dict[str, Any], instance: Any, what: str, *, projected: bool = False) -> None:
        components = self.projected_components if projected else self.components
        document = {"components": components, **as_json_schema(schema)}
        try:
            jsonschema.Draft202012Validator(document, format_checker=FORMATS).validate(instance)
        except jsonschema.ValidationError as why:
            where = "/".join(str(part) for part in why.absolute_path) or "(the whole body)"
            raise ContractViolation(f"{what}: at {where}: {why.message}") from None

    # -- requests ---------------------------------------------------------------------------------------------------

    def check_request(self, request: httpx.Request) -> None:
        template, path_values, operation = self.operation(request.method, request.url.path)
        what = f"{request.method} {template}"
        declared = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
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
        self._check_body(operation, request, what)

    def _check_parameter(self, parameter: dict[str, Any], text: str, what: str) -> None:
        schema = parameter["schema"]
        value: Any = text
        if schema.get("type") == "integer":
            if not re.fullmatch(r"-?\d+", text):
                raise ContractViolation(f"{what}: {text!r} is not an integer")
            value = int(text)
        self.validate(schema, value, what)

    def _check_body(self, operation: dict[str, Any], request: httpx.Request, what: str) -> None:
        declared = operation.get("requestBody")
        if not request.content:
            if declared is not None and declared.get("required"):
                raise ContractViolation(f"{what}: the request body is required")
            return
        if declared is None:
            raise ContractViolation(f"{what}: takes no request body")
        media = _media(request.headers.get("content-type", "").split(";")[0])
        if media not in declared["content"]:
            raise ContractViolation(f"{what}: a body of type {media!r}, not one of {sorted(declared['content'])}")
        try:
            body = json.loads(request.content)
        except ValueError:
            raise ContractViolation(f"{what}: the request body is not JSON") from None
        self.validate(declared["content"][media]["schema"], body, f"{what} request body")

    # -- answers ------------------------------------------------------------------------------------------------------

    def check_response(self, response: httpx.Response) -> None:
        request = response.request
        status = str(response.status_code)
        try:
            template, _, operation = self.operation(request.method, request.url.path)
            documented = operation["responses"].get(status)
        except ContractViolation:
            template, documented = request.url.path, None
        what = f"{request.method} {template} answered {status}"
        if documented is not None:
            self._check_documented(documented, response, what)
        elif response.status_code >= 400:
            if _media(response.headers.get("content-type", "")).split(";")[0] != "application/json":
                raise ContractViolation(f"{what}: an error answer should be JSON")
            self.validate(ERROR_SCHEMA, response.json(), what)
        else:
            raise ContractViolation(f"{what}: the status is not documented for this operation")

    def _check_documented(self, documented: dict[str, Any], response: httpx.Response, what: str) -> None:
        content = documented.get("content")
        if not content:
            if response.content:
                raise ContractViolation(f"{what}: documented without a body, but one came")
            return
        media = {_media(name): name for name in content}
        given = _media(response.headers.get("content-type", ""))
        if given not in media:
            raise ContractViolation(f"{what}: media type {given!r}, not the declared {sorted(content)}")
        projected = "fields" in response.request.url.params
        self.validate(content[media[given]]["schema"], response.json(), what, projected=projected)

    def check(self, response: httpx.Response) -> None:
        """The request that was sent, and the answer to it."""
        self.check_request(response.request)
        self.check_response(response)
