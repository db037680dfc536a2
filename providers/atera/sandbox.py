"""Sandbox Atera: a local server implementing the subset of API v3 the connector uses, from a JSON data file.

This module is the front door (API key or bearer token, rate limit, routing, paging) and the command line. The
account's data is `sandbox_account.AteraAccount`; the endpoints are in `sandbox_handlers` (customers, contacts,
agents, rates, custom values), `sandbox_contracts` and `sandbox_invoices` (which also has the invoicing run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from providers.atera import sandbox_contracts as contracts
from providers.atera import sandbox_handlers as handlers
from providers.atera import sandbox_invoices as invoices
from providers.atera.sandbox_account import AteraAccount, default_data
from providers.atera.sandbox_handlers import Handler, problem
from providers.sandbox import SandboxRequest, SandboxResponse, SandboxServer

__all__ = ["API_PREFIX", "DEFAULT_API_KEY", "AteraSandbox", "default_data", "main"]

API_PREFIX = "/api/v3"
DEFAULT_API_KEY = "sandbox-atera-key-0001"
_ID = r"(?P<id>\d+)"
_RATES = r"/rates/(?P<kind>products|expenses)"
_CUSTOM_VALUE = r"/customvalues/(?P<kind>\w+)field/(?P<id>\d+)/(?P<field>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{pattern}$"), handler)
    for method, pattern, handler in (
        ("GET", r"/customers", handlers.list_customers),
        ("POST", r"/customers", handlers.create_customer),
        ("GET", rf"/customers/{_ID}", handlers.get_customer),
        ("PUT", rf"/customers/{_ID}", handlers.update_customer),
        ("GET", r"/contacts", handlers.list_contacts),
        ("POST", r"/contacts", handlers.create_contact),
        ("GET", r"/agents", handlers.list_agents),
        ("GET", r"/agents/customer/(?P<customer>\d+)", handlers.list_agents),
        ("GET", r"/contracts", contracts.list_contracts),
        ("POST", r"/contracts", contracts.create_contract),
        ("GET", r"/contracts/customer/(?P<customer>\d+)", contracts.list_contracts),
        ("GET", rf"/contracts/{_ID}", contracts.get_contract),
        ("PUT", rf"/contracts/{_ID}", contracts.update_contract),
        ("POST", rf"/contracts/{_ID}", contracts.update_contract),
        ("GET", _RATES, handlers.list_rates),
        ("POST", _RATES, handlers.create_rate),
        ("GET", rf"{_RATES}/{_ID}", handlers.get_rate),
        ("PUT", rf"{_RATES}/{_ID}", handlers.update_rate),
        ("DELETE", rf"{_RATES}/{_ID}", handlers.delete_rate),
        ("GET", _CUSTOM_VALUE, handlers.get_custom_value),
        ("PUT", _CUSTOM_VALUE, handlers.set_custom_value),
        ("POST", _CUSTOM_VALUE, handlers.set_custom_value),
        ("GET", r"/billing/invoices", invoices.list_invoices),
        ("GET", r"/billing/invoice/(?P<number>\d+)", invoices.get_invoice),
    )
]


class AteraSandbox(SandboxServer):
    """Behaves like Atera for the demo and the tests; `requests` and `writes()` show what a client did.

    The account's data is `account`; `customers`, `contracts`, `rates` and the rest are its containers.
    """

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        bearer_token: str | None = None,
        rate_limit: tuple[int, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        empty_next_link: bool = False,
        ignore_page: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
    ) -> None:
        super().__init__(host, port, latency_ms=latency_ms)
        self.account = AteraAccount(data if data is not None else default_data())
        # The account's containers, which tests read and change directly (each is changed in place, never replaced).
        self.customers = self.account.customers
        self.contacts = self.account.contacts
        self.agents = self.account.agents
        self.rates = self.account.rates
        self.contracts = self.account.contracts
        self.custom_fields = self.account.custom_fields
        self.custom_values = self.account.custom_values
        self.invoices = self.account.invoices
        self.api_key = api_key
        self.bearer_token = bearer_token
        self.rate_limit = rate_limit
        self.clock = clock
        # Atera ends a list with nextLink null on some endpoints and "" on others: both shapes are servable.
        self.empty_next_link = empty_next_link
        # A broken server serves page 1 whatever `page` asks (and says so): a client must not read it for ever.
        self.ignore_page = ignore_page
        self._state_lock = threading.Lock()
        self._served: deque[float] = deque()
        self.rate_limited = 0  # how many requests the rate limit refused, so tests can assert a client stayed under it

    @classmethod
    def from_file(cls, path: Path, **options: Any) -> AteraSandbox:
        return cls(json.loads(path.read_text(encoding="utf-8")), **options)

    @property
    def api_url(self) -> str:
        """What the connector's `[atera] base_url` should be."""
        return self.url + API_PREFIX

    def custom_value(self, kind: str, item_id: int, field: str) -> str | None:
        """What a custom field holds now (for tests)."""
        with self._state_lock:
            return self.account.custom_values.get((kind, item_id, field))

    def invoice_retainers(
        self, start: date, end: date, invoice_date: date, *, utc: bool = False
    ) -> list[dict[str, Any]]:
        """Invoice every active Retainer contract for [start, end] at its current Quantity x Rate, as Atera's
        invoicing run would (untaxed, so totals are easy to check). Returns the invoices it added. `utc`: dates
        written as the UTC instants of the account zone's midnights (`...T23:00:00Z`), as Atera may send them."""
        with self._state_lock:
            return invoices.invoice_retainers(self.account, start, end, invoice_date, utc=utc)

    # -- the front door: auth, request rate, routing, paging ---------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if not self._authorised(request):
            return SandboxResponse(401)
        limited = self._over_rate(request)
        if limited is not None:
            return limited
        if not request.path.startswith(API_PREFIX):
            return problem(404, "Not Found", f"no such path {request.path}")
        path = request.path[len(API_PREFIX) :] or "/"
        for method, pattern, handler in ROUTES:
            found = pattern.match(path)
            if found and method == request.method:
                return self._route(handler, request, found.groupdict())
        if any(pattern.match(path) for _, pattern, _ in ROUTES):
            return SandboxResponse(405)
        return problem(404, "Not Found", f"no such path {request.path}")

    def _route(self, handler: Handler, request: SandboxRequest, groups: dict[str, str]) -> SandboxResponse:
        def answer() -> SandboxResponse:
            with self._state_lock:
                reply = handler(self.account, request, groups)
                return self._page(request, reply) if isinstance(reply, list) else reply

        return self.hooked(request, answer)

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

    def _page(self, request: SandboxRequest, items: list[dict[str, Any]]) -> SandboxResponse:
        try:
            page = int(request.param("page") or 1)
            size = int(request.param("itemsInPage") or 20)
        except ValueError:
            return problem(400, "Bad Request", "page and itemsInPage must be integers")
        if page < 1 or size < 1:
            return problem(400, "Bad Request", "page and itemsInPage start at 1")
        if self.ignore_page:
            page = 1
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


def main(argv: list[str] | None = None) -> None:
    """`python -m providers.atera.sandbox --port 8093`: serve the sandbox in the foreground for a demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--data", type=Path, help="JSON data file (default: the shipped demo account)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--latency-ms", type=float, default=0, help="delay every answer by this many milliseconds")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {"api_key": args.api_key, "port": args.port, "latency_ms": args.latency_ms}
    sandbox = AteraSandbox.from_file(args.data, **options) if args.data else AteraSandbox(**options)
    print(f"Sandbox Atera on {sandbox.api_url} (X-API-KEY {args.api_key})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()


if __name__ == "__main__":
    main()
