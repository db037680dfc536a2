"""Autotask PSA REST client: verified query paging, typed records out, the writes a push and onboarding make, the
database's request threshold, picklist codes, and readable errors. Every request goes through the project's one
HTTP boundary (`connector.core.http`); `connect.build_autotask_client` finds the zone and builds one."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from connector.core.errors import DataError, RateLimitedError, VendorAuthError, VendorError, VendorRefused
from connector.core.http import Rule, Rules, VendorHttp, body_text, safe_url
from connector.core.paging import paginate
from connector.core.redact import redact
from providers.autotask import filters as flt
from providers.autotask.filters import Filter
from providers.autotask.models import (
    BillingItem,
    Company,
    Contact,
    Contract,
    ContractService,
    ContractServiceUnit,
    Entity,
    ErrorResult,
    FieldInformation,
    FieldInformationResult,
    Invoice,
    ItemResult,
    OperationResult,
    QueryPage,
    Service,
    Threshold,
    ZoneInformation,
)
from providers.autotask.pages import MAX_PAGES, QueryPageOf, QueryPaging
from providers.autotask.settings import MAX_PAGE_SIZE
from providers.autotask.wire import refuse_unsendable_request, wire_json

log = logging.getLogger(__name__)

VENDOR = "autotask"
KEYS = "[autotask] username, secret and integration_code"

# Autotask's meaning of the shared status table.
ERRORS: dict[int, Rule] = {
    401: Rule(
        False,
        VendorAuthError,
        f"credentials rejected (401): {{detail}}; check {KEYS}, and that the API user's security level is "
        "'API User (API-only)'",
    ),
    403: Rule(
        False,
        VendorAuthError,
        "access denied (403): {detail}; the API user's security level lacks a permission this needs (contracts, "
        "their services, units and adjustments need contract access; creating companies and contracts needs add "
        "rights)",
    ),
    429: Rule(
        True,
        RateLimitedError,
        "still refused for too many requests (429) after retries: the database's hourly request threshold or the "
        "integration's thread limit is spent; try again later",
    ),
    # Autotask answers a query or a write it refuses (a bad filter, a missing required field) with 500 and its
    # reasons. Sending the same request again gets the same answer and spends the database's shared hourly
    # threshold, so a 500 is not retried; 502-504 (a gateway between) still are.
    500: Rule(False, VendorError, "refused (500): {detail}"),
}
# Errors Autotask words as its request threshold or thread limit being spent, whatever the status they come with.
_SPENT = ("threshold", "thread limit", "thread count", "too many requests", "request limit")

M = TypeVar("M", bound=Entity)
D = TypeVar("D", bound=BaseModel)


def _reasons(response: httpx.Response) -> str | None:
    """The `errors` Autotask gave, joined; None when the body holds none."""
    try:
        found = ErrorResult.model_validate(response.json()).errors
    except (ValueError, ValidationError):
        return None
    # Masked like any body: a server may echo what it was sent.
    return redact("; ".join(" ".join(e.split()) for e in found if e.strip()))[:400] or None


def _detail(response: httpx.Response) -> str:
    """A readable reason: the `errors` of Autotask's error body, or whatever text came instead."""
    return _reasons(response) or body_text(response)


def _id(item: Entity) -> int:
    return item.id


class AutotaskHttp(VendorHttp):
    """The boundary with Autotask's one exception to its status table: an answer whose reasons say the request
    threshold or the thread limit is spent is a RateLimitedError, whatever status it came with."""

    def raise_for_status(
        self, response: httpx.Response, *, where: str | None = None, errors: Rules | None = None
    ) -> None:
        reasons = _reasons(response) if response.status_code >= 400 else None
        if reasons is not None:
            where = where or f"{response.request.method} {safe_url(response.request.url)}"
            if any(word in reasons.casefold() for word in _SPENT):
                raise RateLimitedError(
                    VENDOR,
                    f"{where}: refused ({response.status_code}): {reasons}; the database's request threshold or the "
                    "integration's thread limit is spent; try again later",
                    status_code=response.status_code,
                )
            if response.status_code == 500:
                # Autotask's refusal of this request (a bad filter, a field it will not take), not an outage.
                raise VendorRefused(VENDOR, f"{where}: refused (500): {reasons}", status_code=500)
        super().raise_for_status(response, where=where, errors=errors)


class AutotaskClient:
    """Typed wrapper over an `httpx.Client` whose base is the zone's REST root; retries live in its transport."""

    def __init__(self, http: httpx.Client, *, page_size: int = MAX_PAGE_SIZE) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size {page_size} is outside 1-{MAX_PAGE_SIZE}")
        self._http = http
        self._api = AutotaskHttp(http, VENDOR, errors=ERRORS, detail=_detail)
        self.page_size = page_size
        # Requests sent (a retried request counts once): what a run costs the database's hourly threshold.
        self.requests = 0
        self._fields: dict[str, list[FieldInformation]] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AutotaskClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def base_url(self) -> httpx.URL:
        return self._http.base_url

    def use_base(self, url: httpx.URL) -> None:
        """Send every later request under `url` (the zone's REST root, found by `connect.zone_base`)."""
        self._http.base_url = url

    # -- the one request path ----------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        accept: Sequence[int] = (),
        retry_safe: bool = False,
    ) -> httpx.Response:
        refuse_unsendable_request(method, path, params, body)
        content = wire_json(body) if body is not None else None
        return self._exchange(method, path, params=params, content=content, accept=accept, retry_safe=retry_safe)

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        accept: Sequence[int] = (),
        retry_safe: bool = False,
    ) -> httpx.Response:
        self.requests += 1
        return self._api.send(method, url, params=params, content=content, accept=accept, retry_safe=retry_safe)

    def _model(self, model: type[D], data: Any, where: str) -> D:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            first = error.errors(include_input=False)[0]
            location = ".".join(str(p) for p in first["loc"])
            problem = f"unexpected payload at {location or '(top)'}: {first['msg']}"
            raise DataError(f"{VENDOR}: {where}: {problem}") from error

    def _get(self, model: type[D], path: str, *, params: dict[str, Any] | None = None) -> D:
        data = self._api.decode(self._send("GET", path, params=params))
        return self._model(model, data, f"GET {path}")

    def _write(self, method: str, path: str, body: dict[str, Any]) -> int:
        # Never retried once it may have reached Autotask: POST and PATCH are not idempotent to the transport.
        data = self._api.decode(self._send(method, path, body=body))
        return self._model(OperationResult, data, f"{method} {path}").itemId

    # -- queries -----------------------------------------------------------------------------------------------

    def query(
        self, entity: str, filters: list[Filter], model: type[M], *, include_fields: list[str] | None = None
    ) -> Iterator[M]:
        """Every `entity` record the filters keep (they must all hold), page by page, verified (see `pages`): a
        listing that does not add up is a DataError, never a list with a record missing or twice. The request is
        checked now, before anything is sent; the pages are read as the iterator is."""
        path = f"V1.0/{entity}/query"
        body: dict[str, Any] = {"filter": list(filters), "maxRecords": self.page_size}
        if include_fields is not None:
            named = {f.casefold() for f in include_fields}
            body["includeFields"] = [*include_fields, *([] if "id" in named else ["id"])]
        # Wire problems (an empty filter, a float) found here, not when the first page is asked.
        refuse_unsendable_request("POST", path, None, body)
        content = wire_json(body)
        paging = QueryPaging[M](entity, self.page_size, self._http.base_url.join(path), _id)

        def fetch(params: dict[str, Any]) -> QueryPageOf[M]:
            url = params.get("url")
            if url is None:
                where = f"POST {path}"
                # A query changes nothing: safe to send again after a timeout or a 5xx from a gateway.
                response = self._exchange("POST", path, content=content, retry_safe=True)
            else:
                where = f"GET {path} (next page)"
                response = self._exchange("GET", url)
            envelope = self._model(QueryPage[dict[str, Any]], self._api.decode(response), where)
            items = [self._model(model, item, f"{where} item {n}") for n, item in enumerate(envelope.items)]
            return QueryPageOf(items, envelope.pageDetails)

        return paginate(fetch, paging, max_pages=MAX_PAGES)

    def query_in(
        self,
        entity: str,
        field: str,
        values: Iterable[int | str],
        model: type[M],
        *,
        also: Sequence[Filter] = (),
        include_fields: list[str] | None = None,
    ) -> Iterator[M]:
        """The records whose `field` is one of `values` (and that `also` keeps): one verified query per 500
        values; none for none."""
        lists = list(flt.in_chunks(field, values, also=also))
        queries = [self.query(entity, filters, model, include_fields=include_fields) for filters in lists]
        return chain.from_iterable(queries)

    def companies(self, filters: list[Filter] | None = None) -> Iterator[Company]:
        return self.query("Companies", _all(filters), Company)

    def contacts(self, filters: list[Filter] | None = None) -> Iterator[Contact]:
        return self.query("Contacts", _all(filters), Contact)

    def contracts(self, filters: list[Filter] | None = None) -> Iterator[Contract]:
        return self.query("Contracts", _all(filters), Contract)

    def services(self, filters: list[Filter] | None = None) -> Iterator[Service]:
        return self.query("Services", _all(filters), Service)

    def contract_services(self, filters: list[Filter] | None = None) -> Iterator[ContractService]:
        return self.query("ContractServices", _all(filters), ContractService)

    def contract_service_units(self, filters: list[Filter] | None = None) -> Iterator[ContractServiceUnit]:
        return self.query("ContractServiceUnits", _all(filters), ContractServiceUnit)

    def invoices(self, filters: list[Filter] | None = None) -> Iterator[Invoice]:
        return self.query("Invoices", _all(filters), Invoice)

    def billing_items(self, filters: list[Filter] | None = None) -> Iterator[BillingItem]:
        return self.query("BillingItems", _all(filters), BillingItem)

    # -- one record --------------------------------------------------------------------------------------------

    def _item(self, entity: str, model: type[M], record: int) -> M | None:
        """One record by id; None when Autotask holds none (404, or `{"item": null}`, its usual answer)."""
        if isinstance(record, bool) or not isinstance(record, int) or record <= 0:
            raise ValueError(f"{entity} id {record!r} is not a record id")
        path = f"V1.0/{entity}/{record}"
        response = self._send("GET", path, accept=(404,))
        if response.status_code == 404:
            return None
        envelope = self._model(ItemResult[dict[str, Any]], self._api.decode(response), f"GET {path}")
        if not envelope.item:
            return None
        found = self._model(model, envelope.item, f"GET {path}")
        if found.id != record:
            raise DataError(f"{VENDOR}: GET {path}: asked for {entity} {record}, the answer is {found.id}")
        return found

    def contract(self, contract_id: int) -> Contract | None:
        return self._item("Contracts", Contract, contract_id)

    def contract_service(self, contract_service_id: int) -> ContractService | None:
        return self._item("ContractServices", ContractService, contract_service_id)

    def company(self, company_id: int) -> Company | None:
        return self._item("Companies", Company, company_id)

    def service(self, service_id: int) -> Service | None:
        return self._item("Services", Service, service_id)

    def invoice(self, invoice_id: int) -> Invoice | None:
        return self._item("Invoices", Invoice, invoice_id)

    # -- writes: each returns the id Autotask gave (or kept) -------------------------------------------------------

    def create_company(self, body: dict[str, Any]) -> int:
        return self._write("POST", "V1.0/Companies", body)

    def create_contact(self, company_id: int, body: dict[str, Any]) -> int:
        """A contact of a company (Autotask creates contacts only under their company)."""
        return self._write("POST", f"V1.0/Companies/{company_id}/Contacts", _child(body, "companyID", company_id))

    def create_contract(self, body: dict[str, Any]) -> int:
        return self._write("POST", "V1.0/Contracts", body)

    def create_service(self, body: dict[str, Any]) -> int:
        return self._write("POST", "V1.0/Services", body)

    def create_contract_service(self, contract_id: int, body: dict[str, Any]) -> int:
        """A service on a Recurring Service contract (created only under the contract)."""
        path = f"V1.0/Contracts/{contract_id}/Services"
        return self._write("POST", path, _child(body, "contractID", contract_id))

    def create_adjustment(self, contract_id: int, body: dict[str, Any]) -> int:
        """A service adjustment: `unitChange` whole units added (or, negative, removed) from `effectiveDate` (a
        `datetime.date`). It cannot be read back, changed or deleted, so the body is checked field by field
        before it goes (`wire.check_adjustment`), and the caller keeps its own record of it."""
        return self._write("POST", f"V1.0/Contracts/{contract_id}/ServiceAdjustments", body)

    def update_contract(self, body: dict[str, Any]) -> int:
        """PATCH a contract: only the fields given change; its `id` goes in the body."""
        return self._write("PATCH", "V1.0/Contracts", body)

    # -- the database ------------------------------------------------------------------------------------------

    def zone_information(self, username: str) -> ZoneInformation:
        """Which zone serves the API user's database (asked under the lookup URL, before `use_base`)."""
        return self._get(ZoneInformation, "V1.0/ZoneInformation", params={"user": username})

    def threshold(self) -> Threshold:
        """The database's request threshold, its window and the count in it so far (see `Threshold`)."""
        return self._get(Threshold, "V1.0/ThresholdInformation")

    def field_definitions(self, entity: str) -> list[FieldInformation]:
        """An entity's fields as Autotask describes them (required, read only, picklist values); read once per
        client, as they change only when an administrator edits them."""
        if entity not in self._fields:
            found = self._get(FieldInformationResult, f"V1.0/{entity}/entityInformation/fields")
            self._fields[entity] = found.fields
        return self._fields[entity]

    def picklist(self, entity: str, field: str, label: str) -> int | None:
        """The code of the active value labelled `label` (case and surrounding spaces ignored) of a picklist
        field, whose codes differ per database; None when it has no such value."""
        wanted = field.casefold()
        found = next((f for f in self.field_definitions(entity) if f.name.casefold() == wanted), None)
        if found is None or not found.isPickList:
            raise DataError(f"{VENDOR}: {entity}.{field} is not a picklist field Autotask describes")
        target = " ".join(label.split()).casefold()
        codes = {
            v.value
            for v in found.picklistValues or []
            if v.isActive is not False and " ".join((v.label or "").split()).casefold() == target
        }
        if len(codes) > 1:
            raise DataError(f"{VENDOR}: {entity}.{field}: {len(codes)} active values are labelled {label!r}")
        if not codes:
            return None
        code = codes.pop()
        try:
            return int(code)
        except ValueError:
            raise DataError(f"{VENDOR}: {entity}.{field}: value {code!r} of {label!r} is not a code") from None


def _all(filters: list[Filter] | None) -> list[Filter]:
    # None (not given) lists everything; an empty list stays empty and is refused: it is a caller's mistake.
    return flt.everything() if filters is None else filters


def _child(body: dict[str, Any], key: str, parent: int) -> dict[str, Any]:
    """A child's body with its parent's id: added when absent, refused when it names another parent."""
    if key in body and body[key] != parent:
        raise ValueError(f"{key} {body[key]!r} in the body is not {parent}, the parent it is created under")
    return {**body, key: parent}
