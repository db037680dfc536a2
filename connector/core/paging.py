"""The one paging loop, `paginate`, and the paging schemes vendors' list endpoints use."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from connector.core.errors import DataError

# A list longer than this many pages means the server's paging is broken, not that the account is that large.
MAX_PAGES = 100_000

T = TypeVar("T")
P = TypeVar("P")
T_co = TypeVar("T_co", covariant=True)
P_contra = TypeVar("P_contra", contravariant=True)


class CountedPage(Protocol[T_co]):
    """A page that counts the whole list: `items`, its `page` number and the list's `total` items."""

    @property
    def items(self) -> Sequence[T_co]: ...
    @property
    def page(self) -> int: ...
    @property
    def total(self) -> int: ...


class LinkedPage(Protocol[T_co]):
    """A page that links to the next: `items`, `nextLink` (empty on the last page), and what the server says of
    the page and the list when it says it: its `page` number, `totalPages` and `totalItemCount`."""

    @property
    def items(self) -> Sequence[T_co] | None: ...
    @property
    def nextLink(self) -> str | None: ...
    @property
    def page(self) -> int | None: ...
    @property
    def totalPages(self) -> int | None: ...
    @property
    def totalItemCount(self) -> int | None: ...


class Paginator(Protocol[P_contra, T_co]):
    """One paging scheme: the query for page n, and what a page says (its items, whether another follows)."""

    @property
    def where(self) -> str: ...
    def params(self, number: int) -> dict[str, Any]: ...
    def read(self, number: int, page: P_contra) -> tuple[Sequence[T_co], bool]: ...


@dataclass
class CountedPaging(Generic[T]):
    """`page` and `per_page` asked, read until `total` items have come; then the count and the ids must agree.

    It stops on the count, not on a short page, because a server may cap the page size below what was asked.
    """

    per_page: int
    where: str
    kind: str = "item"
    id_of: Callable[[T], str | None] | None = None
    _received: int = field(default=0, init=False)
    _ids: Counter[str] = field(default_factory=Counter, init=False)

    def params(self, number: int) -> dict[str, Any]:
        return {"page": number, "per_page": self.per_page}

    def read(self, number: int, page: CountedPage[T]) -> tuple[Sequence[T], bool]:
        if page.page != number:
            raise DataError(f"{self.where}: asked for page {number}, the server sent page {page.page}")
        self._received += len(page.items)
        if self.id_of is not None:
            self._ids.update(i for item in page.items if (i := self.id_of(item)) is not None)
        if self._received < page.total and page.items:
            return page.items, True
        if self._received != page.total:
            raise DataError(
                f"{self.where}: {self._received} {self.kind}s received but the server counts {page.total}; "
                "the list changed while paging or was cut short; run again"
            )
        repeated = sorted(i for i, n in self._ids.items() if n > 1)
        if repeated:
            raise DataError(
                f"{self.where}: {self.kind} {', '.join(repeated[:5])} listed twice; the list changed while paging"
            )
        return page.items, False


@dataclass
class LinkedPaging(Generic[T]):
    """`page` and `itemsInPage` asked; an empty `nextLink`, an empty page or the last page the first one announced
    ends the list. Then it must add up, or nothing of it is used:

    every page is the page asked for and not the one before again (a server that ignores the page number is caught
    at page 2, not after hours), every page counts the list as the first did, the items received are the count, and
    no id comes twice. A list that changed while it was read (an item deleted between page 1 and 2 shifts one
    item onto a page already read) fails one of these; a run that used it would miss or double that item.
    """

    items_in_page: int
    where: str
    kind: str = "item"
    id_of: Callable[[T], str | None] | None = None
    # What page 1 said of the list (totalItemCount, totalPages), and the last page it allows.
    _counted: tuple[int | None, int | None] = field(default=(None, None), init=False)
    _last: int | None = field(default=None, init=False)
    _previous: list[T] = field(default_factory=list, init=False)
    _received: int = field(default=0, init=False)
    _ids: Counter[str] = field(default_factory=Counter, init=False)

    def params(self, number: int) -> dict[str, Any]:
        return {"page": number, "itemsInPage": self.items_in_page}

    def read(self, number: int, page: LinkedPage[T]) -> tuple[Sequence[T], bool]:
        items = list(page.items or [])
        self._check_page(number, page, items)
        self._received += len(items)
        if self.id_of is not None:
            self._ids.update(i for item in items if (i := self.id_of(item)) is not None)
        more = bool(page.nextLink) and bool(items) and (self._last is None or number < self._last)
        if not more:
            self._check_whole()
        return items, more

    def _check_page(self, number: int, page: LinkedPage[T], items: list[T]) -> None:
        if page.page is not None and page.page != number:
            raise DataError(
                f"{self.where}: asked for page {number}, the server sent page {page.page}; it ignores the page "
                "number, so the list cannot be read whole"
            )
        counted = (page.totalItemCount, page.totalPages)
        if number == 1:
            self._counted, self._last = counted, _last_page(counted, len(items))
        elif counted != self._counted:
            raise self._changed(
                f"page 1 counted {_counts(self._counted, self.kind)}, page {number} counts {_counts(counted)}"
            )
        if items and items == self._previous:
            raise DataError(
                f"{self.where}: page {number} is page {number - 1} again; the server ignores the page number, so "
                "the list cannot be read whole"
            )
        self._previous = items

    def _check_whole(self) -> None:
        total = self._counted[0]
        if total is not None and self._received != total:
            raise self._changed(f"{self._received} {self.kind}s received but the server counts {total}")
        repeated = sorted(i for i, n in self._ids.items() if n > 1)
        if repeated:
            raise self._changed(f"{self.kind} {', '.join(repeated[:5])} listed twice")

    def _changed(self, detail: str) -> DataError:
        return DataError(
            f"{self.where}: the listing is inconsistent: {detail} (it changed while it was read, or the server "
            "pages it wrongly); nothing of it is used: run again"
        )


def _last_page(counted: tuple[int | None, int | None], first_page_size: int) -> int | None:
    """The last page the first one announces: its totalPages, else its count over its size; None if it says neither."""
    total, pages = counted
    if pages:
        return pages
    if total is not None:
        # A server may serve fewer than asked: the first page's own size is the one that counts.
        return max(1, math.ceil(total / first_page_size)) if first_page_size else 1
    return None


def _counts(counted: tuple[int | None, int | None], kind: str | None = None) -> str:
    total, pages = ("?" if n is None else n for n in counted)
    return f"{total} {kind + 's ' if kind else ''}in {pages} pages"


def paginate(
    fetch: Callable[[dict[str, Any]], P], paginator: Paginator[P, T], *, max_pages: int = MAX_PAGES
) -> Iterator[T]:
    """Every item of a list, page 1, 2, ... as `fetch(params)` returns them, until the paginator says the last came."""
    for number in range(1, max_pages + 1):
        items, more = paginator.read(number, fetch(paginator.params(number)))
        yield from items
        if not more:
            return
    raise DataError(f"{paginator.where}: more than {max_pages} pages; paging looks broken")
