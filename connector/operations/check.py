"""`check --online`: each enabled vendor's credentials tested, every mapped customer and contract found in the PSA."""

from __future__ import annotations

from collections.abc import Sequence

import providers
from connector.core.config import Settings
from connector.core.errors import Status
from connector.store import Store
from providers.spec import BuildContext, Finding

__all__ = ["check_online", "online_status"]


def check_online(settings: Settings, store: Store) -> list[Finding]:
    """Each enabled provider's probe, then the PSA's resolution of the mappings (when its credentials worked)."""
    context = BuildContext(settings.http, store)
    findings: list[Finding] = []
    for provider in providers.sources():
        if provider.probe is not None and settings.enabled(provider.name):
            findings += provider.probe(provider.section(settings), context)
    psa = providers.psa()
    if psa is None or psa.resolve is None or not settings.enabled(psa.name):
        # Without the PSA nothing can be resolved: saying "ok" here would be the silent pass issue 10 is about.
        findings.append(Finding("PSA customers and contracts", "no PSA enabled to resolve them in", Status.INVALID))
        return findings
    section = psa.section(settings)
    access = psa.probe(section, context) if psa.probe is not None else []
    findings += access
    if any(f.status is not Status.OK for f in access):
        return findings  # its credentials failed: every name would fail for that reason, not for its own
    findings += psa.resolve(section, context, settings.customers)
    return findings


def online_status(findings: Sequence[Finding]) -> Status:
    """INVALID when any configuration is wrong (exit 2), else INCOMPLETE when a vendor could not be asked (3)."""
    statuses = {f.status for f in findings}
    for status in (Status.INVALID, Status.INCOMPLETE):
        if status in statuses:
            return status
    return Status.OK
