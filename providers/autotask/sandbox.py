"""Sandbox Autotask PSA: a local server answering the 37 operations (27 paths) of the Swagger subset, and no other.

This module is the front door (authentication, routes, the hourly request count) and the command line. The data
is `sandbox_account.AutotaskAccount`; the handlers are in `sandbox_handlers`, each entity's fields and write rules
in `sandbox_fields`, the QueryModel language and paging in `sandbox_query`, the units model in `sandbox_units`
and the invoicing run in `sandbox_invoices`.

Wire choices, where Autotask's sources leave room:

- Authentication is three headers on every call, `ApiIntegrationCode`, `UserName` and `Secret`; a missing or
  wrong one is a 401 `{"errors": [...]}` (the document declares 401 without a body). `ZoneInformation` is
  answered with or without them, as the Postman collection's "non-authenticated" request is.
- Paths are matched ignoring case (Autotask's are: the Postman collection writes `atservicesrest/v1.0/...`).
  A method and path the subset does not declare is a 404 `{"errors": [...]}`.
- Every answer's date-times are UTC without a zone designator, to the second (`2026-11-01T00:00:00`).
- Every request counts toward the hour's `currentTimeframeRequestCount`; past the 10,000 threshold a request is
  refused with a 429 until the hour's count falls back under it (`requests_this_hour` sets the count in tests).
- Autotask's queries are POSTs that change nothing: `is_write` says so, so the write hooks and `writes()` leave
  them out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import threading
from collections import deque
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from providers.autotask import sandbox_handlers as handlers
from providers.autotask import sandbox_query as query
from providers.autotask import sandbox_units as units
from providers.autotask.sandbox_account import AutotaskAccount, demo_data, now
from providers.autotask.sandbox_handlers import EXTERNAL_REQUEST_THRESHOLD, Context, Handler
from providers.autotask.sandbox_invoices import invoice
from providers.sandbox import WRITE_METHODS, SandboxRequest, SandboxResponse, SandboxServer

__all__ = [
    "API_PREFIX",
    "DEFAULT_INTEGRATION_CODE",
    "DEFAULT_SECRET",
    "DEFAULT_USERNAME",
    "EXTERNAL_REQUEST_THRESHOLD",
    "ROUTES",
    "AutotaskAccount",
    "AutotaskSandbox",
    "demo_data",
    "main",
]

API_PREFIX = "/ATServicesRest"
DEFAULT_USERNAME = "backupbilling@examplemsp.example"
DEFAULT_SECRET = "Sandbox$ecret0001"
DEFAULT_INTEGRATION_CODE = "SANDBOXTRACKINGID0001"
ZONE_PATH = "/V1.0/ZoneInformation"
_ID = r"(?P<id>\d+)"
_PARENT = r"(?P<parentId>\d+)"


def _queries(entity: str) -> list[tuple[str, str, Handler]]:
    handler = handlers.querying(entity)
    return [("GET", f"/V1.0/{entity}/query", handler), ("POST", f"/V1.0/{entity}/query", handler)]


# The subset's 37 operations, and nothing else.
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{pattern}$", re.IGNORECASE), handler)
    for method, pattern, handler in (
        ("GET", "/VersionInformation", handlers.version_information),
        ("GET", ZONE_PATH, handlers.zone_information),
        ("GET", "/V1.0/ThresholdInformation", handlers.threshold_information),
        *_queries("Companies"),
        ("GET", f"/V1.0/Companies/{_ID}", handlers.item("Companies")),
        ("POST", "/V1.0/Companies", handlers.create_company),
        ("GET", "/V1.0/Companies/entityInformation/fields", handlers.fields("Companies")),
        ("POST", f"/V1.0/Companies/{_PARENT}/Contacts", handlers.create_contact),
        *_queries("Contacts"),
        *_queries("Contracts"),
        ("GET", f"/V1.0/Contracts/{_ID}", handlers.item("Contracts")),
        ("POST", "/V1.0/Contracts", handlers.create_contract),
        ("PUT", "/V1.0/Contracts", handlers.update_contract),
        ("PATCH", "/V1.0/Contracts", handlers.update_contract),
        ("GET", "/V1.0/Contracts/entityInformation/fields", handlers.fields("Contracts")),
        ("POST", "/V1.0/ContractServiceAdjustments", handlers.create_adjustment),
        (
            "GET",
            "/V1.0/ContractServiceAdjustments/entityInformation/fields",
            handlers.fields("ContractServiceAdjustments"),
        ),
        ("POST", f"/V1.0/Contracts/{_PARENT}/ServiceAdjustments", handlers.create_adjustment),
        *_queries("ContractServices"),
        ("GET", f"/V1.0/ContractServices/{_ID}", handlers.item("ContractServices")),
        ("GET", "/V1.0/ContractServices/entityInformation/fields", handlers.fields("ContractServices")),
        ("POST", f"/V1.0/Contracts/{_PARENT}/Services", handlers.create_contract_service),
        *_queries("ContractServiceUnits"),
        *_queries("Services"),
        ("GET", f"/V1.0/Services/{_ID}", handlers.item("Services")),
        ("POST", "/V1.0/Services", handlers.create_service),
        *_queries("Invoices"),
        ("GET", f"/V1.0/Invoices/{_ID}", handlers.item("Invoices")),
        *_queries("BillingItems"),
    )
]


class AutotaskSandbox(SandboxServer):
    """Behaves like Autotask PSA for the demo and the tests; `requests` and `writes()` show what a client did.

    `data` is shaped like `sandbox_data.json` (default: the demo's data; `{}` starts empty). The containers
    (`companies`, `contracts`, `contract_services`, ...) are the live data, which tests read and change directly.
    """

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        username: str = DEFAULT_USERNAME,
        secret: str = DEFAULT_SECRET,
        integration_code: str = DEFAULT_INTEGRATION_CODE,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
    ) -> None:
        super().__init__(host, port, latency_ms=latency_ms)
        self.account = AutotaskAccount(data if data is not None else demo_data())
        # The live data, which tests read and change directly (`adjustments`: every one made, in order; the API
        # cannot read them back).
        self.companies = self.account.companies
        self.contacts = self.account.contacts
        self.contracts = self.account.contracts
        self.services = self.account.services
        self.contract_services = self.account.contract_services
        self.adjustments = self.account.adjustments
        self.invoices = self.account.invoices
        self.billing_items = self.account.billing_items
        self.username = username
        self.secret = secret
        self.integration_code = integration_code
        self._state_lock = threading.Lock()
        self._applied: list[SandboxRequest] = []
        self._counted: deque[datetime] = deque()  # when each request of the last hour came
        self._carried = 0  # requests a test said were made this hour before the ones counted

    @classmethod
    def from_file(cls, path: Path, **options: Any) -> AutotaskSandbox:
        return cls(json.loads(path.read_text(encoding="utf-8")), **options)

    @property
    def api_url(self) -> str:
        """The zone URL a client uses (ZoneInformation's `url`, less its trailing slash)."""
        return self.url + API_PREFIX

    def auth_headers(self) -> dict[str, str]:
        """The headers a well-behaved client sends (for tests and the demo's own calls)."""
        return {"ApiIntegrationCode": self.integration_code, "UserName": self.username, "Secret": self.secret}

    def units_on(self, contract_service_id: int, on: date) -> int:
        """The units a contract service has on a day: its adjustments effective on or before it, summed."""
        with self._state_lock:
            return units.units_on(self.account, contract_service_id, on)

    def unit_records(self, contract_service_id: int) -> list[dict[str, Any]]:
        """A contract service's ContractServiceUnits records, as the API shows them."""
        with self._state_lock:
            found = self.account.contract_services[contract_service_id]
            return units.records(self.account, found, now().date())

    @property
    def requests_this_hour(self) -> int:
        """What ThresholdInformation reports as `currentTimeframeRequestCount`."""
        with self._lock:
            self._forget_old()
            return self._carried + len(self._counted)

    @requests_this_hour.setter
    def requests_this_hour(self, count: int) -> None:
        """Start the hour's count at `count` (a test near the threshold); later requests add to it."""
        with self._lock:
            self._counted.clear()
            self._carried = count

    def writes(self) -> list[SandboxRequest]:
        """The writes (POST creates, PUT, PATCH) that succeeded, in order: what a sync changed. Queries are not."""
        with self._lock:
            return list(self._applied)

    def is_write(self, request: SandboxRequest) -> bool:
        """Autotask's `POST .../query` reads; every other POST, PUT and PATCH may write."""
        return request.method in WRITE_METHODS and not request.path.rstrip("/").lower().endswith("/query")

    # -- seeding, for tests and the demo: each returns the stored record ---------------------------------------------

    def add_company(self, name: str, company_type: int = 1, **fields: Any) -> dict[str, Any]:
        with self._state_lock:
            return self.account.add_company(name, company_type, **fields)

    def add_contact(self, company_id: int, first_name: str, last_name: str, **fields: Any) -> dict[str, Any]:
        with self._state_lock:
            return self.account.add_contact(company_id, first_name, last_name, **fields)

    def add_contract(self, company_id: int, name: str = "Managed Backup", **options: Any) -> dict[str, Any]:
        """A contract (keyword options: `contract_type` (7), `start` (2024-01-01), `end`, and any fields)."""
        with self._state_lock:
            return self.account.add_contract(company_id, name, **options)

    def add_service(
        self, name: str, sku: str, unit_price: float, unit_cost: float = 0.0, **fields: Any
    ) -> dict[str, Any]:
        with self._state_lock:
            return self.account.add_service(name, sku, unit_price, unit_cost, **fields)

    def add_contract_service(
        self, contract_id: int, service_id: int, unit_price: float | None = None, **fields: Any
    ) -> dict[str, Any]:
        with self._state_lock:
            if not self.account.is_recurring(self.account.contracts[contract_id]):
                raise ValueError(f"contract {contract_id} is not a Recurring Service contract")
            return self.account.new_contract_service(contract_id, service_id, unit_price, **fields)

    def adjust(self, contract_service_id: int, change: int, effective: date) -> dict[str, Any]:
        """An adjustment a person makes in Autotask's screens; the same rules as the API's. Returns it."""
        with self._state_lock:
            found = self.account.contract_services[contract_service_id]
            problem = units.adjustment_problem(self.account, found, change, effective, now().date())
            if problem is not None:
                raise ValueError(problem)
            return units.record_adjustment(self.account, found, change, effective)

    def invoice(self, period_start: date, on: date | None = None) -> list[dict[str, Any]]:
        """Approve, post and invoice the billing period beginning in `period_start`'s month (see
        `sandbox_invoices`), dated `on` (default: now); returns the invoices added."""
        posted_at = now() if on is None else datetime.combine(on, time(9), tzinfo=UTC)
        with self._state_lock:
            return invoice(self.account, period_start, posted_at)

    # -- the front door ---------------------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path[len(API_PREFIX) :] if request.path.lower().startswith(API_PREFIX.lower()) else None
        route = next(
            (
                (handler, found.groupdict())
                for method, pattern, handler in ROUTES
                if path is not None and method == request.method and (found := pattern.match(path))
            ),
            None,
        )
        zone = path is not None and path.lower() == ZONE_PATH.lower()
        if not zone:
            refused = self._refusal(request)
            if refused is not None:
                return refused
            if self._count() > EXTERNAL_REQUEST_THRESHOLD:
                return query.error(429, "the hourly request threshold (10000) has been exceeded; wait for the hour")
        if route is None:
            return query.not_found(f"{request.method} {request.path} is not an operation of the sandbox's API")
        handler, groups = route
        return self._route(handler, request, groups)

    def _refusal(self, request: SandboxRequest) -> SandboxResponse | None:
        given = (request.header("apiintegrationcode"), request.header("username"), request.header("secret"))
        if None in given:
            return query.error(401, "ApiIntegrationCode, UserName and Secret headers are required")
        code, user, secret = given
        if (
            code != self.integration_code
            or (user or "").casefold() != self.username.casefold()
            or secret != self.secret
        ):
            return query.error(401, "the API user's credentials or tracking identifier are not valid")
        return None

    def _count(self) -> int:
        with self._lock:
            self._counted.append(datetime.now(UTC))
            self._forget_old()
            return self._carried + len(self._counted)

    def _forget_old(self) -> None:
        hour_ago = datetime.now(UTC) - timedelta(hours=1)
        while self._counted and self._counted[0] < hour_ago:
            self._counted.popleft()

    def _route(self, handler: Handler, request: SandboxRequest, groups: dict[str, str]) -> SandboxResponse:
        def answer() -> SandboxResponse:
            with self._state_lock:
                context = Context(
                    account=self.account,
                    today=now().date(),
                    api_url=self.api_url,
                    web_url=self.url + "/",
                    username=self.username,
                    requests_this_hour=self.requests_this_hour,
                )
                try:
                    response = handler(context, request, groups)
                except query.Refused as refusal:
                    response = refusal.response
            if self.is_write(request) and response.status < 400:
                with self._lock:
                    self._applied.append(request)
            return response

        return self.hooked(request, answer)


def main(argv: list[str] | None = None) -> None:
    """`python -m providers.autotask.sandbox --port 8095`: serve the sandbox in the foreground for a demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--data", type=Path, help="JSON data file (default: the shipped demo data)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay every answer by this many milliseconds")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {"port": args.port, "latency_ms": args.latency_ms}
    sandbox = AutotaskSandbox.from_file(args.data, **options) if args.data else AutotaskSandbox(**options)
    print(f"Sandbox Autotask on {sandbox.api_url} (zone lookup: {sandbox.api_url}{ZONE_PATH})", flush=True)
    print(
        f"  UserName {sandbox.username}, Secret {sandbox.secret}, ApiIntegrationCode {sandbox.integration_code}",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()


if __name__ == "__main__":
    main()
