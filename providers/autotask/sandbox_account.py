"""The sandbox Autotask's data: companies, contacts, contracts, the service catalogue, contract services, the
adjustments made to them, invoices and billing items.

Records are stored as the API writes them (camelCase names, date-times in the zone-less wire form), holding only
the fields that have a value; `view` shows a record as an answer does, every field of its model present and
null when unset. Contract service units are not stored: `providers.autotask.sandbox_units` derives them from the
adjustments. `providers.autotask.sandbox` serves the data over HTTP and holds the lock around every change.

Ids: one sequence (from 1000) for what clients and seeds create, so an id names one record in a test's output;
units records, billing items and invoices have their own ranges, so reading units never moves another id.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Any

from providers.autotask.sandbox_fields import (
    ACTIVE,
    ENTITIES,
    MONTHLY,
    RECURRING_SERVICE,
    Entity,
    parse_moment,
    wire,
)

CENT = Decimal("0.01")
FIRST_UNITS_ID = 700_001
FIRST_BILLING_ITEM_ID = 800_001
FIRST_INVOICE_ID = 900_001
DEFAULT_RESOURCE_ID = 4  # the API user's own resource, the owner of what the sandbox seeds


def demo_data() -> dict[str, Any]:
    """The data file shipped with the connector: the demo MSP's Autotask, billing the demo's three customers."""
    text = resources.files("providers.autotask").joinpath("sandbox_data.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def now() -> datetime:
    """The current UTC time, naive, as Autotask writes it (the tests' frozen clock in tests)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def decimal(value: Any) -> Decimal:
    """A JSON number as a Decimal, through its text (so 0.1 stays 0.1); anything else is 0."""
    return Decimal(str(value)) if isinstance(value, int | float) and not isinstance(value, bool) else Decimal(0)


def cents(amount: Decimal) -> Decimal:
    """An amount rounded once, to cents (half up)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def day(value: Any) -> date | None:
    """The calendar date of a stored date-time, as written (no zone conversion); None when unset."""
    moment = parse_moment(value)
    return moment.date() if moment is not None else None


def midnight(on: date) -> str:
    return wire(datetime(on.year, on.month, on.day))


class AutotaskAccount:
    """Everything the sandbox holds, keyed by id; built from a deep copy of `data` (shaped as sandbox_data.json)."""

    def __init__(self, data: dict[str, Any]) -> None:
        state = copy.deepcopy(data)
        self.companies = _by_id(state.get("companies", []))
        self.contacts = _by_id(state.get("contacts", []))
        self.contracts = _by_id(state.get("contracts", []))
        self.services = _by_id(state.get("services", []))
        self.contract_services = _by_id(state.get("contract_services", []))
        self.adjustments: list[dict[str, Any]] = list(state.get("adjustments", []))
        self.invoices = _by_id(state.get("invoices", []))
        self.billing_items = _by_id(state.get("billing_items", []))
        self.resources: set[int] = {r["id"] for r in state.get("resources", [{"id": DEFAULT_RESOURCE_ID}])}
        # Units records' ids, by (contract service id, start date): given once, so a record keeps its id.
        self.unit_ids: dict[tuple[int, date], int] = {}
        # When each units record was approved and posted, by the same key.
        self.posted: dict[tuple[int, date], str] = {}
        # The last day of the latest posted period, by contract service: adjustments up to it are refused.
        self.closed_through: dict[int, date] = {}
        taken = [*self.companies, *self.contacts, *self.contracts, *self.services, *self.contract_services]
        taken += [a["id"] for a in self.adjustments]
        self._next_id = max([1000, *taken])
        self._next_units_id = FIRST_UNITS_ID - 1
        self._next_billing_item = max([FIRST_BILLING_ITEM_ID - 1, *self.billing_items])
        self._next_invoice = max([FIRST_INVOICE_ID - 1, *self.invoices])

    # -- ids ------------------------------------------------------------------------------------------------------

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def stored(self, records: dict[int, dict[str, Any]], record: dict[str, Any]) -> dict[str, Any]:
        """`record` kept in `records` under a new id; returns it."""
        number = self.new_id()
        records[number] = {"id": number, **record}
        return records[number]

    def units_id(self, contract_service_id: int, start: date) -> int:
        key = (contract_service_id, start)
        if key not in self.unit_ids:
            self._next_units_id += 1
            self.unit_ids[key] = self._next_units_id
        return self.unit_ids[key]

    def new_billing_item_id(self) -> int:
        self._next_billing_item += 1
        return self._next_billing_item

    def new_invoice_id(self) -> int:
        self._next_invoice += 1
        return self._next_invoice

    # -- reading ----------------------------------------------------------------------------------------------------

    def view(self, entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
        """A record as an answer shows it: every field of the model, null when unset."""
        shown: dict[str, Any] = {}
        for name, kind in entity.fields.items():
            shown[name] = record.get(name, [] if kind == "udf" else None)
        if entity.name == "ContractServices":
            # Single-currency database: the internal-currency prices are the prices.
            shown["internalCurrencyUnitPrice"] = record.get("unitPrice")
            shown["internalCurrencyAdjustedPrice"] = record.get("unitPrice")
        return shown

    def views(self, entity_name: str, records: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        entity = ENTITIES[entity_name]
        return [self.view(entity, record) for record in records.values()]

    def contract_service_for(self, contract_id: int, service_id: int) -> dict[str, Any] | None:
        return next(
            (
                cs
                for cs in self.contract_services.values()
                if cs.get("contractID") == contract_id and cs.get("serviceID") == service_id
            ),
            None,
        )

    def is_recurring(self, contract: dict[str, Any]) -> bool:
        return contract.get("contractType") == RECURRING_SERVICE

    # -- seeding (tests and the demo): each returns the stored record ------------------------------------------------

    def add_company(self, name: str, company_type: int = 1, **fields: Any) -> dict[str, Any]:
        record = {
            "companyName": name,
            "companyType": company_type,
            "isActive": True,
            "ownerResourceID": DEFAULT_RESOURCE_ID,
            "phone": "0100000000",
            "createDate": wire(now()),
            **fields,
        }
        return self.stored(self.companies, record)

    def add_contact(self, company_id: int, first_name: str, last_name: str, **fields: Any) -> dict[str, Any]:
        if company_id not in self.companies:
            raise KeyError(f"no company {company_id}")
        record = {
            "companyID": company_id,
            "firstName": first_name,
            "lastName": last_name,
            "isActive": 1,
            "createDate": wire(now()),
            **fields,
        }
        return self.stored(self.contacts, record)

    def add_contract(
        self,
        company_id: int,
        name: str = "Managed Backup",
        *,
        contract_type: int = RECURRING_SERVICE,
        start: date = date(2024, 1, 1),
        end: date | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        if company_id not in self.companies:
            raise KeyError(f"no company {company_id}")
        record = {
            "companyID": company_id,
            "contractName": name,
            "contractType": contract_type,
            "status": ACTIVE,
            "startDate": midnight(start),
            "timeReportingRequiresStartAndStopTimes": 0,
            "lastModifiedDateTime": wire(now()),
            **fields,
        }
        if end is not None:
            record["endDate"] = midnight(end)
        if contract_type == RECURRING_SERVICE:
            record.setdefault("contractPeriodType", MONTHLY)
        return self.stored(self.contracts, record)

    def add_service(
        self, name: str, sku: str, unit_price: float, unit_cost: float = 0.0, **fields: Any
    ) -> dict[str, Any]:
        record = {
            "name": name,
            "sku": sku,
            "unitPrice": unit_price,
            "unitCost": unit_cost,
            "periodType": MONTHLY,
            "isActive": True,
            "createDate": wire(now()),
            **fields,
        }
        return self.stored(self.services, record)

    def new_contract_service(
        self, contract_id: int, service_id: int, unit_price: float | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A contract service of a catalogue service, priced as the catalogue says unless told (no checks: the
        callers check the contract's type)."""
        service = self.services[service_id]
        record = {
            "contractID": contract_id,
            "serviceID": service_id,
            "unitPrice": service.get("unitPrice", 0) if unit_price is None else unit_price,
            "unitCost": service.get("unitCost", 0),
            **fields,
        }
        return self.stored(self.contract_services, record)


def _by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in records}
