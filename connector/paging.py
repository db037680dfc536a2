"""The one paging loop, `paginate`, and the paging schemes vendors' list endpoints use."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from connector.errors import DataError

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
    """A page that links to the next: `items`, `totalPages` and `nextLink` (empty on the last page)."""

    @property
    def items(self) -> Sequence[T_co] | None: ...
    @property
    def totalPages(self) -> int: ...
    @property
    def nextLink(self) -> str | None: ...


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
    """`page` and `itemsInPage` asked; an empty `nextLink`, the last of `totalPages` or an empty page ends the list."""

    items_in_page: int
    where: str

    def params(self, number: int) -> dict[str, Any]:
        return {"page": number, "itemsInPage": self.items_in_page}

    def read(self, number: int, page: LinkedPage[T]) -> tuple[Sequence[T], bool]:
        items = page.items or []
        return items, bool(page.nextLink) and number < page.totalPages and bool(items)


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
