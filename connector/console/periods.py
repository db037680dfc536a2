"""The Periods page: the periods the store holds lines of (what `connector history` reads), and for one period the
reconcile `connector reconcile` runs against the PSA's invoices, and the CSV and HTML exports `connector export`
writes. Everything here reads; reconcile reads the PSA, so it is a form any signed-in person may post."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from connector import operations
from connector.console.auth import Session
from connector.console.web import Console, page, period_order, posted
from connector.core.errors import ConnectorError, Status, exit_code_for
from connector.core.redact import redact

log = logging.getLogger(__name__)

# What `connector reconcile`'s exit status says, in words (the command's docstring and the exit-code table).
OUTCOMES = {
    Status.OK: "Every pushed line was invoiced as pushed, or is not invoiced yet with nothing wrong on its contract.",
    Status.DIFFERS: "An invoice carries another quantity (or rate) than the one pushed, or a line cannot be invoiced "
    "as pushed: each such line says why below. Money was billed other than computed.",
    Status.HELD: "Every invoice is as pushed, but corrections of this period wait to be billed by hand (listed "
    "below); close each on the Review page once billed.",
}
_MEDIA = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def period_rows(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per period in the store's line history, newest first: its lines, customers, and how many are in each
    status now (a line's status is that of its last history row)."""
    by_period: dict[str, list[dict[str, Any]]] = {}
    for row in {row["line_id"]: row for row in history}.values():
        by_period.setdefault(row["period"], []).append(row)
    return [
        {
            "period": period,
            "lines": len(rows),
            "customers": len({row["psa_customer"] for row in rows}),
            "statuses": ", ".join(
                f"{n} {status}" for status, n in sorted(Counter(str(r["status"]) for r in rows).items())
            ),
        }
        for period, rows in sorted(by_period.items(), key=lambda item: period_order(item[0]), reverse=True)
    ]


async def _known(console: Console) -> list[dict[str, Any]]:
    return period_rows(await run_in_threadpool(operations.history, console.settings))


@page
async def periods(request: Request, console: Console) -> Response:
    """GET /periods: every period the store holds lines of, newest first."""
    return console.render(request, "periods.html", {"periods": await _known(console), "chosen": None})


@page
async def period(request: Request, console: Console) -> Response:
    """GET /periods/{period}: the period's lines by status, the reconcile form and the export downloads."""
    return await _period_page(console, request)


async def _period_page(
    console: Console, request: Request, *, result: dict[str, Any] | None = None, error: str | None = None
) -> Response:
    chosen = request.path_params["period"]
    known = await _known(console)
    row = next((p for p in known if p["period"] == chosen), None)
    if row is None:
        return console.refuse(request, 404, f"The store holds no line of period {chosen!r}.")
    context = {"periods": known, "chosen": row, "result": result, "error": error}
    return console.render(request, "periods.html", context, status_code=200 if error is None else 409)


@posted(None, "reconcile")
async def reconcile(request: Request, console: Console, session: Session, form: FormData) -> Response:
    """POST /periods/{period}/reconcile: `connector reconcile --period P` (it reads the PSA's invoices; it changes
    nothing), for any signed-in person, with the form's CSRF token."""
    chosen = request.path_params["period"]
    log.info("console: %s reconciles %s", session.person.name, chosen)
    try:
        checked = await run_in_threadpool(operations.reconcile_period, console.settings, chosen)
    except ConnectorError as error:
        told = f"{redact(str(error))} (`connector reconcile` would exit {exit_code_for(error)})"
        return await _period_page(console, request, error=told)
    return await _period_page(console, request, result=reconciled(checked))


def reconciled(checked: operations.PeriodCheck) -> dict[str, Any]:
    """What the page shows of a reconcile: the rows `connector reconcile --format json` prints, the corrections,
    and the exit status the command would end with, with its meaning."""
    result, owed = checked.reconciliation, checked.owed
    status = Status.HELD if owed and result.status is Status.OK else result.status
    return {
        "psa": result.psa,
        "start": result.start,
        "end": result.end,
        "rows": result.rows(),
        "owed": owed,
        "differences": result.differences(),
        "status": status,
        "exit_code": exit_code_for(status),
        "meaning": OUTCOMES.get(status, ""),
    }


@page
async def export(request: Request, console: Console) -> Response:
    """GET /periods/{period}/export.csv or .html: what `connector export --period P --format csv` (or html) writes."""
    output_format: Literal["csv", "html"] = "csv" if request.url.path.endswith(".csv") else "html"
    chosen = request.path_params["period"]
    try:
        _, text = await run_in_threadpool(operations.export_period, console.settings, chosen, output_format)
    except ConnectorError as error:
        return console.refuse(request, 404, redact(str(error)))
    filename = f"billing-{_SAFE_NAME.sub('_', chosen)}.{output_format}"
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return Response(text, media_type=_MEDIA[output_format], headers=headers)
