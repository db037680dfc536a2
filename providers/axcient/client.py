"""Backup portal API client: session login, paging to the last page, readable errors, typed models out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from connector.core.backoff import SharedBackoff
from connector.core.errors import ConfigError, ConnectorError, DataError, VendorAuthError
from connector.core.http import HttpSettings, Rule, VendorHttp, body_text, build_client
from connector.core.paging import CountedPaging, paginate
from connector.core.redact import register_secret
from providers.axcient.models import Account, Customer, ErrorBody, Page, Session
from providers.axcient.settings import AxcientSettings

log = logging.getLogger(__name__)

VENDOR = "axcient"
API = "/api/v1"

# The portal's own meaning of the shared status table.
ERRORS: dict[int, Rule] = {
    # A first 401 is answered by one fresh login (the client accepts it); only a second one reaches this row.
    401: Rule(
        False,
        VendorAuthError,
        "refused (401) even right after a fresh login: {detail}; check that [axcient] username has the Partner API "
        "role",
    ),
    403: Rule(False, VendorAuthError, "access denied (403): {detail}; the API user needs the Partner API role"),
}
_LOGIN_REFUSED = Rule(
    False,
    VendorAuthError,
    "login refused ({status}): {detail}; check [axcient] username and password (a sub-account with the role "
    "Partner API)",
)
LOGIN_ERRORS: dict[int, Rule] = {400: _LOGIN_REFUSED, 401: _LOGIN_REFUSED, 403: _LOGIN_REFUSED}

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
        return body_text(response)


def _describe_validation(error: ValidationError) -> str:
    """`field: message; field: message`, never the input values (a payload may carry anything)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(p) for p in item["loc"]) or "(item)"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)


def _raw_id(raw: Any, key: str = "id") -> str | None:
    value = raw.get(key) if isinstance(raw, dict) else None
    if value is None or isinstance(value, dict | list):
        return None
    # The id names a bad item in logs, the store and the terminal: a lone surrogate in it must not break them.
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def validate_items(model: type[M], raw_items: list[Any], kind: str) -> Listing[M]:
    """Each raw list item as `model`, or reported invalid with its id and field: one bad item never fails the list,
    and nothing but a validation error is ever caught (or expected) here."""
    listing: Listing[M] = Listing()
    for raw in raw_items:
        try:
            listing.items.append(model.model_validate(raw))
        except ValidationError as error:
            listing.invalid.append(
                Invalid(kind, _raw_id(raw) or "(no id)", _raw_id(raw, "customer_id"), _describe_validation(error))
            )
    return listing


class AxcientClient:
    """Thin typed wrapper over `httpx.Client`; retries and backoff live in the client's transport."""

    def __init__(self, http: httpx.Client, *, username: str, password: SecretStr, per_page: int = 100) -> None:
        self._http = http
        self._api = VendorHttp(http, VENDOR, errors=ERRORS, detail=_problem)
        self._username = username
        self._password = password
        self._per_page = per_page
        self._token: str | None = None
        # Concurrent account lists share the session: one thread logs in again when it expires, the others reuse it.
        self._login_lock = threading.Lock()
        self.logins = 0

    def close(self) -> None:
        self._http.close()

    # -- session -----------------------------------------------------------------------------------------------

    def login(self) -> None:
        """Open a session; a refused login is a configuration problem, said as one."""
        body = {"username": self._username, "password": self._password.get_secret_value()}
        # Opening a session creates nothing that lasts, so a 5xx on it is retried like a read.
        response = self._api.send("POST", f"{API}/session", json_body=body, retry_safe=True, errors=LOGIN_ERRORS)
        data = self._api.decode(response)
        try:
            session = Session.model_validate(data)
        except ValidationError as error:
            where = f"POST {API}/session"
            raise DataError(f"axcient: {where}: unexpected session payload: {_describe_validation(error)}") from None
        # The token is a credential for its lifetime: mask it wherever it might be printed.
        register_secret(session.token)
        self._token = session.token
        self.logins += 1

    # -- reads through the boundary ----------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        self._session(stale=None)
        used = self._token
        response = self._api.send("GET", path, params=params, headers=self._auth(), accept=(401,))
        if response.status_code == 401:
            # Tokens expire; one fresh login is the documented remedy, a second refusal is a real problem.
            log.info("axcient: session refused on GET %s (expired token?); logging in again", path)
            self._session(stale=used)
            response = self._api.send("GET", path, params=params, headers=self._auth())
        return self._api.decode(response)

    def _session(self, stale: str | None) -> None:
        """Log in when there is no session, or when the one a request used was refused and nobody renewed it yet."""
        with self._login_lock:
            if self._token is None or (stale is not None and self._token == stale):
                self.login()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _pages(self, path: str, params: dict[str, Any], kind: str) -> list[Any]:
        """Every raw item of a list, page by page until `total` items have come, whatever the page size."""
        where = f"{VENDOR}: GET {path}"

        def fetch(query: dict[str, Any]) -> Page:
            try:
                return Page.model_validate(self._get(path, {**params, **query}))
            except ValidationError as error:
                raise DataError(
                    f"{where} page {query['page']}: unexpected page: {_describe_validation(error)}"
                ) from None

        return list(paginate(fetch, CountedPaging(self._per_page, where, kind, _raw_id)))

    # -- reads -------------------------------------------------------------------------------------------------

    def customers(self) -> Listing[Customer]:
        return validate_items(Customer, self._pages(f"{API}/customers", {}, "customer"), "customer")

    def accounts(self, customer_id: str | None = None) -> Listing[Account]:
        """One customer's accounts, or every account of the portal (`customer_id` None; see the sandbox's note)."""
        params = {"customer_id": customer_id} if customer_id is not None else {}
        return validate_items(Account, self._pages(f"{API}/accounts", params, "account"), "account")

    def accounts_of(
        self,
        customer_ids: Sequence[str],
        *,
        concurrency: int = 1,
        fatal: Callable[[ConnectorError], bool] = lambda error: True,
    ) -> Iterator[tuple[str, Listing[Account] | ConnectorError]]:
        """Each customer's accounts, or the error its list failed with, in the order given, listing up to
        `concurrency` customers at once. After an error `fatal` says fails the whole portal, no further list is
        started: the customers not listed carry that error, so the caller stops at the first, as one at a time would.
        """
        stopped: list[ConnectorError] = []

        def one(customer_id: str) -> Listing[Account] | ConnectorError:
            if stopped:
                return stopped[0]
            try:
                return self.accounts(customer_id)
            except ConnectorError as error:
                if fatal(error):
                    stopped.append(error)
                return error

        if concurrency <= 1 or len(customer_ids) <= 1:
            yield from ((customer_id, one(customer_id)) for customer_id in customer_ids)
            return
        self._session(stale=None)  # one login before the threads start, not one per thread
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="axcient-accounts") as pool:
            yield from zip(customer_ids, pool.map(one, customer_ids), strict=True)


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
    # Under the retries: a 429 one concurrent list meets pauses the others too, for the Retry-After it was given.
    shared = SharedBackoff(
        transport if transport is not None else httpx.HTTPTransport(),
        pause_seconds=http.backoff_initial_seconds,
        clock=clock or time.monotonic,
        sleep=sleep or time.sleep,
    )
    client = build_client(
        http,
        base_url=str(settings.base_url).rstrip("/"),
        headers={"Accept": "application/json"},
        transport=shared,
        sleep=sleep,
        clock=clock,
        errors=ERRORS,
    )
    return AxcientClient(client, username=settings.username, password=password, per_page=settings.per_page)
