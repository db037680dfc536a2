"""How the sandbox ConnectWise answers: its media type and error body, and the query parameters every GET takes.

Every GET in the description takes the same parameters (`conditions`, `childConditions`, `customFieldConditions`,
`orderBy`, `fields`, `page`, `pageSize`, `pageId`), all bare strings and integers there; what they mean comes from
ConnectWise's developer guide: pages are 1-based, 25 items by default and 1000 at most, the next page is named in
a `Link` header (rel="next", and "last"), and `pageId` pages forward by id (`id > pageId`).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote, urlencode

from providers.connectwise import sandbox_conditions as conditions
from providers.sandbox import SandboxRequest, SandboxResponse

API_VERSION = "2025.8"
# Every success response in the description is declared under this media type, and only under it.
MEDIA_TYPE = f"application/vnd.connectwise.com+json; version={API_VERSION}"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> SandboxResponse:
    """A success answer, in the versioned media type the description declares."""
    return SandboxResponse(status, json.dumps(body).encode(), {"Content-Type": MEDIA_TYPE, **(headers or {})})


def error(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None) -> SandboxResponse:
    """An error answer, shaped as the description's one error schema, `ErrorResponseMessage`."""
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return SandboxResponse.of_json(body, status)


def bad_request(message: str) -> SandboxResponse:
    return error(400, "InvalidObject", message)


def not_found(message: str) -> SandboxResponse:
    return error(404, "NotFound", message)


# -- selecting: conditions, order, forward paging ---------------------------------------------------------------


def select(items: list[dict[str, Any]], request: SandboxRequest) -> list[dict[str, Any]] | SandboxResponse:
    """The items the request's conditions keep, in the order it asks for; or a 400 saying what is wrong."""
    for name in ("conditions", "childConditions", "customFieldConditions"):
        text = request.param(name)
        if text is None or not text.strip():
            continue
        try:
            test = conditions.parse(text)
        except conditions.ConditionError as why:
            return bad_request(f"{name}: {why}")
        if name == "customFieldConditions":
            # Each custom field of a record is tested on its own: caption="X" and value="Y" must hold of one field.
            items = [item for item in items if any(test(field) for field in item.get("customFields") or [])]
        else:
            items = [item for item in items if test(item)]
    page_id = _integer(request, "pageId")
    if isinstance(page_id, SandboxResponse):
        return page_id
    if page_id is not None:
        items = [item for item in items if item.get("id", 0) > page_id]
    return ordered(items, request.param("orderBy"))


def ordered(items: list[dict[str, Any]], order_by: str | None) -> list[dict[str, Any]] | SandboxResponse:
    """Items sorted by `orderBy` ("name desc, id"), else by id, as ConnectWise lists them."""
    keys = [part.split() for part in (order_by or "id").split(",") if part.strip()]
    result = sorted(items, key=lambda item: item.get("id", 0))
    # Sorting by the last key first and the first key last leaves ties in the earlier keys' order (sorts are stable).
    for words in reversed(keys):
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            return bad_request(f"orderBy: cannot read {' '.join(words)!r}; write a field and asc or desc")
        path = words[0].split("/")
        descending = len(words) == 2 and words[1].lower() == "desc"
        present = [item for item in result if _sort_value(item, path) is not None]
        missing = [item for item in result if _sort_value(item, path) is None]
        present.sort(key=lambda item: _sort_value(item, path), reverse=descending)
        result = present + missing  # a record without the field sorts last either way
    return result


def _sort_value(item: dict[str, Any], path: list[str]) -> Any:
    value: Any = item
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if isinstance(value, str):
        return value.casefold()
    return value if isinstance(value, int | float) else None


# -- paging and fields ------------------------------------------------------------------------------------------


def _integer(request: SandboxRequest, name: str) -> int | SandboxResponse | None:
    text = request.param(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return bad_request(f"{name} must be an integer, not {text!r}")


def page(items: list[dict[str, Any]], request: SandboxRequest, base_url: str) -> SandboxResponse:
    """One page of the items the request selects, with a `Link` header naming the first, previous, next and last
    pages that exist."""
    selected = select(items, request)
    if isinstance(selected, SandboxResponse):
        return selected
    number, size = _integer(request, "page"), _integer(request, "pageSize")
    if isinstance(number, SandboxResponse):
        return number
    if isinstance(size, SandboxResponse):
        return size
    number = 1 if number is None else number
    size = DEFAULT_PAGE_SIZE if size is None else size
    if number < 1:
        return bad_request(f"page starts at 1, not {number}")
    if size < 1 or size > MAX_PAGE_SIZE:
        return bad_request(f"pageSize must be between 1 and {MAX_PAGE_SIZE}, not {size}")
    last = max(1, math.ceil(len(selected) / size))
    shown = [pick(item, request) for item in selected[(number - 1) * size : number * size]]
    links = _links(request, base_url, number, size, last)
    return ok(shown, headers={"Link": links} if links else None)


def _links(request: SandboxRequest, base_url: str, number: int, size: int, last: int) -> str:
    """The Link header: the same query (conditions, order, fields kept) at other pages."""
    kept = [(k, v) for k, values in request.query.items() if k.lower() not in ("page", "pagesize") for v in values]

    def at(page_number: int) -> str:
        query = urlencode([*kept, ("pageSize", str(size)), ("page", str(page_number))], quote_via=quote)
        return f"<{base_url}{request.path}?{query}>"

    links = []
    if number > 1:
        links += [f'{at(1)}; rel="first"', f'{at(min(number - 1, last))}; rel="prev"']
    if number < last:
        links += [f'{at(number + 1)}; rel="next"', f'{at(last)}; rel="last"']
    return ", ".join(links)


def pick(item: dict[str, Any], request: SandboxRequest) -> dict[str, Any]:
    """The item with only the top-level fields `fields` names (`company/name` keeps all of `company`)."""
    text = request.param("fields")
    if not text:
        return item
    wanted = {name.strip().split("/")[0] for name in text.split(",")}
    return {key: value for key, value in item.items() if key in wanted}
