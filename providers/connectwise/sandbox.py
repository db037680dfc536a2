"""Sandbox ConnectWise PSA (Manage): a local server answering the 25 operations of the OpenAPI subset, and no other.

This module is the front door (authentication, the routes, paging) and the command line. The data is
`sandbox_account.ConnectWiseAccount`; the handlers are in `sandbox_handlers`, what a write must hold in
`sandbox_records`, the query parameters and the answers' media type in `sandbox_query`, the `conditions` language
in `sandbox_conditions`, and the invoicing run in `sandbox_invoices`.

Authentication is ConnectWise's: HTTP Basic with the user `COMPANYID+PUBLICKEY` and the password `PRIVATEKEY`, and
a `clientId` header naming the integration (ConnectWise refuses calls without one). A client pins the API version
with `Accept: application/vnd.connectwise.com+json; version=2025.8`; ConnectWise answers other versions too, so the
sandbox does, and lists such requests in `unpinned` for tests to assert on.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import re
import threading
from datetime import date
from pathlib import Path
from typing import Any

from providers.connectwise import sandbox_handlers as handlers
from providers.connectwise import sandbox_query as query
from providers.connectwise.sandbox_account import ConnectWiseAccount, demo_data
from providers.connectwise.sandbox_handlers import Handler
from providers.connectwise.sandbox_invoices import invoice_agreements
from providers.connectwise.sandbox_query import API_VERSION, MEDIA_TYPE
from providers.sandbox import WRITE_METHODS, SandboxRequest, SandboxResponse, SandboxServer

API_PREFIX = "/v4_6_release/apis/3.0"
DEFAULT_COMPANY_ID = "examplemsp"
DEFAULT_PUBLIC_KEY = "SandboxPublicKey01"
DEFAULT_PRIVATE_KEY = "SandboxPrivateKey0001"
DEFAULT_CLIENT_ID = "3f2b8c1e-5d4a-4e7b-9c6d-0a1b2c3d4e5f"
_ID = r"(?P<id>\d+)"
_ADDITIONS = r"/finance/agreements/(?P<parentId>\d+)/additions"
# The subset's 25 operations, and nothing else: any other method or path is a 404.
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{pattern}$"), handler)
    for method, pattern, handler in (
        ("GET", r"/company/companies", handlers.listing(handlers.companies)),
        ("POST", r"/company/companies", handlers.create_company),
        ("GET", r"/company/companies/count", handlers.counting(handlers.companies)),
        ("GET", rf"/company/companies/{_ID}", handlers.one(handlers.companies, "Company")),
        ("GET", r"/company/contacts", handlers.listing(handlers.contacts)),
        ("POST", r"/company/contacts", handlers.create_contact),
        ("GET", rf"/company/contacts/{_ID}", handlers.one(handlers.contacts, "Contact")),
        ("GET", r"/finance/agreements", handlers.listing(handlers.agreements)),
        ("POST", r"/finance/agreements", handlers.create_agreement),
        ("GET", r"/finance/agreements/count", handlers.counting(handlers.agreements)),
        ("GET", r"/finance/agreements/types", handlers.listing(handlers.agreement_types)),
        ("GET", rf"/finance/agreements/{_ID}", handlers.one(handlers.agreements, "Agreement")),
        ("PATCH", rf"/finance/agreements/{_ID}", handlers.patch_agreement),
        ("GET", _ADDITIONS, handlers.listing(handlers.additions)),
        ("POST", _ADDITIONS, handlers.create_addition),
        ("GET", rf"{_ADDITIONS}/count", handlers.counting(handlers.additions)),
        ("GET", rf"{_ADDITIONS}/{_ID}", handlers.one(handlers.additions, "Addition")),
        ("PATCH", rf"{_ADDITIONS}/{_ID}", handlers.patch_addition),
        ("PUT", rf"{_ADDITIONS}/{_ID}", handlers.put_addition),
        ("GET", r"/procurement/catalog", handlers.listing(handlers.catalog)),
        ("POST", r"/procurement/catalog", handlers.create_catalog_item),
        ("GET", rf"/procurement/catalog/{_ID}", handlers.one(handlers.catalog, "CatalogItem")),
        ("GET", r"/finance/invoices", handlers.listing(handlers.invoices)),
        ("GET", rf"/finance/invoices/{_ID}", handlers.one(handlers.invoices, "Invoice")),
        ("GET", r"/system/info", handlers.system_info),
    )
]


class ConnectWiseSandbox(SandboxServer):
    """Behaves like ConnectWise PSA for the demo and the tests; `requests` and `writes()` show what a client did.

    `data` is shaped like `sandbox_data.json` (default: the demo's data; `{}` starts empty).
    """

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        company_id: str = DEFAULT_COMPANY_ID,
        public_key: str = DEFAULT_PUBLIC_KEY,
        private_key: str = DEFAULT_PRIVATE_KEY,
        client_id: str = DEFAULT_CLIENT_ID,
        addition_custom_fields: list[dict[str, Any]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
    ) -> None:
        super().__init__(host, port, latency_ms=latency_ms)
        self.account = ConnectWiseAccount(data if data is not None else demo_data(), addition_custom_fields)
        self.company_id = company_id
        self.public_key = public_key
        self.private_key = private_key
        self.client_id = client_id
        self._state_lock = threading.Lock()
        self._applied: list[SandboxRequest] = []
        self.unpinned: list[SandboxRequest] = []  # answered requests whose Accept did not pin version 2025.8
        # The live data, which tests read and change directly (additions by agreement id, then by addition id).
        self.companies = self.account.companies
        self.contacts = self.account.contacts
        self.agreement_types = self.account.agreement_types
        self.agreements = self.account.agreements
        self.additions = self.account.additions
        self.catalog = self.account.catalog
        self.invoices = self.account.invoices

    @classmethod
    def from_file(cls, path: Path, **options: Any) -> ConnectWiseSandbox:
        return cls(json.loads(path.read_text(encoding="utf-8")), **options)

    @property
    def api_url(self) -> str:
        """The API's base URL, what a client's `base_url` should be."""
        return self.url + API_PREFIX

    @property
    def username(self) -> str:
        """The Basic user ConnectWise expects: company id and public key joined by a plus."""
        return f"{self.company_id}+{self.public_key}"

    def auth_headers(self) -> dict[str, str]:
        """The headers a well-behaved client sends (for tests and the demo's own calls)."""
        token = base64.b64encode(f"{self.username}:{self.private_key}".encode()).decode()
        return {"Authorization": f"Basic {token}", "clientId": self.client_id, "Accept": MEDIA_TYPE}

    def addition_view(self, addition_id: int) -> dict[str, Any]:
        """An addition as the API shows it (derived fields and custom fields included)."""
        with self._state_lock:
            addition = self.account.addition(addition_id)
            if addition is None:
                raise KeyError(f"no addition {addition_id}")
            return self.account.addition_view(addition)

    def custom_value(self, addition_id: int, field_id: int = 7) -> Any:
        """What an addition's custom field holds now (None when unset)."""
        with self._state_lock:
            return self.account.custom_values.get((addition_id, field_id))

    def writes(self) -> list[SandboxRequest]:
        """The writes (POST, PATCH, PUT) that succeeded, in order: what a sync changed."""
        with self._lock:
            return list(self._applied)

    # -- seeding, for tests and the demo: each returns the stored record ---------------------------------------------

    def add_company(self, name: str, identifier: str | None = None, **fields: Any) -> dict[str, Any]:
        with self._state_lock:
            return self.account.add_company(name, identifier, **fields)

    def add_agreement(
        self, company_id: int, name: str, type_name: str = "Managed Services", **fields: Any
    ) -> dict[str, Any]:
        with self._state_lock:
            return self.account.add_agreement(company_id, name, type_name, **fields)

    def add_catalog_item(
        self, identifier: str, description: str, price: float, cost: float = 0.0, uom: str = "Each", **fields: Any
    ) -> dict[str, Any]:
        with self._state_lock:
            return self.account.add_catalog_item(identifier, description, price, cost, uom, **fields)

    def add_addition(
        self, agreement_id: int, product: str, quantity: float, unit_price: float | None = None, **fields: Any
    ) -> dict[str, Any]:
        with self._state_lock:
            return self.account.add_addition(agreement_id, product, quantity, unit_price, **fields)

    def invoice_agreements(self, on: date) -> list[dict[str, Any]]:
        """Run ConnectWise's invoicing for `on`: one `Agreement` invoice per agreement in force (see
        `sandbox_invoices`). Returns the invoices it added."""
        with self._state_lock:
            return invoice_agreements(self.account, on)

    # -- the front door: authentication, routing, paging ---------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        if not request.path.startswith(API_PREFIX + "/"):
            return query.not_found(f"no such path {request.path}")
        path = request.path[len(API_PREFIX) :]
        for method, pattern, handler in ROUTES:
            found = pattern.match(path)
            if found and method == request.method:
                self._note_version(request)
                return self._route(handler, request, found.groupdict())
        # ConnectWise has more operations than the subset; the sandbox answers the subset's only.
        return query.not_found(f"{request.method} {path} is not an operation of the sandbox's API description")

    def _refusal(self, request: SandboxRequest) -> SandboxResponse | None:
        """401 unless the Basic credentials and the clientId header are this sandbox's."""
        if not self._credentials_match(request.header("authorization") or ""):
            return query.error(401, "Unauthorized", "the Basic credentials are not COMPANYID+PUBLICKEY:PRIVATEKEY")
        if request.header("clientid") != self.client_id:
            # ConnectWise requires a registered clientId on every call; the sandbox knows one.
            return query.error(401, "Unauthorized", "a registered clientId header is required")
        return None

    def _credentials_match(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        return user == self.username and password == self.private_key

    def _note_version(self, request: SandboxRequest) -> None:
        accept = (request.header("accept") or "").replace(" ", "").lower()
        if f"version={API_VERSION}" not in accept or "application/vnd.connectwise.com+json" not in accept:
            with self._lock:
                self.unpinned.append(request)

    def _route(self, handler: Handler, request: SandboxRequest, groups: dict[str, str]) -> SandboxResponse:
        def answer() -> SandboxResponse:
            with self._state_lock:
                reply = handler(self.account, request, groups)
                response = query.page(reply, request, self.url) if isinstance(reply, list) else reply
            if request.method in WRITE_METHODS and response.status < 400:
                with self._lock:
                    self._applied.append(request)
            return response

        return self.hooked(request, answer)


def main(argv: list[str] | None = None) -> None:
    """`python -m providers.connectwise.sandbox --port 8094`: serve the sandbox in the foreground for a demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8094)
    parser.add_argument("--data", type=Path, help="JSON data file (default: the shipped demo data)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay every answer by this many milliseconds")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {"port": args.port, "latency_ms": args.latency_ms}
    sandbox = ConnectWiseSandbox.from_file(args.data, **options) if args.data else ConnectWiseSandbox(**options)
    print(f"Sandbox ConnectWise on {sandbox.api_url}", flush=True)
    print(
        f"  company id {sandbox.company_id}, public key {sandbox.public_key}, private key {sandbox.private_key}, "
        f"clientId {sandbox.client_id} (Basic user COMPANYID+PUBLICKEY, password PRIVATEKEY)",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()


if __name__ == "__main__":
    main()
