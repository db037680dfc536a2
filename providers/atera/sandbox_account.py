"""The sandbox Atera's account: what its data file holds, as the sandbox's request handlers read and change it.

Only data lives here; `providers.atera.sandbox` serves it over HTTP (and holds the lock around every change).
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any


def default_data() -> dict[str, Any]:
    """The data file shipped with the connector (the demo's Atera account)."""
    text = resources.files("providers.atera").joinpath("sandbox_data.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class AteraAccount:
    """Customers, contacts, agents, rates, contracts, custom fields and values, and invoices, keyed by their IDs.

    Built from a deep copy of the data (a dict shaped like `sandbox_data.json`), so the caller's data never changes.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        state = copy.deepcopy(data)
        self.customers: dict[int, dict[str, Any]] = {c["CustomerID"]: c for c in state.get("customers", [])}
        self.contacts: list[dict[str, Any]] = state.get("contacts", [])
        self.agents: list[dict[str, Any]] = state.get("agents", [])
        self.rates: dict[str, dict[int, dict[str, Any]]] = {
            kind: {r["RateID"]: r for r in state.get("rates", {}).get(kind, [])} for kind in ("products", "expenses")
        }
        self.contracts: dict[int, dict[str, Any]] = {c["ContractID"]: c for c in state.get("contracts", [])}
        self.custom_fields: dict[str, list[str]] = state.get("custom_fields", {})
        # (kind, item ID, field name) -> value, as in the data file's list of {kind, id, field, value}.
        self.custom_values: dict[tuple[str, int, str], str] = {
            (v["kind"], v["id"], v["field"]): v["value"] for v in state.get("custom_values", [])
        }
        self.invoices: list[dict[str, Any]] = state.get("invoices", [])
        self._next_id = 1 + max(
            [1000, *self.customers, *self.contracts, *self.rates["products"], *self.rates["expenses"]]
        )

    def new_id(self) -> int:
        """An ID no customer, contact, contract or rate has yet."""
        self._next_id += 1
        return self._next_id
