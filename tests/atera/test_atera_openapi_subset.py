"""The part of Atera's OpenAPI description kept in the repository is what `openapi_subset` takes from the published
one, and the contract tests need nothing outside it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import published_spec_path
from .openapi_subset import SUBSET_PATH, USED_PATHS, render, subset


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    path = published_spec_path()
    if not path.is_file():
        pytest.skip(f"Atera's published OpenAPI description is not at {path} (set ATERA_OPENAPI): nothing to compare")
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


def test_the_kept_subset_is_what_the_published_description_gives(published: dict[str, Any]) -> None:
    assert SUBSET_PATH.read_text(encoding="utf-8") == render(published), (
        "regenerate it: .venv/bin/python -m tests.atera.openapi_subset PATH_TO_ATERA_OPENAPI_JSON"
    )


def test_the_subset_keeps_fields_named_like_prose_and_drops_the_prose() -> None:
    spec = {
        "openapi": "3.0.1",
        "paths": {
            path: {"get": {"summary": "List", "responses": {"200": {"description": "OK"}}}} for path in USED_PATHS
        },
        "components": {
            "schemas": {
                "Used": {"description": "Prose", "properties": {"title": {"type": "string", "example": "x"}}},
                "Unused": {"type": "object"},
            }
        },
    }
    spec["paths"]["/api/v3/contracts"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"$ref": "#/components/schemas/Used"}}
    }
    kept = subset(spec)
    assert kept["components"]["schemas"] == {"Used": {"properties": {"title": {"type": "string"}}}}
    assert kept["paths"]["/api/v3/agents"] == {"get": {"responses": {"200": {}}}}


def test_a_path_the_connector_uses_must_be_in_the_description() -> None:
    with pytest.raises(ValueError, match="/api/v3/agents"):
        subset({"openapi": "3.0.1", "paths": {}, "components": {"schemas": {}}})
