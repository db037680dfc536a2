"""The Mapping page: what `connector map` lists (vendor customers matched by name, suggested, unmatched; PSA customers
no vendor customer maps to), a suggestion used or a customer ignored (the mapping file written as `connector map
--write` writes it), and a new customer onboarded in the PSA (`map --create-customers --customer X`), its plan shown
and confirmed first. Every action is the operation the command calls, as the signed-in person.

The mapping file is the first one the configuration includes (`[mappings] file`), else `mappings.toml` beside it;
the console knows the configuration's path from `app.state.config_path`, and refuses to write without it.

The page calls no vendor: it shows the vendor customers as the store last recorded them (the last sync's read, or
the last refresh), with the PSA's customers and contracts read once and kept a few minutes in the console. "Refresh
from the vendors" (a POST any signed-in person may make) reads the vendors and the PSA live, as `connector map` does;
what it read is shown, and used by the choices, for a few minutes. A choice classifies that live read (or reads live
itself when there is none that recent), so what it writes is what `connector map --write` writes."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from connector import operations
from connector.console.auth import Session
from connector.console.mapping_read import Sources, current, shown, when
from connector.console.web import Console, Endpoint, actor, page, posted
from connector.core.config import Settings
from connector.core.errors import ConfigError, ConnectorError
from connector.core.redact import redact
from connector.mapping import mapfile
from connector.mapping.mapper import MapItem, MapResult, PsaRef
from connector.mapping.onboard import Onboarding
from connector.operations import Actor
from connector.wiring import load_settings

log = logging.getLogger(__name__)

# auth.py's roles: mapping (the mapping file written, customers onboarded) needs "map", which approvers have.
PERMISSION = "map"
MAX_REASON = 1000
OPEN_KINDS = ("matched", "suggested", "unmatched")
DEFAULT_FILE = "mappings.toml"
NO_PATH = "The console was started without its configuration file's path: it cannot write the mapping file."


class Refused(ConnectorError):
    """A mapping action refused before anything changed; said on the page."""


@dataclass(frozen=True)
class Where:
    """The configuration file the console was started with, and the mapping file it writes."""

    config: Path
    mapping: Path


def _where(request: Request) -> Where | None:
    config: Path | None = getattr(request.app.state, "config_path", None)
    if config is None:
        return None
    included = mapfile.included(config)
    return Where(config, included[0] if included else config.parent / DEFAULT_FILE)


def _settings(console: Console, where: Where | None) -> Settings:
    """The console's settings with the mappings the configuration holds now (the mapping file changes while the
    console runs, as `connector map` reads it afresh each time)."""
    if where is None:
        return console.settings
    fresh = load_settings(where.config)
    return console.settings.model_copy(
        update={"customers": fresh.customers, "ignored_customers": fresh.ignored_customers}
    )


def _classify(settings: Settings) -> MapResult:
    reports, problems = operations.vendor_reports(settings)
    return operations.classify(settings, reports, problems)


def _choices(item: MapItem) -> list[tuple[PsaRef, float]]:
    """The PSA customers a vendor customer may be mapped to: those suggested, else its exact-name match."""
    return list(item.suggestions) or ([(item.psa, item.score or 100.0)] if item.psa is not None else [])


def page_data(result: MapResult) -> dict[str, Any]:
    """The page's lists: the vendor customers still to map, per source, each with its closest PSA customers."""
    sources: dict[str, list[dict[str, Any]]] = {}
    for item in result.items:
        if item.kind in OPEN_KINDS:
            vendor = {"source": item.vendor.source, "vendor": item.vendor.name, "vendor_id": item.vendor.id or ""}
            sources.setdefault(item.vendor.source, []).append({**vendor, "kind": item.kind, "choices": _choices(item)})
    return {
        "sources": sources,
        "mapped": len(result.of("mapped")) + len(result.of("auto-matched")),
        "psa_only": result.psa_only,
        "unbilled": result.unbilled,
        "problems": [redact(p) for p in result.problems],
    }


@page
async def mapping(request: Request, console: Console) -> Response:
    """GET /mapping: `connector map`, with a form per choice for an approver."""
    return await _page(console, request)


async def _page(console: Console, request: Request, *, error: str | None = None, status: int = 200) -> Response:
    where = _where(request)
    try:
        result, read, psa_at = await run_in_threadpool(lambda: shown(console.sources, _settings(console, where)))
    except ConnectorError as failure:
        context: dict[str, Any] = {"error": redact(str(failure)), "where": where, "sources": {}, "mapped": 0}
        context |= {"vendors_at": "", "live": False, "psa_at": ""}
        return console.render(request, "mapping.html", {**context, "psa_only": [], "unbilled": [], "problems": []})
    context = {**page_data(result), "where": where, "error": error}
    context |= {"vendors_at": when(read.at), "live": read.live, "psa_at": when(psa_at)}
    return console.render(request, "mapping.html", context, status_code=status)


@posted(None, "refresh from the vendors")
async def refresh(request: Request, console: Console, session: Session, form: FormData) -> Response:
    """POST /mapping/refresh: read the vendors and the PSA live, as `connector map` does (any signed-in person may:
    it changes nothing but what the store records of the vendors' usage); the page then shows that read."""
    settings = _settings(console, _where(request))
    try:
        read = await run_in_threadpool(console.sources.read_live, settings)
    except ConnectorError as failure:
        return await _page(console, request, error=redact(str(failure)), status=409)
    log.info("console: %s read the vendors and the PSA live", session.person.name)
    count = sum(len(report.customers) for report in read.reports.values())
    session.notices.append(f"Read the vendors and the PSA live at {when(read.at)}: {count} vendor customer(s).")
    return RedirectResponse("/mapping", status_code=303)


def _find(result: MapResult, form: FormData) -> MapItem:
    """The vendor customer the form names, as the map operation lists it now (by its id too when the page knew it:
    a page built from the recorded lists knows names only)."""
    source, name, vendor_id = (str(form.get(k, "")) for k in ("source", "vendor", "vendor_id"))
    for item in result.items:
        if (item.vendor.source, item.vendor.name) == (source, name) and vendor_id in ("", item.vendor.id or ""):
            if item.kind not in OPEN_KINDS:
                raise Refused(f"{source} customer {name!r} is {item.kind} already: nothing to do")
            return item
    raise Refused(f"no {source} customer {name!r} is left to map (reload the page)")


def _write(
    settings: Settings,
    where: Where,
    chosen: list[MapItem],
    ignored: list[MapItem],
    actor: Actor,
    note: str,
    reason: str = mapfile.IGNORE_REASON,
) -> str:
    """`connector map --write FILE` with these choices: the same plan, merge rule and file, the ignored written with
    the person's `reason`; what it did, said."""
    taken = [c.psa_customer for c in settings.customers]
    planned = operations.plan_mapping_file(
        where.mapping, chosen, taken, ignored, settings.mapping, where.config, reason=reason
    )
    told = [
        f"{item.vendor.source} customer {item.vendor.name!r} matches {item.psa.name!r}, which a [[customers]] block "
        f"in {path} maps already: add it to that block by hand"
        for item, path in planned.skipped
        if item.psa is not None
    ]
    if planned.unchanged:
        return "; ".join([*told, f"nothing new to write: {where.mapping} holds every mapping already"])
    backup = operations.write_mapping_file(planned, settings, actor=actor, note=note)
    kept = f" (added to what it held; its previous content is in {backup})" if backup else ""
    wrote = (
        f"wrote {planned.rendered.blocks} mapping(s) and {planned.rendered.ignores} ignored customer(s) to "
        f"{where.mapping}{kept}; {operations.inclusion(where.mapping, where.config)}"
    )
    return "; ".join([*told, wrote])


Act = Callable[[Sources, Settings, Where, FormData, Actor], str]


def _acting(what: str, act: Act) -> Endpoint:
    """A mapping form's POST: `act`, as the signed-in person, then the page with what it did (or why not)."""

    @posted(PERMISSION, what)
    async def endpoint(request: Request, console: Console, session: Session, form: FormData) -> Response:
        where = _where(request)
        if where is None:
            return await _page(console, request, error=NO_PATH, status=409)
        try:
            told = await run_in_threadpool(act, console.sources, _settings(console, where), where, form, actor(session))
        except ConnectorError as failure:
            return await _page(console, request, error=redact(str(failure)), status=_status(failure))
        log.info("console: %s: %s", session.person.name, told)
        session.notices.append(told)
        return RedirectResponse("/mapping", status_code=303)

    return endpoint


def _status(failure: ConnectorError) -> int:
    return 400 if isinstance(failure, Refused | ConfigError) else 409


def _accept(sources: Sources, settings: Settings, where: Where, form: FormData, actor: Actor) -> str:
    """`connector map --write FILE` answering this vendor customer's prompt with the chosen PSA customer (the exact
    name matches are written with it, as the command writes them)."""
    result = current(sources, settings)
    item = _find(result, form)
    wanted = str(form.get("psa", ""))
    picked = next(((psa, score) for psa, score in _choices(item) if psa.name == wanted), None)
    if picked is None:
        raise Refused(f"{wanted!r} is not a PSA customer suggested for {item.vendor.name!r} (reload the page)")
    chosen = result.of("matched")
    if item.kind == "suggested":
        chosen = [*chosen, replace(item, psa=picked[0], score=picked[1])]
    note = f"use {picked[0].name!r} for {item.vendor.source} customer {item.vendor.name!r}"
    return _write(settings, where, chosen, [], actor, note)


def _ignore(sources: Sources, settings: Settings, where: Where, form: FormData, actor: Actor) -> str:
    """`connector map --write FILE --ignore X`: X under [[ignored_customers]], the exact name matches with it."""
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise Refused("To ignore a vendor customer, say why in the reason.")
    if len(reason) > MAX_REASON:
        raise Refused(f"A reason holds at most {MAX_REASON} characters.")
    result = current(sources, settings)
    item = _find(result, form)
    picked = operations.ignored(result, [item.vendor.id or item.vendor.name], False)
    ignored = [i for i in picked if i.vendor.source == item.vendor.source]
    chosen = [i for i in result.of("matched") if i not in ignored]
    note = f"ignore {item.vendor.source} customer {item.vendor.name!r}: {reason}"
    return _write(settings, where, chosen, ignored, actor, note, reason)


accept = _acting("map customers", _accept)  # POST /mapping/accept: a suggestion used, written to the mapping file
ignore = _acting("ignore customers", _ignore)  # POST /mapping/ignore: a vendor customer ignored, with why


# -- onboarding ---------------------------------------------------------------------------------------------------


def fingerprint(onboarding: Onboarding) -> str:
    """What the plan creates, as a short digest: the confirmation names the plan it was shown."""
    shown = [p.to_data() for p in onboarding.plans]
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]


def _plan(settings: Settings, customer: str) -> Onboarding:
    return operations.onboard_customers(settings, _classify(settings), [customer], decide=lambda _: False)


def _onboard_page(source: str, customer: str, onboarding: Onboarding, where: Where | None) -> dict[str, Any]:
    """What onboard.html shows of a plan, before or after it was created."""
    plans = [
        {
            "name": p.customer.name,
            "creates": [(s.kind, s.name, s.detail) for s in p.creates],
            "problems": list(p.problems),
            "notes": list(p.notes),
        }
        for p in onboarding.plans
    ]
    return {"source": source, "customer": customer, "plans": plans, "where": where, "shown": fingerprint(onboarding)}


@page
async def onboard_form(request: Request, console: Console) -> Response:
    """GET /mapping/onboard?source=..&customer=..: what onboarding would create in the PSA, and a confirm form."""
    source, customer = request.query_params.get("source", ""), request.query_params.get("customer", "")
    where = _where(request)
    try:
        onboarding = await run_in_threadpool(lambda: _plan(_settings(console, where), customer))
    except ConnectorError as failure:
        return await _page(console, request, error=redact(str(failure)), status=400)
    context = _onboard_page(source, customer, onboarding, where) | {"ready": bool(onboarding.ready), "created": None}
    return console.render(request, "onboard.html", context)


@posted(PERMISSION, "onboard customers")
async def onboard(request: Request, console: Console, session: Session, form: FormData) -> Response:
    """POST /mapping/onboard: `connector map --create-customers --customer X --yes --write FILE`, the plan created
    only when it is the one shown; what was made is shown."""
    where = _where(request)
    if where is None:
        return await _page(console, request, error=NO_PATH, status=409)
    source, customer, shown = (str(form.get(k, "")) for k in ("source", "customer", "shown"))
    try:
        onboarding, told = await run_in_threadpool(
            _create, _settings(console, where), where, customer, shown, actor(session)
        )
    except ConnectorError as failure:
        return await _page(console, request, error=redact(str(failure)), status=_status(failure))
    finally:
        console.sources.forget()  # the PSA may hold what was created: read it again
    log.info("console: %s onboarded %s: %s", session.person.name, customer, told)
    created = [(kind, name, made) for c in onboarding.created for kind, name, made in c.made]
    context = _onboard_page(source, customer, onboarding, where) | {"ready": False, "created": created, "told": told}
    context |= {"found": onboarding.found, "stale": onboarding.stale}
    status = 409 if onboarding.stale or (onboarding.problems and not created) else 200
    return console.render(request, "onboard.html", context, status_code=status)


def _create(settings: Settings, where: Where, customer: str, shown: str, actor: Actor) -> tuple[Onboarding, str]:
    def decide(onboarding: Onboarding) -> bool:
        if fingerprint(onboarding) != shown:
            raise Refused("the plan changed since it was shown: nothing was created; look at the plan again")
        return bool(onboarding.ready)

    onboarding = operations.onboard_customers(settings, _classify(settings), [customer], decide=decide, actor=actor)
    if not onboarding.changed:
        return onboarding, "nothing was created"
    # As `--write` after `--create-customers`: the new PSA customers match their vendor customers by name now.
    fresh = _classify(settings)
    made = frozenset(c.customer_id for c in onboarding.created if c.customer_id)
    taken = [c.psa_customer for c in settings.customers]
    planned = operations.plan_mapping_file(
        where.mapping, fresh.of("matched"), taken, [], settings.mapping, where.config, created=made
    )
    if planned.unchanged:
        return onboarding, f"{where.mapping} holds every mapping already"
    note = f"onboarded {customer!r}"
    backup = operations.write_mapping_file(planned, settings, actor=actor, note=note)
    kept = f" (its previous content is in {backup})" if backup else ""
    return onboarding, (
        f"wrote {planned.rendered.blocks} mapping(s) to {where.mapping}{kept}; "
        f"{operations.inclusion(where.mapping, where.config)}"
    )
