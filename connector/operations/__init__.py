"""What the commands do, as plain functions: they own the store's state transitions and audit; no typer, no printing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import providers
from connector.core.config import Settings
from connector.core.errors import ConfigError, ConnectorError, ParameterError, Status
from connector.core.matching import did_you_mean
from connector.core.secrets import SecretRef, chmod_hint, open_to_others
from connector.interfaces.usage import UsageReport, UsageSource
from connector.operations.check import check_online, online_status
from connector.operations.run import sync_once
from connector.operations.status import StatusSummary, summarise
from connector.store import Store
from connector.store.activity import line_history
from connector.sync import corrections
from connector.sync.observe import observe
from mappings.billing import price
from mappings.lines import LineStatus, StoredLine
from providers.spec import BuildContext, Finding, Provider, Reconciled

__all__ = [
    "CheckSummary",
    "Reconciliation",
    "approve",
    "check",
    "discard",
    "explain",
    "fetch_usage",
    "history",
    "reconcile",
    "review",
    "status",
    "sync",
]

T = TypeVar("T")

sync = sync_once  # one sync under the store's sync lock: fetch, observe, compute, plan, push


# -- check --------------------------------------------------------------------------------------------------------


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
            "warnings": self.warnings,
        } | ({"online": [_finding_data(f) for f in self.online]} if self.online else {})


def _finding_data(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "status": finding.status,
        "problem": finding.problem,
        "suggestion": finding.suggestion,
        "note": finding.note,
    }


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
    found: list[Finding] = []
    if online:
        # The store holds Altaro's fetch ledger: a report fetched here is kept and serves the next sync.
        with Store.open(settings.store.path) as store:
            found = check_online(settings, store)
    return CheckSummary(config_path, settings, sources, secrets, warnings, vendors, found)


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


# -- lines waiting for a person -----------------------------------------------------------------------------------


def review(store: Store) -> list[dict[str, Any]]:
    """The lines that need a person: held for review, and failed pushes."""
    waiting = [line for line in store.outbox.lines() if line.status in (LineStatus.HELD, LineStatus.FAILED)]
    return [
        {
            "id": line.id,
            "status": line.status,
            "psa_customer": line.line.psa_customer,
            "contract": line.line.contract,
            "period": line.line.period_key,
            "metric": line.line.metric,
            "quantity": line.line.quantity,
            "pushed_before": line.pushed_quantity,
            "amount": line.line.amount,
            "reason": line.hold_reason if line.status is LineStatus.HELD else line.last_error,
        }
        for line in waiting
    ]


def approve(store: Store, ids: Sequence[int] | Literal["all"], note: str) -> list[StoredLine]:
    """Accept held lines' quantities (the next sync pushes them), each with its audit row."""
    # Under the sync lock: a sync running now could re-stage the line with a quantity the operator never saw.
    with store.sync_lock():
        held = {line.id: line for line in store.outbox.lines(LineStatus.HELD)}
        chosen = list(held) if ids == "all" else list(ids)
        if not chosen:
            raise ConnectorError("name the line ids to approve (see `connector review`) or pass --all")
        _refuse_unknown_ids(chosen, held, "held")
        return [_decide(store, "approved", held[line_id], note) for line_id in chosen]


def discard(store: Store, ids: Sequence[int], note: str) -> list[StoredLine]:
    """Never push these pending, held or failed lines, or close these corrections (billed by hand); they stay in the
    outbox with why, and the audit says who."""
    with store.sync_lock():
        open_statuses = (LineStatus.PENDING, LineStatus.HELD, LineStatus.FAILED, LineStatus.CORRECTION)
        waiting = {line.id: line for line in store.outbox.lines() if line.status in open_statuses}
        _refuse_unknown_ids(ids, waiting, "pending, held, failed or a correction")
        return [_decide(store, "discarded", waiting[line_id], note) for line_id in ids]


def _refuse_unknown_ids(ids: Sequence[int], waiting: dict[int, StoredLine], what: str) -> None:
    unknown = [i for i in ids if i not in waiting]
    if unknown:
        there = ", ".join(map(str, sorted(waiting))) or "none"
        raise ParameterError(
            f"no line {', '.join(map(str, unknown))} is {what} (those that are: {there}); "
            "`connector review` lists them with their ids",
            param="line_ids",
        )


def known_customer(store: Store, customer: str, mapped: Iterable[str]) -> None:
    """Refuse a customer name neither the mapping nor the store knows (any case), with the closest names."""
    names = sorted({*mapped, *store.outbox.customers()})
    if customer.casefold() not in {name.casefold() for name in names}:
        raise ParameterError(
            f"no customer {customer!r} in the mapping or the store{did_you_mean(customer, names)}",
            param="customer",
        )


def _decide(store: Store, event: Literal["approved", "discarded"], stored: StoredLine, note: str) -> StoredLine:
    # The transition and its audit row commit together: the history never shows a decision nobody made.
    with store.transaction():
        change = store.outbox.approve if event == "approved" else store.outbox.discard
        line = change(stored.identity, note)
        store.runs.audit(event, line.line.psa_customer, {"identity": list(line.identity), "note": note})
    return line


def explain(
    store: Store, customer: str, period: str | None = None, *, mapped: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Every line of a customer (any case), with the inputs behind its number and its history."""
    known_customer(store, customer, mapped)
    lines = [
        stored
        for stored in store.outbox.lines()
        if stored.line.psa_customer.casefold() == customer.casefold()
        and (period is None or stored.line.period_key == period)
    ]
    if not lines:
        known = sorted(set(mapped))
        raise ConnectorError(
            f"no line items for {customer!r}"
            + (f" in {period}" if period else "")
            + f"; mapped customers: {', '.join(known) or 'none'}"
        )
    return [
        {
            "id": stored.id,
            "contract": stored.line.contract,
            "period": stored.line.period_key,
            "metric": stored.line.metric,
            "quantity": stored.line.quantity,
            "unit": stored.line.unit,
            "rate": stored.line.rate,
            "amount": stored.line.amount,
            "status": stored.status,
            "psa_ref": stored.psa_ref,
            "inputs": stored.line.inputs,
            "history": store.outbox.history(stored.identity),
        }
        for stored in lines
    ]


# -- reconcile ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    """A period's pushed lines against the invoices the PSA (`psa`, as people name it) dated from `start` to `end`."""

    psa: str
    period: str
    start: date
    end: date
    lines: Sequence[Reconciled]

    @property
    def status(self) -> Status:
        return Status.DIFFERS if any(r.mismatch for r in self.lines) else Status.OK

    def rows(self) -> list[dict[str, Any]]:
        """One row per line; what was pushed is priced by the one money function, as the push priced it."""
        return [
            {
                "id": r.stored.id,
                "psa_customer": r.stored.line.psa_customer,
                "contract": r.stored.line.contract,
                "period": r.stored.line.period_key,
                "pushed_quantity": r.stored.line.quantity,
                "pushed_amount": price(r.stored.line.quantity, r.stored.line.rate),
                "invoiced_quantity": r.invoiced_quantity,
                "invoiced_amount": r.invoiced_amount,
                "invoices": list(r.invoice_numbers),
                "status": r.status,
                "why": r.reason,
            }
            for r in self.lines
        ]

    def differences(self) -> list[str]:
        """Each line the PSA invoiced (or will invoice) otherwise than pushed, said in one sentence with its fix."""
        return [
            f"{r.stored.line.psa_customer} / {r.stored.line.contract} / {r.stored.line.period_key}: pushed "
            f"{r.stored.line.quantity}, {self.psa} "
            + (
                f"invoiced {r.invoiced_quantity} (invoice {', '.join(map(str, r.invoice_numbers))})"
                if r.invoice_numbers
                else "has not invoiced it"
            )
            + (f"; {r.reason}" if r.reason else "")
            for r in self.lines
            if r.mismatch
        ]


def reconcile(
    settings: Settings, store: Store, period: str, grace_days: int = 45, *, today: date | None = None
) -> Reconciliation:
    """Check every line pushed for `period` against the PSA's invoices dated from the period's first day to its last
    day plus `grace_days` (invoices go out after the period)."""
    # A line recorded as a correction since is reconciled as it was pushed: that is what the invoice read.
    pushed = corrections.pushed_lines(store, period)
    if not pushed:
        raise ConnectorError(f"no pushed lines for period {period!r}; `connector explain CUSTOMER` lists periods")
    bounds = [day for s in pushed for day in (s.line.period_start, s.line.period_end) if day is not None]
    start = min(bounds, default=today or date.today())
    end = max(bounds, default=start) + timedelta(days=grace_days)
    psa = providers.psa()
    if psa is None or psa.reconcile is None:
        raise ConfigError("no registered PSA can reconcile pushed lines against its invoices")
    section = psa.enabled_section(settings)
    # The MSP's zone: the PSA's dates are read as its days, the days the pushed periods are in.
    found = psa.reconcile(
        section, BuildContext(settings.http, store, timezone=settings.billing.timezone), pushed, start, end
    )
    return Reconciliation(psa.name.capitalize(), period, start, end, found)


# -- status and history -------------------------------------------------------------------------------------------


def status(settings: Settings, *, runs: int = 5) -> StatusSummary:
    """The last runs and what waits for a person; reads the store without the sync lock (a daemon may be syncing)."""
    with Store.open(settings.store.path) as store:
        return summarise(settings, store, runs=runs)


def history(settings: Settings, customer: str | None = None, period: str | None = None) -> list[dict[str, Any]]:
    """Every recorded change of every line of a customer (any case) and period, oldest first."""
    with Store.open(settings.store.path) as store:
        if customer is not None:
            known_customer(store, customer, (c.psa_customer for c in settings.customers))
        return line_history(store.database, customer, period)


# -- usage --------------------------------------------------------------------------------------------------------


def _report(source: UsageSource) -> tuple[UsageReport, UsageReport]:
    report = source.collect()
    return report, report


@overload
def fetch_usage(settings: Settings, source_name: str) -> UsageReport: ...
@overload
def fetch_usage(settings: Settings, source_name: str, collect: Callable[[UsageSource], tuple[UsageReport, T]]) -> T: ...
def fetch_usage(
    settings: Settings, source_name: str, collect: Callable[[UsageSource], tuple[UsageReport, Any]] = _report
) -> Any:
    """Fetch one source's usage now and record it as observations; nothing is computed or pushed.

    `collect` takes the built source and returns the report to observe and what the caller wants back (by default
    the report itself; a view that shows account-level detail asks its source for more).
    """
    provider = providers.REGISTRY.get(source_name)
    if provider is None or provider.build_source is None:
        raise ConfigError(f"{source_name!r} is not a registered usage source")
    section = provider.enabled_section(settings)
    with Store.open(settings.store.path) as store:
        source = provider.build_source(section, BuildContext(settings.http, store, timezone=settings.billing.timezone))
        report, fetched = collect(source)
        observe(store, report)
    return fetched
