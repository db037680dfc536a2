"""Review's filter and its bulk approve: the held lines a customer text and a contract pick, a confirmation page with
their count and total (the sum of the amounts `connector review` gives, nothing priced again), and the POST that
approves exactly the lines it showed through `operations.approve_lines`, as the signed-in person; and "push now",
one `connector sync` run from the console under the store's sync lock."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from connector import operations
from connector.console.auth import Session
from connector.console.web import Console, actor, console_of, plain, posted
from connector.core.errors import ConnectorError, ParameterError, StoreBusyError
from connector.core.redact import redact
from connector.operations import ChangedSinceShown
from mappings.lines import LineStatus, Outcome

log = logging.getLogger(__name__)

MAX_FILTER = 200  # characters of a filter's text kept
BULK_NOTE = "approved in the console (bulk: {count} line(s), total {total})"


@dataclass(frozen=True)
class Filter:
    """What Review's filter asks for (GET `customer`, `contract`): a customer's name containing the text (any case)
    and a contract named exactly (any case); an empty field matches every line."""

    customer: str = ""
    contract: str = ""

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Filter:
        return cls(*(str(values.get(key, "")).strip()[:MAX_FILTER] for key in ("customer", "contract")))

    @property
    def active(self) -> bool:
        return bool(self.customer or self.contract)

    def matches(self, row: Mapping[str, Any]) -> bool:
        customer = not self.customer or self.customer.casefold() in str(row["psa_customer"]).casefold()
        contract = not self.contract or self.contract.casefold() == str(row["contract"]).casefold()
        return customer and contract

    def query(self) -> str:
        return urlencode({"customer": self.customer, "contract": self.contract})


def held(rows: Iterable[Mapping[str, Any]], chosen: Filter) -> list[Mapping[str, Any]]:
    """The held lines the filter picks, in Review's order."""
    return [row for row in rows if row["status"] == LineStatus.HELD and chosen.matches(row)]


def total(rows: Iterable[Mapping[str, Any]]) -> Decimal:
    """The sum of the lines' amounts (each already priced by `mappings.billing.price`, as the JSON output says)."""
    return sum((Decimal(row["amount"]) for row in rows), Decimal(0))


def contracts(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The contracts of the held lines, for the filter's choice."""
    return sorted({str(row["contract"]) for row in rows if row["status"] == LineStatus.HELD}, key=str.casefold)


async def confirm(request: Request) -> Response:
    """GET /review/bulk?customer=…&contract=…: the filtered held lines, their count and total, and the form that
    approves exactly them."""
    console = console_of(request)
    session = console.session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    if not session.person.may("approve"):
        return console.refuse(request, 403, f"Your role ({session.person.role}) may not approve.")
    chosen = Filter.of(request.query_params)
    lines = held(await run_in_threadpool(operations.waiting, console.settings), chosen)
    context = {"lines": lines, "count": len(lines), "total": total(lines), "filter": chosen}
    return console.render(request, "confirm.html", context)


@posted("approve", "approve")
async def approve(request: Request, console: Console, session: Session, form: FormData) -> Response:
    """POST /review/bulk: approve the ids the confirmation showed, all or none: a line no longer held, or held with
    another quantity than shown, refuses the whole set."""
    try:
        shown = {int(str(value)): shown_quantity(form.get(f"quantity-{value}")) for value in form.getlist("id")}
    except ConnectorError as error:
        return console.refuse(request, 400, f"{error}: reload the page.")
    except ValueError:
        return console.refuse(request, 400, "The form named a line id that is not a number: reload the page.")
    if not shown:
        return console.refuse(request, 400, "No line was named: nothing to approve.")
    # A first look, for the note's total and a quick refusal; approve_lines checks the quantities again under the
    # store's sync lock, in the transaction that approves them, so a sync in between cannot slip a change through.
    now = {int(row["id"]): row for row in await run_in_threadpool(operations.waiting, console.settings)}
    held_now = {i: row["quantity"] for i, row in now.items() if row["status"] == LineStatus.HELD}
    stale = [i for i, quantity in shown.items() if held_now.get(i) != quantity]
    if stale:
        return _stale(console, request, stale)
    lines = [now[i] for i in shown]
    note = BULK_NOTE.format(count=len(lines), total=format(total(lines), "f"))
    by = actor(session)
    try:
        approved = await run_in_threadpool(
            lambda: operations.approve_lines(console.settings, list(shown), note, actor=by, expected=shown)
        )
    except ChangedSinceShown as error:
        log.warning("console: bulk approve by %s refused: %s", session.person.name, error)
        return _stale(console, request, error.ids)
    except ConnectorError as error:
        # approve_lines refuses the whole set before deciding any line: nothing was approved.
        log.warning("console: bulk approve by %s refused: %s", session.person.name, error)
        return _stale(console, request, [], redact(str(error)))
    told = f"approved {len(approved)} line(s): " + ", ".join(str(line.id) for line in approved)
    log.info("console: %s %s", session.person.name, told)
    session.notices.append(told)
    return RedirectResponse("/review", status_code=303)


def shown_quantity(value: object) -> Decimal:
    """The quantity a form says the person saw (a hidden field holding the figure as the page showed it)."""
    with suppress(ArithmeticError):  # no such field (None), or not a number
        quantity = Decimal(str(value))
        if quantity.is_finite():
            return quantity
    raise ParameterError("the form did not say which quantity was shown", param="quantity")


def _stale(console: Console, request: Request, ids: list[int], detail: str = "") -> Response:
    if ids:
        detail = (
            f"line(s) {', '.join(map(str, ids))} changed since the confirmation was shown "
            "(no longer held, or held with another quantity)."
        )
    why = f"Nothing was approved: {detail} Open Review again and confirm the lines as they are now."
    return console.refuse(request, 409, why)


@posted("approve", "push")
async def push_now(request: Request, console: Console, session: Session, form: FormData) -> Response:
    """POST /push: one `connector sync` now (fetch, compute, push what is pending or approved), as an approver;
    refused while another sync holds the store's lock."""
    log.info("console: %s asked for a sync now", session.person.name)
    try:
        report = await run_in_threadpool(operations.sync, console.settings)
    except StoreBusyError as error:
        return console.refuse(request, 409, f"Not pushed: {redact(str(error))}. Push again once it has finished.")
    except ConnectorError as error:
        return console.refuse(request, 502, f"The sync failed: {redact(str(error))}")
    counts = ", ".join(
        f"{report.count(outcome)} {outcome.value}"
        for outcome in (Outcome.PUSHED, Outcome.UNCHANGED, Outcome.HELD, Outcome.BLOCKED, Outcome.FAILED)
    )
    told = f"sync run by {session.person.name}: {plain(report.status)} ({counts})"
    log.info("console: %s", told)
    session.notices.append(told)
    return RedirectResponse("/review", status_code=303)
