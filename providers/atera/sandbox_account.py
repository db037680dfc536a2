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


def retainer_contract(
    customer_id: int, customer_name: str, contract_id: int, name: str, rate: dict[str, Any]
) -> dict[str, Any]:
    """An active monthly Retainer (flat fee) contract of quantity 0, as the data file holds one (`rate` is the rate
    product's record): what generated accounts for tests and benchmarks are made of."""
    return {
        "CustomerID": customer_id,
        "CustomerName": customer_name,
        "ContractID": contract_id,
        "ContractName": name,
        "ContractType": "RetainerFlatFee",
        "Active": True,
        "Default": False,
        "Taxable": False,
        "StartDate": "2026-01-01T00:00:00",
        "EndDate": None,
        "RetainerFlatFeeContract": {"BillingPeriod": "Monthly", "Quantity": 0, "Rate": dict(rate)},
    }


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
        # The zone the account's dates are in (Atera's settings): the date filters and the invoicing run's dates.
        self.timezone: str = state.get("timezone", "UTC")
        self._next_id = 1 + max(
            [1000, *self.customers, *self.contracts, *self.rates["products"], *self.rates["expenses"]]
        )

    def new_id(self) -> int:
        """An ID no customer, contact, contract or rate has yet."""
        self._next_id += 1
        return self._next_id
