"""ConnectWise's paging, verified: `page` and `pageSize` asked, the next and last pages named in a `Link` header.

A list comes back as a JSON array; `Link` names the next page (`rel="next"`) and the last (`rel="last"`) while more
follow. The scheme plugs into the project's one paging loop (`connector.core.paging.paginate`) and checks what it
reads as the Atera listings are checked, so a list that does not add up is refused whole, never used with an item
missing or twice: each page is not the one before again (a server that ignores the page number is caught at page
2), the next page named is the one after, the last page stays the one page 1 named, no list goes past it or stops
before it, no page but the last is empty, and no id comes twice.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

from connector.core.errors import DataError

T = TypeVar("T")

_LINK = re.compile(r"<([^>]*)>([^<]*)")
# 10 million records at 1,000 a page: a list longer than that means the paging is broken.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list: its items, and the pages its Link header names next and last (None: not named)."""

    items: list[T]
    next_page: int | None = None
    last_page: int | None = None
    # A next link came, whether or not its page number could be read.
    linked_next: bool = False


def links(header: str | None) -> dict[str, str]:
    """The URLs of a Link header by relation: `<url>; rel="next", <url>; rel="last"` -> {"next": url, ...}."""
    found: dict[str, str] = {}
    # Split on the angle brackets, not on commas: a link's query may hold a raw comma (`in (1,2)`).
    for url, params in _LINK.findall(header or ""):
        for param in params.split(";"):
            name, _, value = param.strip().strip(",").partition("=")
            if name.strip().lower() == "rel":
                for rel in value.strip().strip('"').split():
                    found.setdefault(rel.lower(), url)
    return found


def page_of(url: str | None) -> int | None:
    """The `page` a link asks for, or None when it names none."""
    if not url:
        return None
    for name, value in parse_qsl(urlsplit(url).query):
        if name.lower() == "page" and value.isdigit():
            return int(value)
    return None


def list_page(items: list[T], link_header: str | None) -> ListPage[T]:
    named = links(link_header)
    return ListPage(items, page_of(named.get("next")), page_of(named.get("last")), "next" in named)


@dataclass
class LinkHeaderPaging(Generic[T]):
    """One verified read of a ConnectWise list (see the module's notes); a `Paginator` for `paginate`."""

    page_size: int
    where: str
    kind: str = "record"
    id_of: Callable[[T], str | None] | None = None
    _last: int | None = field(default=None, init=False)
    _previous: list[T] = field(default_factory=list, init=False)
    _ids: Counter[str] = field(default_factory=Counter, init=False)

    def params(self, number: int) -> dict[str, int]:
        return {"page": number, "pageSize": self.page_size}

    def read(self, number: int, page: ListPage[T]) -> tuple[Sequence[T], bool]:
        items = list(page.items)
        if items and items == self._previous:
            raise DataError(
                f"{self.where}: page {number} is page {number - 1} again; the server ignores the page number, so the "
                "list cannot be read whole"
            )
        self._previous = items
        if number == 1:
            self._last = page.last_page
        elif page.last_page is not None and self._last is not None and page.last_page != self._last:
            raise self._changed(
                f"page 1 named page {self._last} as the last, page {number} names page {page.last_page}"
            )
        if self.id_of is not None:
            self._ids.update(i for item in items if (i := self.id_of(item)) is not None)
        more = page.linked_next
        if more:
            self._check_next(number, page, items)
        else:
            self._check_end(number)
        return items, more

    def _check_next(self, number: int, page: ListPage[T], items: list[T]) -> None:
        if page.next_page != number + 1:
            named = "no page number" if page.next_page is None else f"page {page.next_page}"
            raise DataError(
                f"{self.where}: page {number} links to {named} as the next, not page {number + 1}; the list cannot "
                "be read whole"
            )
        if not items:
            raise self._changed(f"page {number} is empty, yet links to a next page")
        if self._last is not None and number >= self._last:
            raise self._changed(f"page {number}, the last page 1 named, links to a next page: the list never ends")

    def _check_end(self, number: int) -> None:
        if self._last is not None and number < self._last:
            raise self._changed(f"the list ends at page {number}, page 1 named page {self._last} as the last")
        repeated = sorted(i for i, n in self._ids.items() if n > 1)
        if repeated:
            raise self._changed(f"{self.kind} {', '.join(repeated[:5])} listed twice")

    def _changed(self, detail: str) -> DataError:
        return DataError(
            f"{self.where}: the listing is inconsistent: {detail} (it changed while it was read, or the server pages "
            "it wrongly); nothing of it is used: run again"
        )
