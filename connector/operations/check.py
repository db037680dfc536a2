"""`connector check`: what a configuration sets up and what in it would stop a sync; `--online` also tests each
enabled vendor's credentials and finds every mapped customer and contract in the PSA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import providers
from connector.core.config import Settings
from connector.core.errors import Status
from connector.core.secrets import SecretRef, chmod_hint, open_to_others
from connector.store import Store
from providers.spec import BuildContext, Finding, Provider


def check_online(settings: Settings, store: Store) -> list[Finding]:
    """Each enabled provider's probe, then the PSA's resolution of the mappings (when its credentials worked)."""
    context = BuildContext(settings.http, store.ledger)
    findings: list[Finding] = []
    for provider in providers.sources():
        probe = provider.load().probe if settings.enabled(provider.name) else None
        if probe is not None:
            findings += probe(provider.section(settings), context)
    psa = providers.psa(settings)
    factories = psa.load() if psa is not None and settings.enabled(psa.name) else None
    if psa is None or factories is None or factories.resolve is None:
        # Without the PSA nothing can be resolved: saying "ok" here would be the silent pass issue 10 is about.
        findings.append(Finding("PSA customers and contracts", "no PSA enabled to resolve them in", Status.INVALID))
        return findings
    section = psa.section(settings)
    access = factories.probe(section, context) if factories.probe is not None else []
    findings += access
    if any(f.status is not Status.OK for f in access):
        return findings  # its credentials failed: every name would fail for that reason, not for its own
    findings += factories.resolve(section, context, settings.customers)
    return findings


def online_status(findings: Sequence[Finding]) -> Status:
    """INVALID when any configuration is wrong (exit 2), else INCOMPLETE when a vendor could not be asked (3)."""
    statuses = {f.status for f in findings}
    return next((status for status in (Status.INVALID, Status.INCOMPLETE) if status in statuses), Status.OK)


# What the JSON says of each online finding, in this order.
_FINDING_KEYS = ("check", "status", "problem", "suggestion", "note")


@dataclass(frozen=True)
class CheckSummary:
    """What a configuration sets up, and what in it would stop a sync (`warnings`)."""

    config_path: Path
    settings: Settings
    sources: dict[str, tuple[bool, str]]  # every registered provider: enabled, and what it reads
    secrets: dict[str, tuple[str, str | None]]  # where each secret comes from, and why it cannot be read
    warnings: list[str]
    vendors: list[str]  # the registered usage sources, in the order mappings name them
    online: list[Finding] = field(default_factory=list)  # `--online`: credentials and names checked at the vendors
    psa: str | None = None  # the enabled PSA lines are pushed to; None: a sync computes lines and pushes none
    psa_title: str | None = None  # how texts name it ("Atera")

    def status(self, *, strict: bool) -> Status:
        if strict and self.warnings:
            return Status.INVALID
        return online_status(self.online)

    def to_data(self) -> dict[str, Any]:
        return {
            "config": str(self.config_path),
            "store": str(self.settings.store.path),
            "sources": {name: {"enabled": on, "detail": detail} for name, (on, detail) in self.sources.items()},
            "secrets": {key: {"from": where, "ok": problem is None} for key, (where, problem) in self.secrets.items()},
            "customers": len(self.settings.customers),
            "lines": sum(len(c.lines) for c in self.settings.customers),
            "psa": self.psa,
            "warnings": self.warnings,
        } | ({"online": [{key: getattr(f, key) for key in _FINDING_KEYS} for f in self.online]} if self.online else {})


def _source_state(settings: Settings, name: str, provider: Provider[Any]) -> tuple[bool, str]:
    """Whether a part is on, and what it is set to; a part that is off also says what it would bill, so a new user
    sees what turning it on gives."""
    detail = provider.describe(settings.section(name))
    if settings.enabled(name):
        return True, detail
    return False, f"off: {provider.summary}; [{name}] enabled = true turns it on ({detail})"


def check(settings: Settings, config_path: Path, *, online: bool = False) -> CheckSummary:
    """Summarise a valid configuration: sources, secrets, and lines whose source is not enabled; `online` also tests
    each vendor's credentials and resolves every mapped customer and contract in the PSA."""
    sources = {name: _source_state(settings, name, provider) for name, provider in providers.REGISTRY.items()}
    refs = settings.secrets()
    secrets = {key: (ref.describe(), ref.problem(key)) for key, ref in refs.items()}
    warnings = [problem for _, problem in secrets.values() if problem] + _exposed(refs, config_path)
    for customer in settings.customers:
        for line in customer.lines:
            if not sources[line.source][0]:
                warnings.append(
                    f"customers '{customer.psa_customer}': {line.metric} needs [{line.source}] enabled = true"
                )
    vendors = [p.name for p in providers.sources()]
    psa = next((p for p in providers.psas() if settings.enabled(p.name)), None)
    found: list[Finding] = []
    if online:
        # The store holds Altaro's fetch ledger: a report fetched here is kept and serves the next sync.
        with Store.open(settings.store.path) as store:
            found = check_online(settings, store)
    name, title = (psa.name, psa.title) if psa is not None else (None, None)
    return CheckSummary(config_path, settings, sources, secrets, warnings, vendors, found, name, title)


def _exposed(refs: dict[str, SecretRef], config_path: Path) -> list[str]:
    """Secrets other users on this machine could read: in a file open to them, or inline in a configuration that is."""
    found = [exposure for key, ref in refs.items() if (exposure := ref.exposure(key))]
    config_open = open_to_others(config_path, written=False)
    if config_open is not None:
        found += [
            f"{key}: given inline in {config_path}, a file that {config_open}: move it to {{ env = … }} or "
            f"{{ file = … }}, or run {chmod_hint(config_path)}"
            for key, ref in refs.items()
            if ref.value is not None
        ]
    return found
