"""`check --online` for Altaro: each report link fetched through the ledger, so the call also serves the next sync."""

from __future__ import annotations

from datetime import datetime

from connector.core.errors import ConnectorError, Status
from connector.interfaces.ledger import FetchRecord
from providers.altaro.client import VENDOR, build_altaro_client
from providers.altaro.settings import AltaroLink, AltaroSettings
from providers.altaro.source import AltaroSource, link_target
from providers.spec import BuildContext, Finding

AUTH_STATUSES = (401, 403)


def probe(settings: AltaroSettings, context: BuildContext) -> list[Finding]:
    """Every link called as a sync calls it: a fresh report is stored in the ledger (within 5 minutes the next sync
    answers from it), and inside a link's window the stored report answers without calling it again."""
    if not settings.links:
        return [Finding("altaro links", "no [[altaro.links]] configured", Status.INVALID)]
    # Never wait out a window here: a check answers now, from the stored report when the link may not be called.
    cached = settings.model_copy(update={"when_too_soon": "cached"})
    source = AltaroSource(cached, context.ledger, lambda: build_altaro_client(context.http), now=context.now)
    started = context.now()
    try:
        report = source.collect()
    except ConnectorError as error:  # a key that cannot be read: configuration, raised before any call
        return [Finding.failed("altaro links", error)]
    return [
        _link(link, context.ledger.last(VENDOR, link_target(link)), report.problems, started) for link in settings.links
    ]


def _link(link: AltaroLink, last: FetchRecord | None, problems: list[str], started: datetime) -> Finding:
    check = f"altaro link {link.name!r}"
    mine = [p for p in problems if repr(link.name) in p]
    if not mine and last is not None and last.outcome == "ok":
        if last.requested_at < started:
            note = f"answered from the report stored at {last.requested_at:%H:%M:%S} UTC (5-minute rule)"
        else:
            note = "report fetched and stored: the next sync within 5 minutes uses it"
        return Finding(check, note=note)
    problem = "; ".join(mine) or f"no report ({last.outcome if last else 'not called'})"
    refused = last is not None and last.status_code in AUTH_STATUSES and last.requested_at >= started
    # A refused key or address is configuration to fix; anything else means the link could not be verified.
    return Finding(check, problem, Status.INVALID if refused else Status.INCOMPLETE)
