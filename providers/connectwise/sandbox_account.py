"""The sandbox ConnectWise's data: companies, contacts, agreements and their additions, the catalog and invoices.

Records are kept as the API shows them, less what the server derives; `*_view` adds those derived fields (an
addition's `extPrice`, `billedQuantity`, `agreementStatus` and custom fields, an agreement's status) each time a
record is read, so they always follow the values they come from. `providers.connectwise.sandbox` serves the data
over HTTP and holds the lock around every change.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Any

CENT = Decimal("0.01")
SEEDED_BY = "sandbox"
# The default definition of the custom field the connector keeps its record on (ConnectWise: Setup Tables >
# Custom Fields, screen "Agreement Additions"): a plain text entry field.
RECORD_FIELD: dict[str, Any] = {
    "id": 7,
    "caption": "Billing connector record",
    "type": "Text",
    "entryMethod": "EntryField",
    "numberOfDecimals": 0,
    "connectWiseId": "b8d7c1a0-7e3f-4c55-9a61-0c2f9e1d4b07",
}


def demo_data() -> dict[str, Any]:
    """The data file shipped with the connector: the demo's ConnectWise, billing the demo's three customers."""
    text = resources.files("providers.connectwise").joinpath("sandbox_data.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def decimal(value: Any) -> Decimal:
    """A JSON number as a Decimal (through its text, so 0.1 stays 0.1); a missing number is 0."""
    return Decimal(str(value)) if isinstance(value, int | float) and not isinstance(value, bool) else Decimal(0)


def cents(amount: Decimal) -> Decimal:
    """An amount rounded once, to cents (half up)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def moment(text: Any) -> datetime | None:
    """A date-time the API wrote (`2026-01-01T00:00:00Z`), or None when there is none."""
    if not isinstance(text, str) or not text:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def stamp(when: datetime | None = None) -> str:
    """A date-time as the API writes it: UTC, to the second, with a Z."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ConnectWiseAccount:
    """Everything the sandbox holds, keyed by id; built from a deep copy of `data` (shaped as sandbox_data.json)."""

    def __init__(self, data: dict[str, Any], custom_fields: list[dict[str, Any]] | None = None) -> None:
        state = copy.deepcopy(data)
        self.companies: dict[int, dict[str, Any]] = _by_id(state.get("companies", []))
        self.contacts: dict[int, dict[str, Any]] = _by_id(state.get("contacts", []))
        self.agreement_types: dict[int, dict[str, Any]] = _by_id(state.get("agreement_types", []))
        self.agreements: dict[int, dict[str, Any]] = _by_id(state.get("agreements", []))
        self.catalog: dict[int, dict[str, Any]] = _by_id(state.get("catalog", []))
        self.invoices: dict[int, dict[str, Any]] = _by_id(state.get("invoices", []))
        # Additions live under their agreement, as their paths do: agreement id -> addition id -> addition.
        self.additions: dict[int, dict[int, dict[str, Any]]] = {number: {} for number in self.agreements}
        for addition in state.get("additions", []):
            self.additions.setdefault(addition["agreementId"], {})[addition["id"]] = addition
        # The custom fields every addition carries, and the values set: (addition id, field id) -> value.
        defined = custom_fields if custom_fields is not None else state.get("addition_custom_fields", [RECORD_FIELD])
        self.custom_fields: list[dict[str, Any]] = copy.deepcopy(defined)
        self.custom_values: dict[tuple[int, int], Any] = {
            (v["addition"], v["field"]): v["value"] for v in state.get("custom_values", [])
        }
        self.member: str = state.get("api_member", "BackupBillingAPI")  # who `_info.updatedBy` names after a write
        taken = [*self.companies, *self.contacts, *self.agreement_types, *self.agreements, *self.catalog]
        taken += [number for group in self.additions.values() for number in group]
        self._next_id = max([1000, *taken])
        self._next_invoice = max([1000, *self.invoices])

    def new_id(self) -> int:
        """An id no record has yet (one sequence for all kinds, so an id names one record in a test's output)."""
        self._next_id += 1
        return self._next_id

    def new_invoice_id(self) -> int:
        self._next_invoice += 1
        return self._next_invoice

    def info(self) -> dict[str, str]:
        """The `_info` a write leaves on a record."""
        return {"lastUpdated": stamp(), "updatedBy": self.member}

    # -- finding records ------------------------------------------------------------------------------------------

    def addition(self, addition_id: int) -> dict[str, Any] | None:
        return next((group[addition_id] for group in self.additions.values() if addition_id in group), None)

    def catalog_item(self, reference: dict[str, Any]) -> dict[str, Any] | None:
        """The catalog item a product reference names, by id or else by identifier (ignoring case)."""
        return _find(self.catalog, reference, "identifier")

    def company(self, reference: dict[str, Any]) -> dict[str, Any] | None:
        return _find(self.companies, reference, "identifier")

    def agreement_type(self, reference: dict[str, Any]) -> dict[str, Any] | None:
        return _find(self.agreement_types, reference, "name")

    # -- what the API shows: stored fields plus derived ones ------------------------------------------------------

    def agreement_status(self, agreement: dict[str, Any], today: date | None = None) -> str:
        """Cancelled when flagged so, Expired once its end date has passed, else Active."""
        if agreement.get("cancelledFlag"):
            return "Cancelled"
        end = None if agreement.get("noEndingDateFlag") else moment(agreement.get("endDate"))
        if end is not None and end.date() < (today or datetime.now(UTC).date()):
            return "Expired"
        return "Active"

    def agreement_view(self, agreement: dict[str, Any]) -> dict[str, Any]:
        return {**agreement, "agreementStatus": self.agreement_status(agreement)}

    def addition_view(self, addition: dict[str, Any]) -> dict[str, Any]:
        quantity, included = decimal(addition.get("quantity")), decimal(addition.get("lessIncluded"))
        billed = quantity - included
        price = cents(billed * decimal(addition.get("unitPrice")))
        # What the MSP pays its vendor covers every unit, the included ones too.
        cost = cents(quantity * decimal(addition.get("unitCost")))
        agreement = self.agreements.get(addition["agreementId"])
        view = {
            **addition,
            "billedQuantity": float(billed),
            "extPrice": float(price),
            "extCost": float(cost),
            "margin": float(price - cost),
            "customFields": [
                {**field, "value": self.custom_values.get((addition["id"], field["id"]))}
                for field in self.custom_fields
            ],
        }
        if agreement is not None:
            view["agreementStatus"] = self.agreement_status(agreement)
        return view

    # -- seeding (tests and the demo) -----------------------------------------------------------------------------

    def add_company(self, name: str, identifier: str | None = None, **fields: Any) -> dict[str, Any]:
        number = self.new_id()
        slug = identifier or "".join(ch for ch in name if ch.isalnum())[:30]
        status = {"id": 1, "name": "Active"}
        self.companies[number] = {"id": number, "identifier": slug, "name": name, "status": status, **fields}
        self.companies[number]["_info"] = {"lastUpdated": stamp(), "updatedBy": SEEDED_BY}
        return self.companies[number]

    def add_contact(self, company_id: int, first_name: str, last_name: str = "", **fields: Any) -> dict[str, Any]:
        number = self.new_id()
        company = self.companies[company_id]
        reference = {"id": company_id, "identifier": company["identifier"], "name": company["name"]}
        contact = {"id": number, "firstName": first_name, "lastName": last_name, "company": reference, **fields}
        self.contacts[number] = contact
        return contact

    def add_agreement_type(self, name: str, **fields: Any) -> dict[str, Any]:
        number = self.new_id()
        defaults = {"billTime": "Billable", "billExpenses": "Billable", "billProducts": "Billable"}
        defaults |= {"employeeCompRate": "Actual", "employeeCompNotExceed": "Billing", "invoicingCycle": "ContractYear"}
        self.agreement_types[number] = {"id": number, "name": name, **defaults, **fields}
        return self.agreement_types[number]

    def add_agreement(
        self, company_id: int, name: str, type_name: str = "Managed Services", **fields: Any
    ) -> dict[str, Any]:
        company = self.companies[company_id]
        kind = self.agreement_type({"name": type_name}) or self.add_agreement_type(type_name)
        contact = next((c for c in self.contacts.values() if c.get("company", {}).get("id") == company_id), None)
        if contact is None:
            contact = self.add_contact(company_id, "Billing", "Contact")
        number = self.new_id()
        self.agreements[number] = {
            "id": number,
            "name": name,
            "type": {"id": kind["id"], "name": kind["name"]},
            "company": {"id": company_id, "identifier": company["identifier"], "name": company["name"]},
            "contact": {"id": contact["id"], "name": f"{contact['firstName']} {contact['lastName']}".strip()},
            "startDate": "2024-01-01T00:00:00Z",
            "noEndingDateFlag": True,
            "cancelledFlag": False,
            "billingCycle": {"id": 1, "name": "Monthly"},
            "_info": {"lastUpdated": stamp(), "updatedBy": SEEDED_BY},
            **fields,
        }
        self.additions[number] = {}
        return self.agreements[number]

    def add_catalog_item(
        self, identifier: str, description: str, price: float, cost: float = 0.0, uom: str = "Each", **fields: Any
    ) -> dict[str, Any]:
        number = self.new_id()
        self.catalog[number] = {
            "id": number,
            "identifier": identifier,
            "description": description,
            "customerDescription": description,
            "subcategory": {"id": 1, "name": "Backup"},
            "type": {"id": 1, "name": "Service"},
            "productClass": "Service",
            "unitOfMeasure": {"id": 1, "name": uom},
            "price": price,
            "cost": cost,
            "taxableFlag": False,
            "recurringFlag": True,
            **fields,
        }
        return self.catalog[number]

    def add_addition(
        self, agreement_id: int, product: str, quantity: float, unit_price: float | None = None, **fields: Any
    ) -> dict[str, Any]:
        """An addition of the catalog item whose identifier is `product`, priced as the catalog says unless told."""
        item = self.catalog_item({"identifier": product})
        if item is None:
            raise KeyError(f"no catalog item {product!r}")
        number = self.new_id()
        self.additions[agreement_id][number] = {
            "id": number,
            "agreementId": agreement_id,
            "product": {"id": item["id"], "identifier": item["identifier"]},
            "description": item["description"],
            "uom": item.get("unitOfMeasure", {}).get("name", "Each"),
            "quantity": quantity,
            "lessIncluded": 0,
            "unitPrice": item.get("price", 0) if unit_price is None else unit_price,
            "unitCost": item.get("cost", 0),
            "billCustomer": "Billable",
            "effectiveDate": "2024-01-01T00:00:00Z",
            "taxableFlag": item.get("taxableFlag", False),
            "_info": {"lastUpdated": stamp(), "updatedBy": SEEDED_BY},
            **fields,
        }
        return self.additions[agreement_id][number]


def _by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in records}


def _find(records: dict[int, dict[str, Any]], reference: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The record a reference names: by id, or else by `name` (ignoring case)."""
    if isinstance(reference.get("id"), int):
        return records.get(reference["id"])
    wanted = str(reference.get(name) or "").casefold()
    return next((r for r in records.values() if wanted and r[name].casefold() == wanted), None)
