"""The paging loop and its schemes: counted pages that must add up, linked pages that must too, and the page limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connector.core.errors import DataError
from connector.core.paging import CountedPaging, LinkedPaging, paginate


@dataclass(frozen=True)
class Counted:
    items: list[dict[str, Any]]
    page: int
    total: int


@dataclass(frozen=True)
class Linked:
    items: list[int] | None
    totalPages: int | None
    nextLink: str | None
    page: int | None = None
    totalItemCount: int | None = None


def rows(n: int) -> list[dict[str, Any]]:
    return [{"id": i} for i in range(1, n + 1)]


def counted_server(items: list[dict[str, Any]], cap: int | None = None) -> tuple[list[dict[str, Any]], Any]:
    asked: list[dict[str, Any]] = []

    def fetch(params: dict[str, Any]) -> Counted:
        asked.append(params)
        size = min(params["per_page"], cap) if cap else params["per_page"]
        start = (params["page"] - 1) * size
        return Counted(items[start : start + size], params["page"], len(items))

    return asked, fetch


def counted(per_page: int = 3) -> CountedPaging[dict[str, Any]]:
    return CountedPaging(per_page, "acme: GET /things", "thing", lambda item: str(item["id"]))


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (1, 1), (3, 1), (6, 2), (7, 3)])
def test_counted_paging_reads_to_the_count_and_no_further(count: int, pages: int) -> None:
    asked, fetch = counted_server(rows(count))
    assert list(paginate(fetch, counted())) == rows(count)
    assert asked == [{"page": n, "per_page": 3} for n in range(1, pages + 1)]


def test_counted_paging_follows_a_short_page_to_the_count() -> None:
    asked, fetch = counted_server(rows(5), cap=2)
    assert list(paginate(fetch, counted(per_page=100))) == rows(5)
    assert len(asked) == 3


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([Counted(rows(3), 1, 5), Counted([], 2, 5)], "3 things received but the server counts 5"),
        ([Counted(rows(3), 1, 2)], "3 things received but the server counts 2"),
        ([Counted(rows(3), 1, 4), Counted([{"id": 3}], 2, 4)], "thing 3 listed twice"),
        ([Counted(rows(3), 1, 6), Counted(rows(3), 1, 6)], "asked for page 2, the server sent page 1"),
    ],
    ids=["cut short", "more than counted", "repeated id", "wrong page"],
)
def test_counted_paging_refuses_a_list_that_does_not_add_up(pages: list[Counted], message: str) -> None:
    queue = iter(pages)
    with pytest.raises(DataError, match=message):
        list(paginate(lambda params: next(queue), counted()))


def endless_counted(params: dict[str, Any]) -> Counted:
    return Counted([{"id": params["page"]}], params["page"], 10**9)


def endless_linked(params: dict[str, Any]) -> Linked:
    return Linked([params["page"]], 10**9, "next")


@pytest.mark.parametrize(
    ("fetch", "paginator"),
    [(endless_counted, counted()), (endless_linked, LinkedPaging[int](50, "acme: GET /things"))],
    ids=["counted", "linked"],
)
def test_a_list_that_never_ends_stops_at_max_pages(fetch: Callable[..., Any], paginator: Any) -> None:
    got: list[Any] = []
    with pytest.raises(DataError, match="acme: GET /things: more than 3 pages; paging looks broken"):
        got.extend(paginate(fetch, paginator, max_pages=3))
    assert len(got) == 3


def linked_server(pages: list[Linked]) -> tuple[list[dict[str, Any]], Callable[[dict[str, Any]], Linked]]:
    asked: list[dict[str, Any]] = []

    def fetch(params: dict[str, Any]) -> Linked:
        asked.append(params)
        number: int = params["page"]
        return pages[number - 1]

    return asked, fetch


def linked(items_in_page: int = 50) -> LinkedPaging[int]:
    return LinkedPaging(items_in_page, "acme: GET /things")


@pytest.mark.parametrize("last_link", [None, ""])
def test_linked_paging_stops_on_an_empty_next_link(last_link: str | None) -> None:
    asked, fetch = linked_server([Linked([1, 2], 9, "p2"), Linked([3], 9, last_link), Linked([4], 9, None)])
    assert list(paginate(fetch, linked(2))) == [1, 2, 3]
    assert asked == [{"page": 1, "itemsInPage": 2}, {"page": 2, "itemsInPage": 2}]


def test_linked_paging_stops_at_total_pages_even_with_a_next_link() -> None:
    asked, fetch = linked_server([Linked([1], 2, "p2"), Linked([2], 2, "p3"), Linked([3], 2, None)])
    assert list(paginate(fetch, linked())) == [1, 2]
    assert len(asked) == 2


def test_linked_paging_stops_on_an_empty_page_but_not_on_a_short_one() -> None:
    asked, fetch = linked_server([Linked([1], 5, "p2"), Linked([2], 5, "p3"), Linked(None, 5, "p4")])
    assert list(paginate(fetch, linked())) == [1, 2]
    assert len(asked) == 3


def test_paging_is_lazy_and_yields_items_page_by_page() -> None:
    asked, fetch = linked_server([Linked([1], 2, "p2"), Linked([2], 2, None)])
    items: Iterator[int] = paginate(fetch, linked())
    assert asked == []
    assert next(items) == 1 and len(asked) == 1


CHANGED = "the listing is inconsistent: "


def verified() -> LinkedPaging[int]:
    return LinkedPaging(2, "acme: GET /things", "thing", str)


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        (
            [Linked([1, 2], 2, "p2", 1, 4), Linked([4], 2, None, 2, 3)],
            r"the listing is inconsistent: page 1 counted 4 things in 2 pages, page 2 counts 3 in 2 pages",
        ),
        (
            [Linked([1, 2], 2, "p2", 1, 4), Linked([3, 4], 3, "p3", 2, 4)],
            CHANGED,
        ),
        ([Linked([1, 2], 3, "p2", 1, 6), Linked([3, 4], 3, None, 2, 6)], f"{CHANGED}4 things received but .* 6"),
        ([Linked([1, 2], 3, "p2", 1, 6), Linked(None, 3, "p3", 2, 6)], f"{CHANGED}2 things received but .* 6"),
        ([Linked([1, 2, 3], 1, None, 1, 2)], f"{CHANGED}3 things received but the server counts 2"),
        ([Linked([1, 2], 2, "p2", 1, 4), Linked([2, 3], 2, None, 2, 4)], f"{CHANGED}thing 2 listed twice"),
        ([Linked([1, 2], 2, "p2", 1, 4), Linked([3, 4], 2, None, 1, 4)], "asked for page 2, the server sent page 1"),
        ([Linked([1, 2], 2, "p2", 1, 4), Linked([1, 2], 2, None, 2, 4)], "page 2 is page 1 again"),
    ],
    ids=[
        "count changed",
        "pages changed",
        "ended short",
        "empty page short",
        "more than counted",
        "repeated id",
        "wrong page",
        "same page",
    ],
)
def test_linked_paging_refuses_a_list_that_does_not_add_up(pages: list[Linked], message: str) -> None:
    _, fetch = linked_server(pages)
    with pytest.raises(DataError, match=f"acme: GET /things: {message}"):
        list(paginate(fetch, verified()))


def test_a_linked_list_that_adds_up_is_read_whole() -> None:
    pages = [Linked([1, 2], 3, "p2", 1, 5), Linked([3, 4], 3, "p3", 2, 5), Linked([5], 3, "", 3, 5)]
    asked, fetch = linked_server(pages)
    assert list(paginate(fetch, verified())) == [1, 2, 3, 4, 5]
    assert len(asked) == 3


@pytest.mark.parametrize("echo", [True, False], ids=["echoes the page asked", "says page 1"])
def test_a_server_that_ignores_the_page_number_is_caught_at_page_2(echo: bool) -> None:
    asked: list[dict[str, Any]] = []

    def fetch(params: dict[str, Any]) -> Linked:
        asked.append(params)
        # Page 1 whatever is asked, and a count that would take a million pages to reach.
        return Linked([1, 2], 10**6, "next", params["page"] if echo else 1, 2 * 10**6)

    with pytest.raises(DataError, match=r"acme: GET /things: .*page"):
        list(paginate(fetch, verified()))
    assert len(asked) == 2


def test_the_first_page_s_count_bounds_the_pages_read() -> None:
    asked: list[dict[str, Any]] = []

    def fetch(params: dict[str, Any]) -> Linked:
        # No totalPages, a count of 4, and a next link for ever: the list ends at page 2 (4 things, 2 a page).
        asked.append(params)
        number = params["page"]
        return Linked([2 * number - 1, 2 * number], None, "next", number, 4)

    assert list(paginate(fetch, verified())) == [1, 2, 3, 4]
    assert len(asked) == 2
