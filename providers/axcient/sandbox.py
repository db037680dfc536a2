"""Sandbox backup portal: a local server implementing the API shape in specs/backup-portal.md from a JSON data set.

Endpoints: `POST /api/v1/session`, `GET /api/v1/customers`, `GET /api/v1/accounts?customer_id=ID`, paged with
`page`/`per_page` and answering `{"items", "page", "per_page", "total"}`; errors as `{"error": {"code", "message"}}`.

Assumption, stated as one: `GET /api/v1/accounts` without `customer_id` lists every account of the portal. The
spec documents only the per-customer form; the sandbox serves both (switch off with `allow_all_accounts=False`)
and the connector uses the portal-wide form only when `[axcient] list_all_accounts = true`.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from providers.axcient.generate import demo_dataset, generate_dataset
from providers.sandbox import SandboxRequest, SandboxResponse, SandboxServer

API = "/api/v1"
DEFAULT_USERNAME = "partner-api"
DEFAULT_PASSWORD = "sandbox-axcient-password-0001"
DEFAULT_PER_PAGE = 100


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> SandboxResponse:
    return SandboxResponse.of_json({"error": {"code": code, "message": message}}, status, headers)


class AxcientSandbox(SandboxServer):
    """Behaves like the portal for the demo and the tests; `requests` shows what a client did."""

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        token_lifetime: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        rate_limit_every: int | None = None,
        retry_after: int = 1,
        max_per_page: int = 1000,
        allow_all_accounts: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
    ) -> None:
        super().__init__(host, port, latency_ms=latency_ms)
        self.username = username
        self.password = password
        self.token_lifetime = token_lifetime
        self.clock = clock
        self.rate_limit_every = rate_limit_every
        self.retry_after = retry_after
        self.max_per_page = max_per_page
        self.allow_all_accounts = allow_all_accounts
        self.tokens: dict[str, float] = {}
        self.rate_limited = 0  # how many requests were answered 429, for tests
        self._counted = 0
        self._state_lock = threading.Lock()
        self.customers: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self._by_customer: dict[str, list[dict[str, Any]]] = {}
        self.load(data if data is not None else demo_dataset())

    @classmethod
    def from_file(cls, path: Path, **options: Any) -> AxcientSandbox:
        return cls(json.loads(path.read_text(encoding="utf-8")), **options)

    def load(self, data: dict[str, Any]) -> None:
        """Serve this data set from now on (customers and accounts exactly as the API returns them)."""
        state = copy.deepcopy(data)
        with self._state_lock:
            self.customers = list(state.get("customers", []))
            self.accounts = list(state.get("accounts", []))
            self._by_customer = {str(c.get("id")): [] for c in self.customers}
            for account in self.accounts:
                self._by_customer.setdefault(str(account.get("customer_id")), []).append(account)

    def expire_tokens(self) -> None:
        """Every session token issued so far is refused from now on (as after their lifetime)."""
        with self._state_lock:
            self.tokens.clear()

    def api_requests(self, path: str | None = None) -> list[SandboxRequest]:
        """Requests seen, optionally only those to one path (e.g. `/api/v1/accounts`)."""
        return [r for r in self.requests if path is None or r.path == path]

    # -- the front door ----------------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        limited = self._rate_limited()
        if limited is not None:
            return limited
        path = request.path.rstrip("/")
        if path == f"{API}/session":
            if request.method != "POST":
                return error(405, "method_not_allowed", "use POST to open a session")
            return self._login(request)
        if not path.startswith(API):
            return error(404, "not_found", f"no such path {request.path}")
        if not self._authorised(request):
            return error(401, "unauthorized", "missing, unknown or expired session token; log in again")
        if request.method != "GET":
            return error(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}")
        if path == f"{API}/customers":
            return self._page(request, self.customers)
        if path == f"{API}/accounts":
            return self._accounts(request)
        return error(404, "not_found", f"no such path {request.path}")

    def _rate_limited(self) -> SandboxResponse | None:
        if not self.rate_limit_every:
            return None
        with self._state_lock:
            self._counted += 1
            if self._counted % self.rate_limit_every:
                return None
            self.rate_limited += 1
        return error(429, "rate_limited", "too many requests", {"Retry-After": str(self.retry_after)})

    def _login(self, request: SandboxRequest) -> SandboxResponse:
        try:
            body = request.json()
        except ValueError:
            return error(400, "bad_request", "the body must be JSON")
        if not isinstance(body, dict) or not isinstance(body.get("username"), str):
            return error(400, "bad_request", 'the body must be {"username": ..., "password": ...}')
        if body.get("username") != self.username or body.get("password") != self.password:
            return error(401, "invalid_credentials", "user name or password is wrong")
        token = secrets.token_urlsafe(24)
        with self._state_lock:
            self.tokens[token] = self.clock() + self.token_lifetime
        return SandboxResponse.of_json({"token": token, "expires_in": int(self.token_lifetime)})

    def _authorised(self, request: SandboxRequest) -> bool:
        auth = request.header("authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        with self._state_lock:
            expires = self.tokens.get(auth.removeprefix("Bearer "))
            if expires is None:
                return False
            if self.clock() >= expires:
                del self.tokens[auth.removeprefix("Bearer ")]
                return False
        return True

    # -- lists -------------------------------------------------------------------------------------------------

    def _page(self, request: SandboxRequest, items: list[dict[str, Any]]) -> SandboxResponse:
        try:
            page = int(request.param("page") or 1)
            per_page = int(request.param("per_page") or DEFAULT_PER_PAGE)
        except ValueError:
            return error(400, "bad_request", "page and per_page must be integers")
        if page < 1 or per_page < 1:
            return error(400, "bad_request", "page and per_page start at 1")
        # Like many APIs, a page size over the maximum is quietly capped; the answer says the size used.
        per_page = min(per_page, self.max_per_page)
        chosen = items[(page - 1) * per_page : page * per_page]
        return SandboxResponse.of_json({"items": chosen, "page": page, "per_page": per_page, "total": len(items)})

    def _accounts(self, request: SandboxRequest) -> SandboxResponse:
        customer_id = request.param("customer_id")
        if customer_id is None:
            if not self.allow_all_accounts:
                return error(400, "bad_request", "customer_id is required")
            return self._page(request, self.accounts)
        found = self._by_customer.get(customer_id)
        if found is None:
            return error(404, "not_found", f"customer {customer_id} does not exist")
        return self._page(request, found)


def main(argv: list[str] | None = None) -> None:
    """`python -m providers.axcient.sandbox --port 8094`: serve the sandbox portal in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8094)
    parser.add_argument("--data", type=Path, help="JSON data set (default: the small demo portal)")
    parser.add_argument("--generate", type=int, metavar="N", help="serve a generated portal of N customers")
    parser.add_argument("--accounts", type=int, help="with --generate: total accounts (default ten per customer)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--token-lifetime", type=float, default=3600.0, help="seconds a session token lasts")
    parser.add_argument("--rate-limit-every", type=int, help="answer every Nth request 429 with Retry-After")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay every answer by this many milliseconds")
    args = parser.parse_args(argv)
    if args.generate is not None:
        data = generate_dataset(args.generate, accounts=args.accounts, seed=args.seed)
    elif args.data is not None:
        data = json.loads(args.data.read_text(encoding="utf-8"))
    else:
        data = demo_dataset()
    sandbox = AxcientSandbox(
        data,
        username=args.username,
        password=args.password,
        token_lifetime=args.token_lifetime,
        rate_limit_every=args.rate_limit_every,
        port=args.port,
        latency_ms=args.latency_ms,
    )
    print(
        f"Sandbox backup portal on {sandbox.url} (user {args.username}): {len(sandbox.customers)} customers, "
        f"{len(sandbox.accounts)} accounts",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()


if __name__ == "__main__":
    main()
