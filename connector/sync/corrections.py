"""Corrections: lines of an invoiced period the invoice missed, billed by hand and never pushed.

A correction is recorded once in the outbox (status `correction`: the line's quantity now, beside the quantity pushed
and so invoiced), reported by the run that finds it, and listed from the store alone by `connector review` and
`connector reconcile`: no clock decides what is listed, only the recorded state.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from connector.store import Store
from connector.sync.report import RunReport
from mappings.billing import price
from mappings.lines import Line, LineResult, LineStatus, Outcome, StoredLine

log = logging.getLogger(__name__)

WAITING = (LineStatus.PENDING, LineStatus.FAILED)
# A correction, and one an operator closed (billed by hand): what was pushed of it is what the invoice read.
SETTLED = (LineStatus.CORRECTION, LineStatus.DISCARDED)


def invoiced_quantity(stored: StoredLine) -> Decimal:
    """What the period's invoice read from the connector: the quantity pushed, or nothing if none ever was."""
    return stored.pushed_quantity if stored.pushed_quantity is not None else Decimal(0)


def to_bill(line: Line, invoiced: Decimal) -> Decimal:
    """The amount to bill by hand: the line priced now, less what was invoiced (each priced by the one function)."""
    return line.amount - price(invoiced, line.rate)


def by_hand(line: Line, stored: StoredLine, joint: str = "; ") -> str:
    """Why `line` of an invoiced period is billed by hand, and the amount: what the invoice read, what it missed."""
    invoiced = invoiced_quantity(stored)
    due = to_bill(line, invoiced)
    if stored.status in WAITING:
        what = f"{line.quantity} never reached it ({stored.status.value} in the outbox)"
    else:
        what = f"its usage is now {line.quantity}"
    return (
        f"{line.period_key} was invoiced with {invoiced} {line.unit}{joint}{what}: bill {due:+} by hand "
        "(not pushed: the contract has moved on)"
    )


def correct(store: Store, stored: StoredLine | None, line: Line, *, dry_run: bool) -> LineResult | None:
    """The correction a line of an invoiced period makes, recorded once; None when there is nothing new to say.

    `line` is the period's line as computed now (or the stored one when nothing newer is known). A line already
    recorded as a correction with this quantity is not news again; one held or discarded waits on, or was decided
    by, a person; one pushed whose quantity the invoice read is no correction at all.
    """
    if stored is None or stored.status is LineStatus.HELD:
        return None
    if stored.status is LineStatus.CORRECTION and line.quantity == stored.pushed_quantity:
        return clear(store, stored, line, dry_run=dry_run)
    if stored.status is LineStatus.PUSHED and line.quantity == stored.pushed_quantity:
        return None
    # Recorded, or closed by an operator (billed by hand), at this very quantity: only a further change is news.
    if stored.status in (LineStatus.CORRECTION, LineStatus.DISCARDED) and line.quantity == stored.line.quantity:
        return None
    reason = by_hand(line, stored)
    log.warning("%s / %s: correction: %s", line.psa_customer, line.contract, reason)
    if not dry_run:
        _recorded(store, line, reason, "correction", store.outbox.mark_correction)
    return LineResult(line.identity, Outcome.CORRECTION, line, reason)


def _recorded(store: Store, line: Line, reason: str, event: str, change: Callable[[Line, str], object]) -> None:
    """The outbox change and its audit entry, in one transaction: the audit never tells of a change not made."""
    with store.transaction():
        change(line, reason)
        details = {"identity": list(line.identity), "quantity": str(line.quantity), "reason": reason}
        store.runs.audit(event, line.psa_customer, details)


def clear(store: Store, stored: StoredLine, line: Line, *, dry_run: bool) -> LineResult:
    """A recorded correction whose usage is back at what was invoiced: nothing to bill by hand, so it is no longer a
    correction (no "bill +0.00" left waiting); the line is pushed again, as before the correction."""
    reason = (
        f"correction cleared: {line.period_key}'s usage is back at the invoiced {line.quantity} {line.unit} "
        f"(recorded as {stored.line.quantity})"
    )
    log.info("%s / %s: %s", line.psa_customer, line.contract, reason)
    if not dry_run:
        _recorded(store, line, reason, "correction cleared", store.outbox.clear_correction)
    return LineResult(line.identity, Outcome.UNCHANGED, line, reason, stored.psa_ref)


def settle(store: Store, report: RunReport, moved_on: Callable[[Line], bool], *, dry_run: bool) -> None:
    """Pending or failed lines whose period is invoiced and whose contract moved on: each is recorded as a
    correction (pushed now, it would overwrite the next period's quantity), once, in place of a push."""
    results = {result.identity: result for result in report.lines}
    for stored in store.outbox.lines():
        # A line staged without a push plan (schema v1) is never pushed anyway: the push stage reports it as ever.
        if stored.status not in WAITING or not stored.has_plan or not moved_on(stored.line):
            continue
        result = results.get(stored.identity)
        if result is not None and result.outcome is Outcome.CORRECTION:
            continue  # the run recomputed it and said so already (a dry run, which records nothing)
        correction = correct(store, stored, stored.line, dry_run=dry_run)
        if correction is None:
            continue
        if result is None:
            report.lines.append(correction)
        else:
            result.outcome, result.reason, result.line = correction.outcome, correction.reason, correction.line


def recorded(store: Store, period: str | None = None) -> list[StoredLine]:
    """Every recorded correction (of one period, or all), from the store alone."""
    return [
        stored
        for stored in store.outbox.lines(LineStatus.CORRECTION)
        if period is None or stored.line.period_key == period
    ]


def pushed_lines(store: Store, period: str) -> list[StoredLine]:
    """The period's lines as pushed: the pushed ones, and each correction of a pushed line as it was pushed (the
    quantity an invoice can have read), to reconcile against the invoices."""
    return [
        as_pushed(stored)
        for stored in store.outbox.lines()
        if stored.line.period_key == period
        and (stored.status is LineStatus.PUSHED or (stored.status in SETTLED and stored.pushed_quantity is not None))
    ]


def as_pushed(stored: StoredLine) -> StoredLine:
    """A correction's line as it was pushed (what an invoice can have read), for reconciling against invoices."""
    if stored.status not in SETTLED or stored.pushed_quantity is None:
        return stored
    quantity = stored.pushed_quantity
    line = dataclasses.replace(stored.line, quantity=quantity, amount=price(quantity, stored.line.rate))
    return dataclasses.replace(stored, line=line)


def rows(corrections: Iterable[StoredLine]) -> list[dict[str, Any]]:
    """One row per correction: what was invoiced, the quantity now, and the amount to bill by hand."""
    return [
        {
            "id": stored.id,
            "psa_customer": stored.line.psa_customer,
            "contract": stored.line.contract,
            "period": stored.line.period_key,
            "metric": stored.line.metric,
            "invoiced_quantity": invoiced_quantity(stored),
            "quantity": stored.line.quantity,
            "unit": stored.line.unit,
            "rate": stored.line.rate,
            "amount": stored.line.amount,
            "bill_by_hand": to_bill(stored.line, invoiced_quantity(stored)),
            "recorded_at": stored.updated_at,
            "reason": stored.hold_reason or "",
        }
        for stored in corrections
    ]
