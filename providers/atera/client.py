"""Atera API v3 client: authentication, paging, readable errors, typed models out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from connector.core.errors import ConfigError, DataError, RateLimitedError, VendorAuthError
from connector.core.http import HttpSettings, Rule, VendorHttp, body_text, build_client
from connector.core.paging import LinkedPaging, paginate
from providers.atera.models import (
    AgentDto,
    ContactDto,
    ContractDto,
    CreateContractDto,
    CreateRateRequest,
    CustomerDto,
    CustomValueDto,
    InvoiceDto,
    Page,
    ProblemDetails,
    RateDto,
    Request,
    Result,
    SetCustomValueRequest,
    UpdateContractDto,
    request_json,
)
from providers.atera.settings import AteraSettings

log = logging.getLogger(__name__)

VENDOR = "atera"
# Atera's classic keys are 32 hex characters; its JWT tokens run to many hundreds.
BEARER_MIN_LENGTH = 101

# Atera's own meaning of the shared status table.
ERRORS: dict[int, Rule] = {
    401: Rule(False, VendorAuthError, "API key rejected (401): check [atera] api_key, its expiry and IP restrictions"),
    403: Rule(
        False,
        VendorAuthError,
        "access denied (403): {detail}; the API key needs read and write permission for this area",
    ),
    429: Rule(True, RateLimitedError, "still rate-limited (429) after retries; lower [atera] max_requests"),
}

M = TypeVar("M", bound=BaseModel)


class ReadLimitReached(Exception):
    """A read its caller bounded (`AteraClient.read_limit`) stopped there: not an Atera error; the caller keeps
    what came and says what it did not read."""


IdOf = Callable[[M], str | None]


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def auth_headers(key: SecretStr) -> dict[str, str]:
    """`X-API-KEY` for a classic key, `Authorization: Bearer` for a token longer than 100 characters."""
    raw = key.get_secret_value()
    if len(raw) >= BEARER_MIN_LENGTH:
        return {"Authorization": f"Bearer {raw}"}
    return {"X-API-KEY": raw}


def _problem(response: httpx.Response) -> str:
    """A readable reason from a ProblemDetails body, or from whatever text came instead."""
    try:
        return ProblemDetails.model_validate(response.json()).describe()
    except (ValueError, ValidationError):
        return body_text(response)


class AteraClient:
    """Thin typed wrapper over `httpx.Client`; retries and throttling live in the client's transport."""

    def __init__(self, http: httpx.Client, *, items_in_page: int = 50, request_budget: int | None = None) -> None:
        self._http = http
        self._api = VendorHttp(http, VENDOR, errors=ERRORS, detail=_problem)
        self._items_in_page = min(items_in_page, 50)
        # Requests this client sent (retries of one request count once) and how many one run may send: the sink
        # stops pushing there, so a run ends within its cycle and the listing it pushes from stays fresh.
        self.requests = 0
        self.request_budget = request_budget
        # The request count at which a bounded read stops before sending another (None: no bound), so a long
        # listing leaves the run's pushes their share of the budget.
        self.read_limit: int | None = None

    @property
    def budget_spent(self) -> bool:
        return self.request_budget is not None and self.requests >= self.request_budget

    def close(self) -> None:
        self._http.close()

    # -- the one request path ----------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Request | None = None
    ) -> Any:
        content = request_json(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        if self.read_limit is not None and self.requests >= self.read_limit:
            raise ReadLimitReached(f"{self.requests} requests sent, the bound set for {method} {path}")
        self.requests += 1
        response = self._api.send(method, path, params=params, content=content, headers=headers)
        return self._api.decode(response, allow_empty=True)

    def _model(self, model: type[M], data: Any, where: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            first = error.errors(include_input=False)[0]
            location = ".".join(str(p) for p in first["loc"])
            raise DataError(f"atera: {where}: unexpected payload at {location or '(top)'}: {first['msg']}") from error

    def _get(self, model: type[M], path: str, params: dict[str, Any] | None = None) -> M:
        return self._model(model, self._request("GET", path, params=params), f"GET {path}")

    def _pages(
        self, model: type[M], path: str, params: dict[str, Any] | None = None, *, kind: str, id_of: IdOf[M]
    ) -> Iterator[M]:
        """Every item of a list, page by page, verified: a list that does not add up is a DataError (see
        `LinkedPaging`), never a list with an item missing or twice."""
        page_model: type[Page[Any]] = Page[model]  # type: ignore[valid-type]

        def fetch(query: dict[str, Any]) -> Page[Any]:
            data = self._request("GET", path, params={**(params or {}), **query})
            return self._model(page_model, data, f"GET {path} page {query['page']}")

        return paginate(fetch, LinkedPaging(self._items_in_page, f"{VENDOR}: GET {path}", kind, id_of))

    def _created_id(self, data: Any, where: str) -> int:
        result = self._model(Result, data, where)
        try:
            return int(result.ActionID or "")
        except ValueError as error:
            raise DataError(f"atera: {where}: created, but the answer has no usable ActionID") from error

    # -- reads -------------------------------------------------------------------------------------------------

    def customers(self) -> Iterator[CustomerDto]:
        return self._pages(CustomerDto, "/customers", kind="customer", id_of=lambda c: str(c.CustomerID))

    def customer(self, customer_id: int) -> CustomerDto:
        return self._get(CustomerDto, f"/customers/{customer_id}")

    def contacts(self, *, email: str | None = None) -> Iterator[ContactDto]:
        params = {"Email": email} if email else None
        return self._pages(ContactDto, "/contacts", params, kind="contact", id_of=lambda c: _id(c.EndUserID))

    def agents(self, customer_id: int | None = None) -> Iterator[AgentDto]:
        path = "/agents" if customer_id is None else f"/agents/customer/{customer_id}"
        return self._pages(AgentDto, path, kind="agent", id_of=lambda a: _id(a.AgentID))

    def contracts(self, customer_id: int | None = None) -> Iterator[ContractDto]:
        path = "/contracts" if customer_id is None else f"/contracts/customer/{customer_id}"
        return self._pages(ContractDto, path, kind="contract", id_of=lambda c: str(c.ContractID))

    def contract(self, contract_id: int) -> ContractDto:
        return self._get(ContractDto, f"/contracts/{contract_id}")

    def rates(self) -> Iterator[RateDto]:
        """Product rates (the price list contracts point at)."""
        return self._pages(RateDto, "/rates/products", kind="rate", id_of=lambda r: str(r.RateID))

    def invoices(self, start: date, end: date) -> Iterator[InvoiceDto]:
        """Invoices dated from `start` to `end`, both included (account time zone)."""
        if end < start:
            raise ValueError(f"invoice range ends ({end}) before it starts ({start})")
        params = {"invoiceDateFrom": start.isoformat(), "invoiceDateTo": end.isoformat()}
        return self._pages(
            InvoiceDto, "/billing/invoices", params, kind="invoice", id_of=lambda i: str(i.InvoiceNumber)
        )

    def contract_custom_value(self, contract_id: int, field_name: str) -> str | None:
        """The text of a contract's custom field, or None when it has no value."""
        path = f"/customvalues/contractfield/{contract_id}/{quote(field_name, safe='')}"
        data = self._request("GET", path)
        values = [self._model(CustomValueDto, item, f"GET {path}") for item in data or []]
        return next((v.ValueAsString for v in values if v.ValueAsString), None)

    # -- writes ------------------------------------------------------------------------------------------------

    def create_rate(self, request: CreateRateRequest) -> int:
        return self._created_id(self._request("POST", "/rates/products", body=request), "POST /rates/products")

    def create_contract(self, request: CreateContractDto) -> int:
        return self._created_id(self._request("POST", "/contracts", body=request), "POST /contracts")

    def update_contract(self, contract_id: int, request: UpdateContractDto) -> None:
        self._request("PUT", f"/contracts/{contract_id}", body=request)

    def set_contract_custom_value(self, contract_id: int, field_name: str, value: str) -> None:
        path = f"/customvalues/contractfield/{contract_id}/{quote(field_name, safe='')}"
        self._request("PUT", path, body=SetCustomValueRequest(Value=value))


def build_atera_client(
    settings: AteraSettings,
    http: HttpSettings,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> AteraClient:
    """A throttled, retrying client for the configured account; the key is read here, never logged."""
    if settings.api_key is None:
        raise ConfigError('atera.api_key: not set; give { env = "ATERA_API_KEY" } or { file = "..." }')
    key = settings.api_key.secret("atera.api_key")
    client = build_client(
        http,
        base_url=str(settings.base_url).rstrip("/"),
        headers={"Accept": "application/json", **auth_headers(key)},
        transport=transport,
        throttle=(settings.max_requests, settings.window_seconds),
        sleep=sleep,
        clock=clock,
        errors=ERRORS,
    )
    return AteraClient(client, items_in_page=settings.items_in_page, request_budget=settings.requests_per_run or None)
