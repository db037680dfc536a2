"""Autotask's query paging, verified: page 1 is the POST of the query, each later page the GET of the URL the page
before named in `pageDetails.nextPageUrl`, until one names none.

The scheme plugs into the project's one paging loop (`connector.core.paging.paginate`) and checks what it reads
before it is used, so a listing that does not add up is refused whole rather than billed with a record missing or
twice:

- a next URL is followed only on the zone's own scheme, host and port and under the query's own path: every
  request carries the API user's Secret header, and a URL a page names is data, not a place to send it;
- no next URL is one already read (a listing that loops), and no page is empty yet names a next one;
- no page holds more records than asked, and each holds as many as its `count` says;
- no id comes twice (a record shifted onto a later page while the listing was read, or a page served again).

A listing longer than `MAX_PAGES` pages is taken as broken paging, not as a database that large.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from connector.core.errors import DataError
from connector.core.http import safe_url
from providers.autotask.models import PageDetails

T = TypeVar("T")

# A million records at 500 a page.
MAX_PAGES = 2_000
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class QueryPageOf(Generic[T]):
    """One page read: its records (already typed) and what Autotask said of the page."""

    items: list[T]
    details: PageDetails


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host.casefold(), url.port or _DEFAULT_PORTS.get(url.scheme)


def _key(url: httpx.URL) -> str:
    """A URL as compared with those read before: the fragment dropped (never sent)."""
    return str(url.copy_with(fragment=None))


@dataclass
class QueryPaging(Generic[T]):
    """One verified read of an Autotask query (see the module's notes); a `Paginator` for `paginate`.

    `query_url` is the absolute URL the query is POSTed to (`<zone>/V1.0/<Entity>/query`); a next URL must be that
    URL or a path under it, on the same origin. `params(n)` is empty for page 1 and names the URL to GET after.
    """

    entity: str
    page_size: int
    query_url: httpx.URL
    id_of: Callable[[T], int]
    _next: httpx.URL | None = field(default=None, init=False)
    _read: set[str] = field(default_factory=set, init=False)
    _ids: set[int] = field(default_factory=set, init=False)

    @property
    def where(self) -> str:
        return f"autotask: {self.entity} query"

    def params(self, number: int) -> dict[str, Any]:
        if number == 1:
            self._read.add(_key(self.query_url))
            return {}
        assert self._next is not None, "paginate asks for a page only after one that names it"
        self._read.add(_key(self._next))
        return {"url": str(self._next)}

    def read(self, number: int, page: QueryPageOf[T]) -> tuple[Sequence[T], bool]:
        items, details = page.items, page.details
        if len(items) > self.page_size:
            raise self._inconsistent(number, f"it holds {len(items)} records, {self.page_size} were asked at most")
        if details.count != len(items):
            raise self._inconsistent(number, f"it counts {details.count} records and holds {len(items)}")
        for item in items:
            record = self.id_of(item)
            if record in self._ids:
                raise self._inconsistent(number, f"{self.entity} {record} was listed already")
            self._ids.add(record)
        if not details.nextPageUrl:
            self._next = None
            return items, False
        if not items:
            raise self._inconsistent(number, "it is empty, yet names a next page")
        self._next = self._checked_next(number, details.nextPageUrl)
        return items, True

    def _checked_next(self, number: int, text: str) -> httpx.URL:
        try:
            # A relative URL is read against the query's; an absolute one stands as it is.
            url = self.query_url.join(text.strip())
        except (httpx.InvalidURL, ValueError) as error:
            raise DataError(f"{self.where}: page {number} names a next page that is no URL ({error})") from None
        if _origin(url) != _origin(self.query_url) or url.userinfo:
            raise DataError(
                f"{self.where}: page {number} names a next page at {safe_url(url)}, not on {safe_url(self.query_url)}'s"
                " server; it is not followed (the request would carry the API secret there), and nothing of the "
                "listing is used"
            )
        base = self.query_url.path.rstrip("/").casefold()
        path = url.path.casefold()
        if path != base and not path.startswith(base + "/"):
            raise DataError(
                f"{self.where}: page {number} names a next page at {safe_url(url)}, outside the query's path "
                f"{self.query_url.path}; it is not followed, and nothing of the listing is used"
            )
        if _key(url) in self._read:
            raise self._inconsistent(number, "it names as the next page one already read: the listing never ends")
        return url

    def _inconsistent(self, number: int, detail: str) -> DataError:
        return DataError(
            f"{self.where}: the listing is inconsistent at page {number}: {detail} (it changed while it was read, or "
            "the server pages it wrongly); nothing of it is used: run again"
        )
