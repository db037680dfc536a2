"""The pages of this slice: Month (what `connector status` reports) and Review (what `connector review` lists, with
the approve and discard forms that call the operations `connector approve` and `connector discard` call)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

import providers
from connector import operations
from connector.console import bulk
from connector.console.auth import Session
from connector.console.web import Console, checked_form, console_of
from connector.core.errors import ConnectorError
from connector.core.redact import redact
from connector.operations import Actor

log = logging.getLogger(__name__)

VIA = "console"  # what the audit log records as the way a decision was made
MAX_NOTE = 1000
APPROVED_NOTE = "approved in the console"
PAGE_SIZE = 50  # review cards a page, as Customers lists customers


def page_number(text: str | None) -> int:
    """A page's number from the query (1 when missing or not a number)."""
    try:
        return max(1, int(text or "1"))
    except ValueError:
        return 1


def _signin() -> Response:
    return RedirectResponse("/signin", status_code=303)


async def month(request: Request) -> Response:
    """GET /: the last runs, what waits for a person, the sources' calls, the store."""
    console = console_of(request)
    if console.session(request) is None:
        return _signin()
    summary = await run_in_threadpool(operations.status, console.settings)
    psa = providers.psa(console.settings)
    context = {
        "summary": summary,
        "data": summary.to_data(),
        "progress": summary.progress_notes(),
        "psa": psa.title if psa is not None else "the PSA",
        "mode": f"billed in {console.settings.billing.mode.value}",
    }
    return console.render(request, "month.html", context)


async def review(request: Request) -> Response:
    """GET /review: one card per held or failed line and per correction to bill by hand, those the filter picks
    (GET `customer`, `contract`, see `bulk.Filter`)."""
    console = console_of(request)
    if console.session(request) is None:
        return _signin()
    return await _review_page(console, request)


async def _review_page(console: Console, request: Request, *, error: str | None = None, status: int = 200) -> Response:
    rows = await run_in_threadpool(operations.waiting, console.settings)
    chosen = bulk.Filter.of(request.query_params)
    picked = [row for row in rows if chosen.matches(row)]
    # A page of cards at a time (a large MSP holds hundreds); the bulk approve still takes every held line picked.
    pages = max(1, -(-len(picked) // PAGE_SIZE))
    number = min(page_number(request.query_params.get("page")), pages)
    shown = picked[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    context = {
        "cards": [{**row, "actions": card_actions(row)} for row in shown],
        "error": error,
        "filter": chosen,
        "contracts": bulk.contracts(rows),
        "held_count": len(bulk.held(rows, chosen)),
        "matching": len(picked),
        "page": number,
        "pages": pages,
        "first": (number - 1) * PAGE_SIZE + 1,
    }
    return console.render(request, "review.html", context, status_code=status)


Decide = Callable[[Console, Session, int, str, FormData], Awaitable[str]]


async def _decision(request: Request, action: str, decide: Decide, *, note_required: bool) -> Response:
    """A form's POST: signed in, its CSRF token, the role's permission, then the operation; refused otherwise, with
    nothing changed."""
    console = console_of(request)
    checked = await checked_form(request, console, action, action)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    note = str(form.get("note", "")).strip()
    if note_required and not note:
        return await _review_page(console, request, error=f"To {action} a line, say why in the note.", status=400)
    if len(note) > MAX_NOTE:
        return await _review_page(console, request, error=f"A note holds at most {MAX_NOTE} characters.", status=400)
    line_id = int(request.path_params["line_id"])
    try:
        told = await decide(console, session, line_id, note, form)
    except ConnectorError as error:
        return await _review_page(console, request, error=redact(str(error)), status=409)
    log.info("console: %s %s", session.person.name, told)
    session.notices.append(told)
    return RedirectResponse("/review", status_code=303)


async def _approve(console: Console, session: Session, line_id: int, note: str, form: FormData) -> str:
    actor = Actor(session.person.name, VIA)
    # The quantity the card showed: approved only if the line is still held with it (checked under the sync lock).
    expected = {line_id: bulk.shown_quantity(form.get("quantity"))}
    approved = await run_in_threadpool(
        lambda: operations.approve_lines(
            console.settings, [line_id], note or APPROVED_NOTE, actor=actor, expected=expected
        )
    )
    return "; ".join(f"approved line {line.id}: {line.describe()}" for line in approved)


async def _discard(console: Console, session: Session, line_id: int, note: str, form: FormData) -> str:
    actor = Actor(session.person.name, VIA)
    discarded = await run_in_threadpool(
        lambda: operations.discard_lines(console.settings, [line_id], note, actor=actor)
    )
    return "; ".join(f"discarded line {line.id}: {line.describe()} (not billed: {note})" for line in discarded)


async def approve(request: Request) -> Response:
    """POST /review/{id}/approve: `connector approve ID`, as the signed-in person."""
    return await _decision(request, "approve", _approve, note_required=False)


async def discard(request: Request) -> Response:
    """POST /review/{id}/discard: `connector discard ID --note WHY`, as the signed-in person; the note is required."""
    return await _decision(request, "discard", _discard, note_required=True)


def card_actions(row: dict[str, Any]) -> list[str]:
    """Which forms a review card offers: a held line may be approved or discarded, a failed one discarded, a
    correction closed (discarded) once billed by hand."""
    return ["approve", "discard"] if row["status"] == "held" else ["discard"]
