"""The part of Atera's OpenAPI description the contract tests check against, kept in the repository.

The published description (`../shared/specs/atera-openapi-v3.json` beside a checkout, or `$ATERA_OPENAPI`) is not
part of the repository, and without it the contract tests had nothing to check against. `subset` keeps what they
need from it: the operations the connector and the sandbox use, the schemas those reference, and no prose (no
descriptions, summaries or examples: the shape of the API, not its documentation). The tests use the full description
when it is there, else `atera-openapi-subset.json`; `test_atera_openapi_subset.py` checks that the file is what
`subset` gives for the published description. Regenerate it after the connector uses another endpoint:

    .venv/bin/python -m tests.atera.openapi_subset ../shared/specs/atera-openapi-v3.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SUBSET_PATH = Path(__file__).with_name("atera-openapi-subset.json")
# Every endpoint the Atera client, sink, onboarding and sandbox call (the tests fail on a path outside this list).
USED_PATHS = (
    "/api/v3/agents",
    "/api/v3/agents/customer/{customerId}",
    "/api/v3/billing/invoice/{invoiceNumber}",
    "/api/v3/billing/invoices",
    "/api/v3/contacts",
    "/api/v3/contracts",
    "/api/v3/contracts/customer/{customerId}",
    "/api/v3/contracts/{contractId}",
    "/api/v3/customers",
    "/api/v3/customers/{customerId}",
    "/api/v3/customvalues/contractfield/{contractId}/{fieldName}",
    "/api/v3/rates/expenses",
    "/api/v3/rates/products",
    "/api/v3/rates/products/{productId}",
)
PROSE = frozenset({"description", "summary", "example", "examples", "title", "externalDocs", "tags", "operationId"})
SCHEMA_REF = "#/components/schemas/"


def _without_prose(node: Any, *, names: bool = False) -> Any:
    """A node without its prose; `names`: the node maps field names (`properties`), which are kept whatever they
    are (a field may be called `description`)."""
    if isinstance(node, dict):
        return {
            key: _without_prose(value, names=key == "properties" and not names)
            for key, value in node.items()
            if names or key not in PROSE
        }
    if isinstance(node, list):
        return [_without_prose(value) for value in node]
    return node


def _refs(node: Any) -> set[str]:
    """The schema names a node refers to, directly."""
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(SCHEMA_REF)} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def subset(spec: dict[str, Any]) -> dict[str, Any]:
    """The used operations of a published description and the schemas they reach, without prose."""
    missing = [path for path in USED_PATHS if path not in spec["paths"]]
    if missing:
        raise ValueError(f"not in the OpenAPI description: {', '.join(missing)}")
    paths = {path: spec["paths"][path] for path in USED_PATHS}
    schemas = spec["components"]["schemas"]
    wanted, pending = set(), _refs(paths)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending |= _refs(schemas[name])
    return _without_prose(
        {
            "openapi": spec["openapi"],
            "paths": paths,
            "components": {"schemas": {name: schemas[name] for name in sorted(wanted)}},
        }
    )


def render(spec: dict[str, Any]) -> str:
    """The subset as the repository keeps it (stable order, one line per leaf, so a change reads as a diff)."""
    return json.dumps(subset(spec), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    SUBSET_PATH.write_text(render(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))), encoding="utf-8")
    print(f"wrote {SUBSET_PATH}")
