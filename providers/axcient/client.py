"""Backup portal API client: session login, paging to the last page, readable errors, typed models out."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from connector.errors import ConfigError, DataError, RateLimitedError, VendorAuthError, VendorError
from connector.http import Action, HttpSettings, RetryAfterTooLong, action_for, build_client, safe_url
from connector.redact import register_secret
from providers.axcient.models import Account, Customer, ErrorBody, Page, Session
from providers.axcient.settings import AxcientSettings

log = logging.getLogger(__name__)

VENDOR = "axcient"
API = "/api/v1"
# A list longer than this many pages means the server's paging is broken, not that the portal is that large.
MAX_PAGES = 100_000

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Invalid:
    """A list item that did not validate: never dropped in silence, always reported with its id and field."""

    kind: str
    id: str
    customer_id: str | None
    message: str

    def describe(self) -> str:
        return f"{self.kind} {self.id}: {self.message}"


@dataclass
class Listing(Generic[M]):
    """Every item of a list that validated, and those that did not."""

    items: list[M] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)


def _problem(response: httpx.Response) -> str:
    """The vendor's own reason from `{"error": {"code", "message"}}`, or whatever text came instead."""
    try:
        return ErrorBody.model_validate(response.json()).describe()
    except (ValueError, ValidationError):
        text = response.text.strip()
        return text[:200] if text else "no details given"


def _describe_validation(error: ValidationError) -> str:
    """`field: message; field: message`, never the input values (a payload may carry anything)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(p) for p in item["loc"]) or "(item)"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)


def _raw_id(raw: Any, key: str = "id") -> str | None:
    value = raw.get(key) if isinstance(raw, dict) else None
    return None if value is None or isinstance(value, dict | list) else str(value)


class AxcientClient:
    """Thin typed wrapper over `httpx.Client`; retries and backoff live in the client's transport."""

    def __init__(self, http: httpx.Client, *, username: str, password: SecretStr, per_page: int = 100) -> None:
        self._http = http
        self._username = username
        self._password = password
        self._per_page = per_page
        self._token: str | None = None
        self.logins = 0

    def close(self) -> None:
        self._http.close()

    # -- session -----------------------------------------------------------------------------------------------

    def login(self) -> None:
        """Open a session; a refused login is a configuration problem, said as one."""
        body = {"username": self._username, "password": self._password.get_secret_value()}
        # Opening a session creates nothing that lasts, so a 5xx on it is retried like a read.
        response = self._send("POST", f"{API}/session", json_body=body, retry_safe=True)
        where = f"POST {safe_url(response.request.url)}"
        if response.status_code in (400, 401, 403):
            raise VendorAuthError(
                VENDOR,
                f"login refused ({response.status_code}): {_problem(response)}; check [axcient] username and "
                "password (a sub-account with the role Partner API)",
                status_code=response.status_code,
            )
        data = self._decode(response, where)
        try:
            session = Session.model_validate(data)
        except ValidationError as error:
            raise DataError(f"axcient: {where}: unexpected session payload: {_describe_validation(error)}") from None
        # The token is a credential for its lifetime: mask it wherever it might be printed.
        register_secret(session.token)
        self._token = session.token
        self.logins += 1

    # -- the one request path ----------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        retry_safe: bool = False,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        try:
            return self._http.request(
                method, path, params=params, json=json_body, headers=headers, extensions={"retry_safe": retry_safe}
            )
        except RetryAfterTooLong as error:
            raise RateLimitedError(VENDOR, f"{method} {path}: {error}", status_code=429) from error
        except httpx.HTTPError as error:
            raise VendorError(VENDOR, f"{method} {path}: cannot reach the portal: {error}") from error

    def _decode(self, response: httpx.Response, where: str) -> Any:
        status = response.status_code
        action = action_for(status)
        if status == 429:
            raise RateLimitedError(
                VENDOR, f"{where}: still rate-limited (429) after retries; try again later", status_code=429
            )
        if action is Action.CONFIG:
            raise VendorAuthError(
                VENDOR,
                f"{where}: access denied ({status}): {_problem(response)}; the API user needs the Partner API role",
                status_code=status,
            )
        if action is Action.RETRY:
            raise VendorError(
                VENDOR,
                f"{where}: HTTP {status} after retries: the portal is failing; try again later",
                status_code=status,
            )
        if action is Action.FAIL:
            raise VendorError(VENDOR, f"{where}: HTTP {status}: {_problem(response)}", status_code=status)
        try:
            # Sizes may come as JSON decimals; parse them straight to Decimal, never through float.
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as error:
            raise DataError(f"axcient: {where}: response is not JSON ({len(response.content)} bytes)") from error

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        if self._token is None:
            self.login()
        response = self._send("GET", path, params=params)
        if response.status_code == 401:
            # Tokens expire; one fresh login is the documented remedy, a second refusal is a real problem.
            log.info("axcient: session refused on GET %s (expired token?); logging in again", path)
            self.login()
            response = self._send("GET", path, params=params)
            if response.status_code == 401:
                raise VendorAuthError(
                    VENDOR,
                    f"GET {safe_url(response.request.url)}: refused (401) even right after a fresh login: "
                    f"{_problem(response)}; check that [axcient] username has the Partner API role",
                    status_code=401,
                )
        return self._decode(response, f"GET {safe_url(response.request.url)}")

    def _pages(self, path: str, params: dict[str, Any], kind: str) -> list[Any]:
        """Every raw item of a list, page by page until `total` items have come, whatever the page size."""
        items: list[Any] = []
        page = 1
        total = 0
        while True:
            data = self._get(path, {**params, "page": page, "per_page": self._per_page})
            try:
                result = Page.model_validate(data)
            except ValidationError as error:
                raise DataError(
                    f"axcient: GET {path} page {page}: unexpected page: {_describe_validation(error)}"
                ) from None
            if result.page != page:
                raise DataError(f"axcient: GET {path}: asked for page {page}, the portal sent page {result.page}")
            items.extend(result.items)
            total = result.total
            # Stop on the count, not on a short page: a portal may cap per_page below what we asked for.
            if len(items) >= total or not result.items:
                break
            page += 1
            if page > MAX_PAGES:
                raise DataError(f"axcient: GET {path}: more than {MAX_PAGES} pages; paging looks broken")
        if len(items) != total:
            raise DataError(
                f"axcient: GET {path}: {len(items)} {kind}s received but the portal counts {total}; "
                "the list changed while paging or was cut short; run again"
            )
        counts = Counter(i for raw in items if (i := _raw_id(raw)) is not None)
        repeated = sorted(i for i, n in counts.items() if n > 1)
        if repeated:
            raise DataError(
                f"axcient: GET {path}: {kind} {', '.join(repeated[:5])} listed twice; the list changed while paging"
            )
        return items

    def _validated(self, model: type[M], raw_items: list[Any], kind: str) -> Listing[M]:
        listing: Listing[M] = Listing()
        for raw in raw_items:
            try:
                listing.items.append(model.model_validate(raw))
            except ValidationError as error:
                listing.invalid.append(
                    Invalid(kind, _raw_id(raw) or "(no id)", _raw_id(raw, "customer_id"), _describe_validation(error))
                )
        return listing

    # -- reads -------------------------------------------------------------------------------------------------

    def customers(self) -> Listing[Customer]:
        return self._validated(Customer, self._pages(f"{API}/customers", {}, "customer"), "customer")

    def accounts(self, customer_id: str | None = None) -> Listing[Account]:
        """One customer's accounts, or every account of the portal (`customer_id` None; see the sandbox's note)."""
        params = {"customer_id": customer_id} if customer_id is not None else {}
        return self._validated(Account, self._pages(f"{API}/accounts", params, "account"), "account")


def build_axcient_client(
    settings: AxcientSettings,
    http: HttpSettings,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> AxcientClient:
    """A retrying client for the configured portal; the password is read here and never logged."""
    missing = [k for k in ("base_url", "username", "password") if getattr(settings, k) is None]
    if missing:
        raise ConfigError(f"[axcient] {', '.join(missing)} not set")
    assert settings.password is not None and settings.username is not None
    password = settings.password.secret("axcient.password")
    client = build_client(
        http,
        base_url=str(settings.base_url).rstrip("/"),
        headers={"Accept": "application/json"},
        transport=transport,
        sleep=sleep,
        clock=clock,
    )
    return AxcientClient(client, username=settings.username, password=password, per_page=settings.per_page)
