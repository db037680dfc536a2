"""ConnectWise PSA (Manage) REST client: authentication, the pinned API version, verified paging, readable errors,
typed models out. Every request goes through the project's one HTTP boundary (`connector.core.http`)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from connector.core.errors import ConfigError, DataError, RateLimitedError, VendorAuthError
from connector.core.http import HttpSettings, Rule, VendorHttp, body_text, build_client
from connector.core.paging import paginate
from connector.core.redact import redact, register_secret
from providers.connectwise import conditions as cond
from providers.connectwise.dates import day_in, midnight
from providers.connectwise.models import (
    Addition,
    Agreement,
    AgreementType,
    CatalogItem,
    Company,
    Contact,
    ErrorResponse,
    Invoice,
    SystemInfo,
)
from providers.connectwise.pages import MAX_PAGES, LinkHeaderPaging, ListPage, list_page
from providers.connectwise.requests import refuse_unsendable_request, wire_json
from providers.connectwise.settings import ConnectWiseSettings

log = logging.getLogger(__name__)

VENDOR = "connectwise"
KEYS = "[connectwise] company_id, public_key, private_key and client_id"

# ConnectWise's meaning of the shared status table.
ERRORS: dict[int, Rule] = {
    401: Rule(False, VendorAuthError, f"credentials rejected (401): {{detail}}; check {KEYS}"),
    403: Rule(
        False,
        VendorAuthError,
        "access denied (403): {detail}; the API member's security role needs inquire (and, to push, edit) rights "
        "on Companies, Finance > Agreements and Procurement > Product Catalog",
    ),
    429: Rule(True, RateLimitedError, "still rate-limited (429) after retries; try again later"),
}

M = TypeVar("M", bound=BaseModel)
IdOf = Callable[[M], str | None]


def media_type(version: str) -> str:
    """The Accept header that pins the API version (the description declares every answer under it)."""
    return f"application/vnd.connectwise.com+json; version={version}"


def _detail(response: httpx.Response) -> str:
    """A readable reason from an ErrorResponseMessage body, or from whatever text came instead."""
    try:
        text = ErrorResponse.model_validate(response.json()).describe()
    except (ValueError, ValidationError):
        return body_text(response)
    # Masked like any body: a server may echo what it was sent.
    return redact(" ".join(text.split()))[:300]


def _id(item: Any) -> str:
    return str(item.id)


class ConnectWiseClient:
    """Thin typed wrapper over `httpx.Client`; retries live in the client's transport."""

    def __init__(self, http: httpx.Client, *, page_size: int = 1000) -> None:
        self._http = http
        self._api = VendorHttp(http, VENDOR, errors=ERRORS, detail=_detail)
        self.page_size = page_size
        # Requests sent (a retried request counts once): what a run costs, for its log and for tests.
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConnectWiseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one request path ----------------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> httpx.Response:
        refuse_unsendable_request(method, path, params, body)
        content = wire_json(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        self.requests += 1
        return self._api.send(method, path.lstrip("/"), params=params, content=content, headers=headers)

    def _model(self, model: type[M], data: Any, where: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            first = error.errors(include_input=False)[0]
            location = ".".join(str(p) for p in first["loc"])
            problem = f"unexpected payload at {location or '(top)'}: {first['msg']}"
            raise DataError(f"{VENDOR}: {where}: {problem}") from error

    def _call(self, model: type[M], method: str, path: str, body: Any = None) -> M:
        return self._model(model, self._api.decode(self._send(method, path, body=body)), f"{method} {path}")

    def _list(
        self, model: type[M], path: str, conditions: str | None = None, *, kind: str, id_of: IdOf[M] = _id
    ) -> Iterator[M]:
        """Every record of a list (those `conditions` keep), page by page, verified (see `pages`): a list that does
        not add up is a DataError, never a list with a record missing or twice. Ordered by id, so pages are stable."""
        base: dict[str, Any] = {"orderBy": "id asc"}
        if conditions:
            base["conditions"] = conditions

        def fetch(query: dict[str, Any]) -> ListPage[M]:
            response = self._send("GET", path, params={**base, **query})
            data = self._api.decode(response)
            where = f"GET {path} page {query['page']}"
            if not isinstance(data, list):
                raise DataError(f"{VENDOR}: {where}: expected a JSON list of {kind} records, got {type(data).__name__}")
            items = [self._model(model, item, f"{where} item {n}") for n, item in enumerate(data)]
            return list_page(items, response.headers.get("Link"))

        paging = LinkHeaderPaging[M](self.page_size, f"{VENDOR}: GET {path}", kind, id_of)
        return paginate(fetch, paging, max_pages=MAX_PAGES)

    def _in_chunks(self, model: type[M], path: str, name: str, values: Iterable[int], *, kind: str) -> Iterator[M]:
        """The records whose `name` is one of `values`, one verified list per chunk of them (URLs stay short)."""
        for condition in cond.one_of(name, values):
            yield from self._list(model, path, condition, kind=kind)

    # -- reads -------------------------------------------------------------------------------------------------

    def system_info(self) -> SystemInfo:
        return self._call(SystemInfo, "GET", "/system/info")

    def companies(self, conditions: str | None = None) -> Iterator[Company]:
        return self._list(Company, "/company/companies", conditions, kind="company")

    def company(self, company_id: int) -> Company:
        return self._call(Company, "GET", f"/company/companies/{company_id}")

    def agreements(self, conditions: str | None = None) -> Iterator[Agreement]:
        return self._list(Agreement, "/finance/agreements", conditions, kind="agreement")

    def agreements_of(self, company_ids: Iterable[int]) -> Iterator[Agreement]:
        """The agreements of these companies (`company/id in (...)`, in chunks)."""
        return self._in_chunks(Agreement, "/finance/agreements", "company/id", company_ids, kind="agreement")

    def agreements_by_id(self, agreement_ids: Iterable[int]) -> Iterator[Agreement]:
        return self._in_chunks(Agreement, "/finance/agreements", "id", agreement_ids, kind="agreement")

    def agreement(self, agreement_id: int) -> Agreement:
        return self._call(Agreement, "GET", f"/finance/agreements/{agreement_id}")

    def additions(self, agreement_id: int) -> Iterator[Addition]:
        """An agreement's additions (the API lists them per agreement only)."""
        return self._list(Addition, f"/finance/agreements/{agreement_id}/additions", kind="addition")

    def addition(self, agreement_id: int, addition_id: int) -> Addition:
        return self._call(Addition, "GET", f"/finance/agreements/{agreement_id}/additions/{addition_id}")

    def catalog(self, conditions: str | None = None) -> Iterator[CatalogItem]:
        return self._list(CatalogItem, "/procurement/catalog", conditions, kind="catalog item")

    def catalog_item(self, item_id: int) -> CatalogItem:
        return self._call(CatalogItem, "GET", f"/procurement/catalog/{item_id}")

    def contacts_of(self, company_ids: Iterable[int]) -> Iterator[Contact]:
        """The contacts of these companies (`company/id in (...)`, in chunks)."""
        return self._in_chunks(Contact, "/company/contacts", "company/id", company_ids, kind="contact")

    def agreement_types(self) -> Iterator[AgreementType]:
        return self._list(AgreementType, "/finance/agreements/types", kind="agreement type")

    def invoices(self, start: datetime, end: datetime, agreement_ids: Iterable[int] | None = None) -> Iterator[Invoice]:
        """Invoices dated from `start` (included) to `end` (excluded), two instants. With `agreement_ids`, only the
        Agreement invoices of those agreements: one verified list per chunk of them (`agreement/id in (...)`) that
        keeps the URL short."""
        if end <= start:
            raise ValueError(f"invoice range ends ({end}) before it starts ({start})")
        window = [cond.compare("date", ">=", start), cond.compare("date", "<", end)]
        conditions: Iterable[str] = [cond.both(*window)]
        if agreement_ids is not None:
            window.append(cond.equals("type", "Agreement"))
            # Room for the window beside each chunk of ids, within the one limit on a condition's length.
            room = cond.MAX_CONDITION_LENGTH - len(cond.both(*window, ""))
            conditions = (cond.both(*window, chunk) for chunk in cond.one_of("agreement/id", agreement_ids, limit=room))
        return chain.from_iterable(self._list(Invoice, "/finance/invoices", c, kind="invoice") for c in conditions)

    def invoices_dated(
        self, first: date, last: date, zone: str, agreement_ids: Collection[int] | None = None
    ) -> Iterator[Invoice]:
        """`invoices` dated from `first` to `last`, days of `zone` (with `agreement_ids`, none for none)."""
        if agreement_ids is not None and not agreement_ids:
            return iter(())
        # A day wider on each side, since a date at midnight UTC is that date in every zone (`dates.day_in`); the days
        # asked for are kept here.
        start, end = midnight(first - timedelta(days=1), zone), midnight(last + timedelta(days=2), zone)
        listed = self.invoices(start, end, agreement_ids)
        return (i for i in listed if i.date is not None and first <= day_in(i.date, zone) <= last)

    # -- writes ------------------------------------------------------------------------------------------------

    def patch_addition(self, agreement_id: int, addition_id: int, operations: list[dict[str, Any]]) -> Addition:
        """One PATCH of an addition (the operations are checked before it goes); the addition as ConnectWise holds
        it after."""
        return self._call(Addition, "PATCH", f"/finance/agreements/{agreement_id}/additions/{addition_id}", operations)

    def create_addition(self, agreement_id: int, body: dict[str, Any]) -> Addition:
        return self._call(Addition, "POST", f"/finance/agreements/{agreement_id}/additions", body)

    def create_company(self, body: dict[str, Any]) -> Company:
        return self._call(Company, "POST", "/company/companies", body)

    def create_contact(self, body: dict[str, Any]) -> Contact:
        return self._call(Contact, "POST", "/company/contacts", body)

    def create_agreement(self, body: dict[str, Any]) -> Agreement:
        return self._call(Agreement, "POST", "/finance/agreements", body)

    def create_catalog_item(self, body: dict[str, Any]) -> CatalogItem:
        return self._call(CatalogItem, "POST", "/procurement/catalog", body)


def build_connectwise_client(
    settings: ConnectWiseSettings,
    http: HttpSettings,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> ConnectWiseClient:
    """A retrying client for the configured site; the keys are read here, never logged."""
    missing = [key for key in ("public_key", "private_key") if getattr(settings, key) is None]
    if missing or not settings.company_id.strip() or not settings.client_id.strip():
        absent = [*missing, *(k for k in ("company_id", "client_id") if not getattr(settings, k).strip())]
        raise ConfigError(f"connectwise: {', '.join(f'connectwise.{k}' for k in absent)} not set; needed to call it")
    assert settings.public_key is not None and settings.private_key is not None
    public = settings.public_key.secret("connectwise.public_key").get_secret_value()
    private = settings.private_key.secret("connectwise.private_key").get_secret_value()
    token = base64.b64encode(f"{settings.company_id.strip()}+{public}:{private}".encode()).decode()
    register_secret(token)  # the header's encoded form is as secret as the keys it holds
    client = build_client(
        http,
        base_url=str(settings.base_url).rstrip("/") + "/",
        headers={
            "Accept": media_type(settings.api_version),
            "Authorization": f"Basic {token}",
            "clientId": settings.client_id.strip(),
        },
        transport=transport,
        sleep=sleep,
        clock=clock,
        errors=ERRORS,
    )
    return ConnectWiseClient(client, page_size=settings.page_size)
