"""Sandbox Atera: a local server implementing the subset of API v3 the connector uses, from a JSON data file."""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from providers.sandbox import SandboxRequest, SandboxResponse, SandboxServer

API_PREFIX = "/api/v3"
DEFAULT_API_KEY = "sandbox-atera-key-0001"
Handler = Callable[[SandboxRequest, dict[str, str]], SandboxResponse]

# How POST /contracts names rates (by id) and where the ContractDto shows them (as RateDto), per contract type.
CREATE_RATE_FIELDS: dict[str, dict[str, str]] = {
    "RetainerFlatFee": {"RateID": "Rate"},
    "Hourly": {"HourlyRateID": "PrimaryRate"},
    "BlockHours": {"HourlyRateID": "PricePerHour", "OverageRateID": "OverageRate"},
    "BlockMoney": {"ContractAmountRateID": "ContractAmount", "HourlyRateID": "PrimaryRate"},
    "RemoteMonitoring": {"PerDeviceRateID": "RatePerDevice"},
    "OnlineBackup": {"PerGBRateID": "RatePerGB"},
    "ProjectOneTimeFee": {"TotalAmountRateId": "TotalAmount"},
    "ProjectHourlyRate": {"TotalAmountRateId": "PrimaryRate"},
}
# What PUT /contracts/{id} may change in each type's sub-object; project contracts cannot be updated at all.
UPDATABLE: dict[str, frozenset[str]] = {
    "RetainerFlatFee": frozenset({"Quantity", "BillingPeriod"}),
    "BlockHours": frozenset({"BillingPeriod", "HoursIncluded", "CommitRollover"}),
    "Hourly": frozenset({"BillingPeriod"}),
    "BlockMoney": frozenset({"BillingPeriod", "CommitRollover"}),
    "RemoteMonitoring": frozenset({"CountBy", "BillingPeriod"}),
    "OnlineBackup": frozenset({"CountBy", "BillingPeriod"}),
}
HEADER_FIELDS = frozenset({"ContractName", "Default", "StartDate", "EndDate", "Active", "Taxable", "TaxId", "Notes"})
CONTRACT_HEADER = ("ContractName", "Default", "StartDate", "EndDate", "Active", "Taxable")
CUSTOMER_FIELDS = (
    *("CustomerName", "BusinessNumber", "Domain", "Address", "City", "State", "Country"),
    *("Phone", "Fax", "Notes", "Links", "ZipCodeStr"),
)
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def default_data() -> dict[str, Any]:
    """The data file shipped with the connector (the demo's Atera account)."""
    text = resources.files("providers.atera").joinpath("sandbox_data.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def problem(status: int, title: str, detail: str = "") -> SandboxResponse:
    body = {"type": "https://tools.ietf.org/html/rfc9110", "title": title, "status": status, "detail": detail}
    return SandboxResponse.of_json(body, status)


class AteraSandbox(SandboxServer):
    """Behaves like Atera for the demo and the tests; `requests` and `writes()` show what a client did."""

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        bearer_token: str | None = None,
        rate_limit: tuple[int, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        empty_next_link: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        state = copy.deepcopy(data if data is not None else default_data())
        self.api_key = api_key
        self.bearer_token = bearer_token
        self.rate_limit = rate_limit
        self.clock = clock
        # Atera ends a list with nextLink null on some endpoints and "" on others: both shapes are servable.
        self.empty_next_link = empty_next_link
        self.customers: dict[int, dict[str, Any]] = {c["CustomerID"]: c for c in state.get("customers", [])}
        self.contacts: list[dict[str, Any]] = state.get("contacts", [])
        self.agents: list[dict[str, Any]] = state.get("agents", [])
        self.rates: dict[str, dict[int, dict[str, Any]]] = {
            kind: {r["RateID"]: r for r in state.get("rates", {}).get(kind, [])} for kind in ("products", "expenses")
        }
        self.contracts: dict[int, dict[str, Any]] = {c["ContractID"]: c for c in state.get("contracts", [])}
        self.custom_fields: dict[str, list[str]] = state.get("custom_fields", {})
        self.custom_values: dict[tuple[str, int, str], str] = {
            (v["kind"], v["id"], v["field"]): v["value"] for v in state.get("custom_values", [])
        }
        self.invoices: list[dict[str, Any]] = state.get("invoices", [])
        self._next_id = 1 + max(
            [1000, *self.customers, *self.contracts, *self.rates["products"], *self.rates["expenses"]]
        )
        self._state_lock = threading.Lock()
        self._served: deque[float] = deque()
        self.rate_limited = 0  # how many requests the rate limit refused, so tests can assert a client stayed under it
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(f"^{pattern}$"), handler)
            for method, pattern, handler in (
                ("GET", r"/customers", self._list_customers),
                ("POST", r"/customers", self._create_customer),
                ("GET", r"/customers/(?P<id>\d+)", self._get_customer),
                ("PUT", r"/customers/(?P<id>\d+)", self._update_customer),
                ("GET", r"/contacts", self._list_contacts),
                ("POST", r"/contacts", self._create_contact),
                ("GET", r"/agents", self._list_agents),
                ("GET", r"/agents/customer/(?P<customer>\d+)", self._list_agents),
                ("GET", r"/contracts", self._list_contracts),
                ("POST", r"/contracts", self._create_contract),
                ("GET", r"/contracts/customer/(?P<customer>\d+)", self._list_contracts),
                ("GET", r"/contracts/(?P<id>\d+)", self._get_contract),
                ("PUT", r"/contracts/(?P<id>\d+)", self._update_contract),
                ("POST", r"/contracts/(?P<id>\d+)", self._update_contract),
                ("GET", r"/rates/(?P<kind>products|expenses)", self._list_rates),
                ("POST", r"/rates/(?P<kind>products|expenses)", self._create_rate),
                ("GET", r"/rates/(?P<kind>products|expenses)/(?P<id>\d+)", self._get_rate),
                ("PUT", r"/rates/(?P<kind>products|expenses)/(?P<id>\d+)", self._update_rate),
                ("DELETE", r"/rates/(?P<kind>products|expenses)/(?P<id>\d+)", self._delete_rate),
                ("GET", r"/customvalues/(?P<kind>\w+)field/(?P<id>\d+)/(?P<field>[^/]+)", self._get_custom_value),
                ("PUT", r"/customvalues/(?P<kind>\w+)field/(?P<id>\d+)/(?P<field>[^/]+)", self._set_custom_value),
                ("POST", r"/customvalues/(?P<kind>\w+)field/(?P<id>\d+)/(?P<field>[^/]+)", self._set_custom_value),
                ("GET", r"/billing/invoices", self._list_invoices),
                ("GET", r"/billing/invoice/(?P<number>\d+)", self._get_invoice),
            )
        ]

    @classmethod
    def from_file(cls, path: Path, **options: Any) -> AteraSandbox:
        return cls(json.loads(path.read_text(encoding="utf-8")), **options)

    @property
    def api_url(self) -> str:
        """What the connector's `[atera] base_url` should be."""
        return self.url + API_PREFIX

    # -- the front door: auth, request rate, routing -----------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if not self._authorised(request):
            return SandboxResponse(401)
        limited = self._over_rate(request)
        if limited is not None:
            return limited
        if not request.path.startswith(API_PREFIX):
            return problem(404, "Not Found", f"no such path {request.path}")
        path = request.path[len(API_PREFIX) :] or "/"
        for method, pattern, handler in self._routes:
            found = pattern.match(path)
            if found and method == request.method:
                with self._state_lock:
                    return handler(request, found.groupdict())
        if any(pattern.match(path) for _, pattern, _ in self._routes):
            return SandboxResponse(405)
        return problem(404, "Not Found", f"no such path {request.path}")

    def _authorised(self, request: SandboxRequest) -> bool:
        key = request.header("x-api-key")
        if key is not None and key == self.api_key:
            return True
        auth = request.header("authorization") or ""
        return self.bearer_token is not None and auth == f"Bearer {self.bearer_token}"

    def _over_rate(self, request: SandboxRequest) -> SandboxResponse | None:
        if self.rate_limit is None:
            return None
        limit, window = self.rate_limit
        with self._state_lock:
            now = self.clock()
            while self._served and now - self._served[0] >= window:
                self._served.popleft()
            if len(self._served) >= limit:
                wait = max(1, math.ceil(window - (now - self._served[0])))
                self.rate_limited += 1
                return SandboxResponse(429, b"", {"Retry-After": str(wait)})
            self._served.append(now)
        return None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- lists -------------------------------------------------------------------------------------------------

    def _page(self, request: SandboxRequest, items: list[dict[str, Any]]) -> SandboxResponse:
        try:
            page = int(request.param("page") or 1)
            size = int(request.param("itemsInPage") or 20)
        except ValueError:
            return problem(400, "Bad Request", "page and itemsInPage must be integers")
        if page < 1 or size < 1:
            return problem(400, "Bad Request", "page and itemsInPage start at 1")
        size = min(size, 50)
        total_pages = math.ceil(len(items) / size)
        base = f"{self.api_url}{request.path[len(API_PREFIX) :]}"
        end_link = "" if self.empty_next_link else None

        def link(number: int) -> str:
            return f"{base}?page={number}&itemsInPage={size}"

        body = {
            "items": items[(page - 1) * size : page * size],
            "page": page,
            "itemsInPage": size,
            "totalItemCount": len(items),
            "totalPages": total_pages,
            "prevLink": link(page - 1) if page > 1 else end_link,
            "nextLink": link(page + 1) if page < total_pages else end_link,
        }
        return SandboxResponse.of_json(body)

    # -- customers and contacts --------------------------------------------------------------------------------

    def _list_customers(self, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        since = request.param("FromLastModifiedDate")
        customers = list(self.customers.values())
        if since:
            customers = [c for c in customers if (c.get("LastModified") or "") >= since]
        return self._page(request, customers)

    def _get_customer(self, _: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        customer = self.customers.get(int(match["id"]))
        if customer is None:
            return problem(404, "Not Found", f"customer {match['id']} does not exist")
        return SandboxResponse.of_json(customer)

    def _create_customer(self, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        body = request.json() or {}
        if not body.get("CustomerName"):
            return problem(400, "Bad Request", "CustomerName is required")
        customer_id = self._new_id()
        self.customers[customer_id] = {
            "CustomerID": customer_id,
            **{k: body.get(k) for k in CUSTOMER_FIELDS},
            "CreatedOn": body.get("CreatedOn"),
            "LastModified": body.get("CreatedOn"),
        }
        return SandboxResponse.of_json({"ActionID": str(customer_id)}, 201)

    def _update_customer(self, request: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        customer = self.customers.get(int(match["id"]))
        if customer is None:
            return problem(404, "Not Found", f"customer {match['id']} does not exist")
        customer.update({k: v for k, v in (request.json() or {}).items() if k in CUSTOMER_FIELDS and v is not None})
        return SandboxResponse.of_json({"ActionID": match["id"]})

    def _list_contacts(self, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        contacts = self.contacts
        for name in ("Email", "Phone"):
            wanted = (request.param(name) or "").lower()
            contacts = [c for c in contacts if wanted in (c.get(name) or "").lower()]
        return self._page(request, contacts)

    def _create_contact(self, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        body = request.json() or {}
        customer = self.customers.get(body.get("CustomerID") or 0) or next(
            (c for c in self.customers.values() if c["CustomerName"] == body.get("CustomerName")), None
        )
        if not body.get("Email"):
            return problem(400, "Bad Request", "Email is required")
        if customer is None:
            return problem(400, "Bad Request", "CustomerID or CustomerName must name an existing customer")
        contact_id = self._new_id()
        self.contacts.append(
            {
                "EndUserID": contact_id,
                "CustomerID": customer["CustomerID"],
                "CustomerName": customer["CustomerName"],
                **{k: body.get(k) for k in ("Firstname", "Lastname", "Email", "Phone")},
            }
        )
        return SandboxResponse.of_json({"ActionID": str(contact_id)}, 201)

    def _list_agents(self, request: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        agents = self.agents
        if match.get("customer"):
            agents = [a for a in agents if a.get("CustomerID") == int(match["customer"])]
        return self._page(request, agents)

    # -- contracts ---------------------------------------------------------------------------------------------

    def _list_contracts(self, request: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        contracts = list(self.contracts.values())
        if match.get("customer"):
            contracts = [c for c in contracts if c["CustomerID"] == int(match["customer"])]
        return self._page(request, contracts)

    def _get_contract(self, _: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        contract = self.contracts.get(int(match["id"]))
        if contract is None:
            return problem(404, "Not Found", f"contract {match['id']} does not exist")
        return SandboxResponse.of_json(contract)

    def _create_contract(self, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        body = request.json() or {}
        kind = body.get("ContractType")
        customer = self.customers.get(body.get("CustomerID") or 0)
        if kind not in CREATE_RATE_FIELDS:
            return problem(400, "Bad Request", f"ContractType must be one of {', '.join(CREATE_RATE_FIELDS)}")
        if customer is None:
            return problem(400, "Bad Request", "CustomerID must name an existing customer")
        if not body.get("ContractName"):
            return problem(400, "Bad Request", "ContractName is required")
        given = body.get(f"{kind}Contract")
        if not isinstance(given, dict):
            return problem(400, "Bad Request", f"{kind}Contract is required for a {kind} contract")
        sub: dict[str, Any] = {}
        for key, value in given.items():
            if key in CREATE_RATE_FIELDS[kind]:
                rate = self.rates["products"].get(value)
                if rate is None:
                    return problem(400, "Bad Request", f"{key} {value} is not a product rate")
                sub[CREATE_RATE_FIELDS[kind][key]] = dict(rate)
            elif key == "AdditionalRateIDs":
                sub["AdditionalRates"] = [
                    dict(self.rates["products"][r]) for r in value or [] if r in self.rates["products"]
                ]
            elif not key.endswith(("RateID", "RateId")):
                sub[key] = value
        contract_id = self._new_id()
        self.contracts[contract_id] = {
            "CustomerID": customer["CustomerID"],
            "CustomerName": customer["CustomerName"],
            "ContractID": contract_id,
            "ContractName": body["ContractName"],
            "ContractType": kind,
            "Active": bool(body.get("Active", False)),
            "Default": bool(body.get("Default", False)),
            "Taxable": bool(body.get("Taxable", False)),
            "StartDate": body.get("StartDate"),
            "EndDate": body.get("EndDate"),
            f"{kind}Contract": sub,
        }
        return SandboxResponse.of_json({"ActionID": str(contract_id)}, 201)

    def _update_contract(self, request: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        contract = self.contracts.get(int(match["id"]))
        if contract is None:
            return problem(404, "Not Found", f"contract {match['id']} does not exist")
        kind = contract["ContractType"]
        allowed = UPDATABLE.get(kind)
        if allowed is None:
            return problem(400, "Bad Request", f"{kind} (project) contracts cannot be updated")
        body = request.json() or {}
        header: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if key in HEADER_FIELDS:
                header[key] = value
            elif key == f"{kind}Contract" and isinstance(value, dict):
                changes = value
            elif key.endswith("Contract"):
                return problem(400, "Bad Request", f"{key} does not apply to a {kind} contract")
            else:
                return problem(400, "Bad Request", f"{key} cannot be updated")
        refused = sorted(set(changes) - allowed)
        if refused:
            rates = [k for k in refused if "Rate" in k]
            why = "rates cannot change on update" if rates else f"only {', '.join(sorted(allowed))} can change"
            return problem(400, "Bad Request", f"{kind}Contract.{', '.join(refused)}: {why}")
        # A null in an update means "leave as is", as in Atera's nullable update fields.
        for key, value in header.items():
            if value is not None and key in CONTRACT_HEADER:
                contract[key] = value
        sub = contract.setdefault(f"{kind}Contract", {})
        sub.update({k: v for k, v in changes.items() if v is not None})
        return SandboxResponse(204)

    # -- rates -------------------------------------------------------------------------------------------------

    def _list_rates(self, request: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        return self._page(request, list(self.rates[match["kind"]].values()))

    def _get_rate(self, _: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        rate = self.rates[match["kind"]].get(int(match["id"]))
        if rate is None:
            return problem(404, "Not Found", f"rate {match['id']} does not exist")
        return SandboxResponse.of_json(rate)

    def _create_rate(self, request: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        body = request.json() or {}
        if not body.get("Description"):
            return problem(400, "Bad Request", "Description is required")
        if not isinstance(body.get("Amount"), int | float):
            return problem(400, "Bad Request", "Amount must be a number")
        rate_id = self._new_id()
        self.rates[match["kind"]][rate_id] = {
            "RateID": rate_id,
            **{k: body.get(k) for k in ("Amount", "Description", "SKU", "Category")},
        }
        return SandboxResponse.of_json({"ActionID": str(rate_id)}, 201)

    def _update_rate(self, request: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        rate = self.rates[match["kind"]].get(int(match["id"]))
        if rate is None:
            return problem(404, "Not Found", f"rate {match['id']} does not exist")
        body = request.json() or {}
        rate.update(
            {k: v for k, v in body.items() if k in ("Amount", "Description", "SKU", "Category") and v is not None}
        )
        return SandboxResponse.of_json({"ActionID": match["id"]})

    def _delete_rate(self, _: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        if self.rates[match["kind"]].pop(int(match["id"]), None) is None:
            return problem(404, "Not Found", f"rate {match['id']} does not exist")
        return SandboxResponse(204)

    # -- custom values -----------------------------------------------------------------------------------------

    def _custom_field(self, match: dict[str, str]) -> tuple[str, int, str] | SandboxResponse:
        kind, item, field = match["kind"], int(match["id"]), unquote(match["field"])
        if field not in self.custom_fields.get(kind, []):
            return problem(400, "Bad Request", f"no {kind} custom field named {field!r}; define it in Admin")
        if kind == "contract" and item not in self.contracts:
            return problem(400, "Bad Request", f"contract {item} does not exist")
        if kind == "customer" and item not in self.customers:
            return problem(400, "Bad Request", f"customer {item} does not exist")
        return kind, item, field

    def _get_custom_value(self, _: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        key = self._custom_field(match)
        if isinstance(key, SandboxResponse):
            return key
        value = self.custom_values.get(key)
        if value is None:
            return SandboxResponse.of_json([])
        item = {
            "ItemId": key[1],
            "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, key)))),
            "FieldName": key[2],
            "ValueAsString": value,
            "ValueAsDecimal": 0,
            "ValueAsDateTime": None,
            "ValueAsBool": False,
        }
        return SandboxResponse.of_json([item])

    def _set_custom_value(self, request: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        key = self._custom_field(match)
        if isinstance(key, SandboxResponse):
            return key
        body = request.json()
        if not isinstance(body, dict) or "Value" not in body:
            return problem(400, "Bad Request", 'the body must be {"Value": "..."}')
        if body["Value"] is None:
            self.custom_values.pop(key, None)
        else:
            self.custom_values[key] = str(body["Value"])
        return SandboxResponse.of_json({"ActionID": str(key[1])})

    def custom_value(self, kind: str, item_id: int, field: str) -> str | None:
        """What a custom field holds now (for tests)."""
        with self._state_lock:
            return self.custom_values.get((kind, item_id, field))

    # -- invoices ----------------------------------------------------------------------------------------------

    def _list_invoices(self, request: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        bounds: dict[str, date] = {}
        for name in ("invoiceDateFrom", "invoiceDateTo"):
            value = request.param(name)
            if value is None:
                continue
            if not DATE_PATTERN.match(value):
                return problem(400, "Bad Request", f"{name} must be yyyy-MM-dd")
            bounds[name] = date.fromisoformat(value)
        if (
            "invoiceDateFrom" in bounds
            and "invoiceDateTo" in bounds
            and bounds["invoiceDateTo"] < bounds["invoiceDateFrom"]
        ):
            return problem(400, "Bad Request", "invoiceDateTo is before invoiceDateFrom")
        start, end = bounds.get("invoiceDateFrom", date.min), bounds.get("invoiceDateTo", date.max)
        chosen = [i for i in self.invoices if start <= date.fromisoformat(i["InvoiceDate"][:10]) <= end]
        return self._page(request, chosen)

    def invoice_retainers(self, start: date, end: date, invoice_date: date) -> list[dict[str, Any]]:
        """Invoice every active Retainer contract for [start, end] at its current Quantity x Rate, as Atera's
        invoicing run would (untaxed, so totals are easy to check). Returns the invoices it added."""
        added = []
        with self._state_lock:
            number = max([5000, *(i["InvoiceNumber"] for i in self.invoices)])
            for contract in sorted(self.contracts.values(), key=lambda c: c["ContractID"]):
                retainer = contract.get("RetainerFlatFeeContract")
                if contract.get("ContractType") != "RetainerFlatFee" or not contract.get("Active") or not retainer:
                    continue
                rate = retainer.get("Rate") or {}
                quantity = Decimal(str(retainer.get("Quantity") or 0))
                subtotal = float((quantity * Decimal(str(rate.get("Amount", 0)))).quantize(Decimal("0.01")))
                number += 1
                customer = self.customers.get(contract["CustomerID"], {})
                added.append(
                    {
                        "IsAdhoc": False,
                        "InvoiceId": f"sandbox-invoice-{number}",
                        "InvoiceNumber": number,
                        "Total": subtotal,
                        "Subtotal": subtotal,
                        "Tax": 0.0,
                        "TaxPercentage": 0.0,
                        "InvoiceDate": f"{invoice_date.isoformat()}T00:00:00",
                        "ContractName": contract["ContractName"],
                        "PeriodStartDate": f"{start.isoformat()}T00:00:00",
                        "PeriodEndDate": f"{end.isoformat()}T00:00:00",
                        "Currency": "GBP",
                        "LineItems": [
                            {
                                "Product": rate.get("SKU"),
                                "Description": rate.get("Description"),
                                "Quantity": float(quantity),
                                "Rate": rate.get("Amount", 0),
                                "TaxPercentage": 0.0,
                                "DiscountPercentage": None,
                                "Total": subtotal,
                                "Subtotal": subtotal,
                                "Tax": 0.0,
                                "LineIdx": 0,
                            }
                        ],
                        "From": {"CompanyName": "Example MSP Ltd", "Email": "billing@msp.example"},
                        "To": {"CompanyName": customer.get("CustomerName"), "Email": None},
                    }
                )
            self.invoices.extend(added)
        return added

    def _get_invoice(self, _: SandboxRequest, match: dict[str, str]) -> SandboxResponse:
        found = next((i for i in self.invoices if i["InvoiceNumber"] == int(match["number"])), None)
        if found is None:
            return problem(404, "Not Found", f"invoice {match['number']} does not exist")
        return SandboxResponse.of_json(found)


def main(argv: list[str] | None = None) -> None:
    """`python -m providers.atera.sandbox --port 8093`: serve the sandbox in the foreground for a demo."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--data", type=Path, help="JSON data file (default: the shipped demo account)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    args = parser.parse_args(argv)
    sandbox = (
        AteraSandbox.from_file(args.data, api_key=args.api_key, port=args.port)
        if args.data
        else AteraSandbox(api_key=args.api_key, port=args.port)
    )
    print(f"Sandbox Atera on {sandbox.api_url} (X-API-KEY {args.api_key})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()


if __name__ == "__main__":
    main()
