"""The run's read of the PSA: every mapped contract read once, each line compared with what the PSA holds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import providers
from connector.core.config import Settings
from connector.core.errors import ConnectorError, VendorAuthError
from connector.interfaces.psa import Sink, VerifyingSink
from connector.store import Store
from connector.sync.report import RunReport
from mappings.customer import CustomerMapping, LineMapping
from mappings.lines import Line, LineResult, LineStatus, Outcome, StoredLine
from mappings.periods import Period
from mappings.truth import ContractRef, Held, HeldContract, compare, psa_options
from providers.spec import Provider

log = logging.getLogger(__name__)

# What an operator's discard of an edited line means: the PSA's quantity is accepted (recorded as the one pushed).
ACCEPTED = "accepted the PSA's quantity"


def contract_ref(customer: CustomerMapping, mapping: LineMapping, psa: Provider[Any] | None) -> ContractRef:
    """The contract a mapped line is billed on, in the `psa` (the enabled one)."""
    options = psa_options(mapping.psa.get(psa.name, {})) if psa is not None else ()
    return ContractRef(customer.psa_customer, customer.psa_customer_id, mapping.contract, mapping.contract_id, options)


def read_psa(
    settings: Settings,
    sink: Sink | None,
    report: RunReport,
    progress: Callable[[str], None],
    store: Store | None = None,
) -> dict[ContractRef, Held] | None:
    """What the PSA holds for every mapped contract, or None when it cannot say (a problem on the report then:
    a run that could not read the PSA does not know what it invoices, so it is never "ok").

    With the `store`, the contracts the connector pushed to that no mapping names any more are read in the same
    lists, and each that still bills a quantity is a stray on the report."""
    if not isinstance(sink, VerifyingSink):
        return None
    psa = providers.psa(settings)
    refs = list(dict.fromkeys(contract_ref(c, m, psa) for c in settings.customers for m in c.lines))
    pushed = pushed_unnamed(store, refs) if store is not None else {}
    progress(f"reading {sink.psa_title}'s customers and contracts")
    try:
        held = sink.snapshot([*refs, *pushed])
        report_strays(report, held, refs, pushed, sink.psa_title)
        return held
    except ConnectorError as error:
        then = (
            "fix that, then run the sync again"
            if isinstance(error, VendorAuthError)
            else "run the sync again once it answers"
        )
        problem = (
            f"could not read {sink.psa_title} to verify the mapped contracts: {error}; what {sink.psa_title} "
            f"invoices is unknown: {then}"
        )
        log.error("%s", problem)
        report.problems.append(problem)
        report.psa_error = error
        return None


def pushed_unnamed(store: Store, mapped: list[ContractRef]) -> dict[ContractRef, StoredLine]:
    """The contracts the connector pushed to that no mapping names now (a typo fixed, a line removed), each with
    the last line pushed to it."""
    named = set(mapped)
    # Oldest first: the last one pushed stays.
    pushed = ((ContractRef.of_line(stored.line), stored) for stored in store.outbox.lines(LineStatus.PUSHED))
    return {ref: stored for ref, stored in pushed if ref not in named}


def report_strays(
    report: RunReport,
    held: dict[ContractRef, Held],
    mapped: list[ContractRef],
    pushed: dict[ContractRef, StoredLine],
    psa: str,
) -> None:
    """Each contract pushed earlier that no mapping names any more and that the PSA still bills a quantity on: the
    PSA invoices it every period, and nothing the connector computes accounts for it."""
    mapped_contracts = {h.ref for ref in mapped if isinstance(h := held.get(ref), HeldContract)}
    for ref, stored in pushed.items():
        contract = held.get(ref)
        if not isinstance(contract, HeldContract) or contract.ref in mapped_contracts:
            continue  # gone from the PSA, or the very contract a mapping names under another name or id
        if not contract.active or not contract.quantity:
            continue
        line = stored.line
        reason = (
            f"{psa} contract {contract.name!r} ({contract.ref}) of {contract.customer!r} holds {contract.quantity}, "
            f"pushed by the connector for {line.metric} ({line.period_key}), but no mapping names it any more: "
            f"{psa} invoices it every period. Set its quantity to 0 or deactivate it in {psa}, or map it again"
        )
        log.error("%s", reason)
        report.strays.append({"contract": contract.ref, "quantity": str(contract.quantity), "reason": reason})


def created_empty(store: Store, customer: str, held: HeldContract) -> bool:
    """The connector created what this line bills at 0 (onboarding does, with the audit's `psa_ref`): a 0 nobody billed.

    Each PSA names its own creation event (`<psa>.<thing>_created`: a contract, an addition); the `psa_ref` in its
    details is what ties it to the line.
    """
    if held.quantity != 0:
        return False
    if held.created_by_connector:
        return True
    created = (e for e in store.runs.audit_events(customer) if e["event"].endswith("_created"))
    return any(event["details"].get("psa_ref") == held.ref for event in created)


def accept_edit(store: Store, existing: StoredLine | None, held: Held) -> str | None:
    """When an operator discarded an edited line, record the PSA's quantity as the one pushed: the reason to show."""
    if existing is None or existing.status is not LineStatus.DISCARDED or not isinstance(held, HeldContract):
        return None
    if not (existing.hold_reason or "").startswith(Outcome.EDITED.value) or held.quantity is None:
        return None
    store.outbox.accept_pushed(existing.identity, held.quantity, ACCEPTED)
    return f"{ACCEPTED} ({held.quantity}), as an operator decided"


def judge(
    store: Store,
    held: Held,
    line: Line,
    mapping: LineMapping,
    period: Period,
    existing: StoredLine | None,
    pushed: Decimal | None,
    psa: str,
    *,
    dry_run: bool,
) -> LineResult | str | None:
    """What the PSA's side decides for a computed line: a final result (a difference to fix, an accepted edit),
    the hold reason of a quantity edited in the PSA, or None when the PSA agrees and staging decides."""
    accepted = None if dry_run else accept_edit(store, existing, held)
    if accepted is not None:
        return LineResult(line.identity, Outcome.DISCARDED, line, accepted)
    waiting = existing is not None and existing.status in (LineStatus.PENDING, LineStatus.FAILED)
    finding = compare(
        held,
        psa=psa,
        period_start=period.start,
        period_end=period.end,
        rate=mapping.rate,
        pushed=pushed,
        staged=existing.line.quantity if existing is not None and waiting else None,
        may_create=bool(line.psa.get("create_if_missing")),
    )
    if finding is None:
        return None
    if finding.outcome is Outcome.EDITED:
        # An edit already decided by a person is no longer news: approved, the connector's figure is pushed again;
        # discarded, the PSA's figure was accepted (and recorded as pushed, see `accept_edit`).
        if waiting and existing is not None and existing.approved_quantity == line.quantity:
            return None
        return f"{Outcome.EDITED.value}: {finding.reason}"
    # Pushing would bill other money than computed, or nothing at all: named, never staged.
    log.error("%s / %s: %s: %s", line.psa_customer, line.contract, finding.outcome, finding.reason)
    return LineResult(line.identity, finding.outcome, line, finding.reason)


def named(result: LineResult, edited: str | None) -> LineResult:
    """A line held because the PSA's quantity was edited is reported as that, with what to do."""
    if edited is not None and result.outcome is Outcome.HELD:
        result.outcome = Outcome.EDITED
    return result


def unverified(report: RunReport, sink: Sink | None) -> None:
    """The PSA could not be read: a line the store says is pushed is not known to be held, and says so."""
    if not isinstance(sink, VerifyingSink):
        return
    for result in report.lines:
        if result.outcome is Outcome.UNCHANGED and result.line is not None:
            result.reason = f"pushed earlier; {sink.psa_title} could not be read to confirm it still holds it"
