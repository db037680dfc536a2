"""The pages of this slice: Month (what `connector status` reports) and Review (what `connector review` lists, with
the approve and discard forms that call the operations `connector approve` and `connector discard` call)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

import providers
from connector import operations
from connector.console import bulk
from connector.console.auth import Session
from connector.console.web import Console, Endpoint, actor, page, paged, posted
from connector.core.errors import ConnectorError
from connector.core.redact import redact
from connector.operations import Actor

log = logging.getLogger(__name__)

MAX_NOTE = 1000
APPROVED_NOTE = "approved in the console"


@page
async def month(request: Request, console: Console) -> Response:
    """GET /: the last runs, what waits for a person, the sources' calls, the store."""
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


@page
async def review(request: Request, console: Console) -> Response:
    """GET /review: one card per held or failed line and per correction to bill by hand, those the filter picks
    (GET `customer`, `contract`, see `bulk.Filter`)."""
    return await _review_page(console, request)


async def _review_page(console: Console, request: Request, *, error: str | None = None, status: int = 200) -> Response:
    rows = await run_in_threadpool(operations.waiting, console.settings)
    chosen = bulk.Filter.of(request.query_params)
    picked = [row for row in rows if chosen.matches(row)]
    # A page of cards at a time (a large MSP holds hundreds); the bulk approve still takes every held line picked.
    shown, pages = paged(picked, request.query_params.get("page"))
    context = {
        # A held line may be approved or discarded, a failed one discarded, a correction closed once billed by hand.
        "cards": [
            {**row, "actions": ["approve", "discard"] if row["status"] == "held" else ["discard"]} for row in shown
        ],
        "error": error,
        "filter": chosen,
        "contracts": bulk.contracts(rows),
        "held_count": len(bulk.held(rows, chosen)),
        "matching": len(picked),
        **pages,
    }
    return console.render(request, "review.html", context, status_code=status)


def _deciding(action: str, decide: Callable[[Console, FormData, int, str, Actor], str]) -> Endpoint:
    """POST /review/{id}/`action`: the operation `decide` calls, as the signed-in person, once the note is checked
    (a discard says why); the review page again, with why, if it refuses."""

    @posted(action, action)
    async def endpoint(request: Request, console: Console, session: Session, form: FormData) -> Response:
        note = str(form.get("note", "")).strip()
        if action == "discard" and not note:
            return await _review_page(console, request, error=f"To {action} a line, say why in the note.", status=400)
        if len(note) > MAX_NOTE:
            return await _review_page(
                console, request, error=f"A note holds at most {MAX_NOTE} characters.", status=400
            )
        line_id = int(request.path_params["line_id"])
        try:
            told = await run_in_threadpool(decide, console, form, line_id, note, actor(session))
        except ConnectorError as error:
            return await _review_page(console, request, error=redact(str(error)), status=409)
        log.info("console: %s %s", session.person.name, told)
        session.notices.append(told)
        return RedirectResponse("/review", status_code=303)

    return endpoint


def _approve(console: Console, form: FormData, line_id: int, note: str, by: Actor) -> str:
    """`connector approve ID`."""
    # The quantity the card showed: approved only if the line is still held with it (checked under the sync lock).
    expected = {line_id: bulk.shown_quantity(form.get("quantity"))}
    approved = operations.approve_lines(console.settings, [line_id], note or APPROVED_NOTE, actor=by, expected=expected)
    return "; ".join(f"approved line {line.id}: {line.describe()}" for line in approved)


def _discard(console: Console, form: FormData, line_id: int, note: str, by: Actor) -> str:
    """`connector discard ID --note WHY`."""
    discarded = operations.discard_lines(console.settings, [line_id], note, actor=by)
    return "; ".join(f"discarded line {line.id}: {line.describe()} (not billed: {note})" for line in discarded)


approve = _deciding("approve", _approve)
discard = _deciding("discard", _discard)
