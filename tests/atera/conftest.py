"""Fixtures for the Atera tests: a fake clock, the sandbox, clients built on it, and the OpenAPI contract checker."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import SecretStr

from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from providers.atera.client import AteraClient, build_atera_client
from providers.atera.sandbox import DEFAULT_API_KEY, AteraSandbox
from providers.atera.settings import AteraSettings

from ..conftest import FakeClock, write_vendor_config
from .openapi_subset import SUBSET_PATH

SPEC_ENV = "ATERA_OPENAPI"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def http_settings() -> HttpSettings:
    return HttpSettings(max_attempts=4, backoff_initial_seconds=1.0, timeout_seconds=5, connect_timeout_seconds=2)


@pytest.fixture
def sandbox() -> Iterator[AteraSandbox]:
    with AteraSandbox() as server:
        assert isinstance(server, AteraSandbox)
        yield server


def atera_settings(base_url: str, api_key: str = DEFAULT_API_KEY, **overrides: Any) -> AteraSettings:
    return AteraSettings(enabled=True, base_url=base_url, api_key=SecretRef(value=SecretStr(api_key)), **overrides)


@pytest.fixture
def settings_for() -> Callable[..., AteraSettings]:
    """Settings pointing at a sandbox URL: `settings_for(url, api_key=..., max_requests=...)`."""
    return atera_settings


@pytest.fixture
def make_client(sandbox: AteraSandbox, http_settings: HttpSettings, clock: FakeClock) -> Callable[..., AteraClient]:
    def make(api_key: str = DEFAULT_API_KEY, **overrides: Any) -> AteraClient:
        settings = atera_settings(sandbox.api_url, api_key, **overrides)
        return build_atera_client(settings, http_settings, sleep=clock.sleep, clock=clock)

    return make


@pytest.fixture
def client(make_client: Callable[..., AteraClient]) -> Iterator[AteraClient]:
    made = make_client()
    yield made
    made.close()


CONFIG_KEY_ENV = "ATERA_TEST_API_KEY"


@pytest.fixture
def write_config(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Writes a connector.toml for a sandbox, its key in an environment variable as operators are told to."""

    def write(directory: Path, base_url: str, api_key: str, *, enabled: bool = True) -> Path:
        monkeypatch.setenv(CONFIG_KEY_ENV, api_key)
        return write_vendor_config(
            directory,
            f"""
[atera]
enabled = {"true" if enabled else "false"}
base_url = "{base_url}"
api_key = {{ env = "{CONFIG_KEY_ENV}" }}
max_requests = 1000
window_seconds = 1
""",
        )

    return write


# -- the OpenAPI description as a contract ---------------------------------------------------------------------


def _nullable_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 says `nullable: true`; JSON Schema says `type: [..., "null"]`."""
    if isinstance(node, list):
        return [_nullable_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _nullable_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        if "$ref" in converted:
            converted = {"anyOf": [{"$ref": converted.pop("$ref")}, {"type": "null"}], **converted}
    return converted


class OpenApi:
    """Validates sandbox answers and client requests against Atera's published OpenAPI description."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = _nullable_to_jsonschema(copy.deepcopy(spec["components"]))
        self._templates = sorted(spec["paths"], key=lambda p: p.count("{"))

    def template(self, path: str) -> str:
        for template in self._templates:
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path):
                return template
        raise AssertionError(f"{path} is not in Atera's OpenAPI description")

    def operation(self, path: str, method: str) -> dict[str, Any]:
        operation: dict[str, Any] | None = self.spec["paths"][self.template(path)].get(method.lower())
        assert operation is not None, f"{method} {path} is not an operation in the OpenAPI description"
        return operation

    def _validate(self, schema: dict[str, Any], instance: Any) -> None:
        document = {"components": self.components, **_nullable_to_jsonschema(schema)}
        jsonschema.Draft202012Validator(document).validate(instance)

    def check_response(self, path: str, method: str, status: int, body: Any) -> None:
        responses = self.operation(path, method)["responses"]
        assert str(status) in responses, f"{method} {path}: status {status} is not documented"
        content = responses[str(status)].get("content")
        if content is not None and body is not None:
            self._validate(content["application/json"]["schema"], body)

    def check_request(self, path: str, method: str, query: dict[str, list[str]], body: bytes) -> None:
        operation = self.operation(path, method)
        declared = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "query"}
        unknown = {name for name in query if name.lower() not in declared}
        assert not unknown, f"{method} {path}: undeclared query parameters {unknown}"
        if "itemsInPage" in query:
            assert int(query["itemsInPage"][0]) <= 50
        if body:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            self._validate(schema, json.loads(body))


def published_spec_path() -> Path:
    """Where Atera's published OpenAPI description is: `$ATERA_OPENAPI`, else beside the checkout."""
    configured = os.environ.get(SPEC_ENV)
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "specs" / "atera-openapi-v3.json"


@pytest.fixture(scope="session")
def openapi() -> OpenApi:
    """The published description when it is there, else the part of it kept in the repository (`openapi_subset`)."""
    path = published_spec_path()
    return OpenApi(json.loads((path if path.is_file() else SUBSET_PATH).read_text(encoding="utf-8")))
