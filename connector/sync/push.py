"""The push stage: staged lines go to the PSA, each marked pushed only once the PSA confirms it (exactly once)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import providers
from connector.core.errors import (
    ConfigError,
    ConnectorError,
    ParameterError,
    VendorAuthError,
    VendorError,
    VendorRefused,
)
from connector.interfaces.deferral import PushDeferred
from connector.interfaces.psa import PushRefused, Sink
from connector.store import Store
from connector.sync.corrections import by_hand
from connector.sync.report import RunReport
from mappings.calendar import BillingCalendar
from mappings.lines import LineResult, LineStatus, Outcome, StoredLine
from mappings.truth import DIFFERENCES

log = logging.getLogger(__name__)

# The errors the one exit-code table (connector.core.errors) ends with 2: configuration to fix, not a vendor or the PSA
# being down. A push refused on the mapping (PushRefused) is a ConfigError.
MISCONFIGURED = (ConfigError, ParameterError, VendorAuthError)
# Staged by an earlier run, but what stops this run's computation stops the push too.
STOPPED = (Outcome.BLOCKED, *DIFFERENCES)


def misconfigured(error: BaseException) -> bool:
    """Whether an error is configuration to fix (a key missing or refused, a mapping the PSA refuses)."""
    return isinstance(error, MISCONFIGURED)


def push_pending(
    store: Store,
    sink: Sink | None,
    report: RunReport,
    *,
    progress: Callable[[str], None] = lambda stage: None,
    calendar: BillingCalendar | None = None,
    now: datetime | None = None,
) -> None:
    """Push every pending or failed line of the outbox, unless this run's computation stopped it or its period is
    invoiced and the contract has moved on (then it is a correction to bill by hand)."""
    # Failed lines too: one from a period no longer computed (its push failed at the period's end) is never
    # re-staged, so without this it would stay unbilled, and out of every later report, for good.
    waiting = (LineStatus.PENDING, LineStatus.FAILED)
    pending = [stored for stored in store.outbox.lines() if stored.status in waiting]
    if not pending:
        return
    if sink is None:
        sections = " or ".join(f"[{p.name}]" for p in providers.psas()) or "no PSA"
        report.problems.append(f"{len(pending)} line(s) pending but {sections} is not enabled: nothing was pushed")
        return
    results = {result.identity: result for result in report.lines}
    if calendar is not None and now is not None:
        pending = [stored for stored in pending if not _invoiced_already(stored, calendar, now, report, results)]
    # The run's read of the PSA found it down: that cause is logged once already, so no line asks it again.
    down = report.psa_error if report.psa_error is not None and psa_unreachable(report.psa_error) else None
    attempted = 0
    for number, stored in enumerate(pending, start=1):
        progress(f"pushing line {number} of {len(pending)} to the PSA")
        result = _result_of(stored, report, results)
        if result.outcome in STOPPED:
            continue
        if down is not None:
            _not_attempted(store, stored, result, down)
            error: ConnectorError | None = down
        else:
            try:
                error = _push(store, sink, stored, result)
            except PushDeferred as deferred:
                _defer(pending[number - 1 :], report, results, attempted, len(pending), deferred)
                return
            attempted += 1
            down = error if error is not None and psa_unreachable(error) else None
        if error is not None and misconfigured(error):
            report.misconfigured.add(stored.identity)


def _result_of(stored: StoredLine, report: RunReport, results: dict[Any, LineResult]) -> LineResult:
    """This run's result for a waiting line; one the run did not compute (approved or failed earlier) is added to the
    report as pending."""
    result = results.get(stored.identity)
    if result is None:
        result = results[stored.identity] = LineResult(stored.identity, Outcome.PENDING, stored.line)
        report.lines.append(result)
    return result


def _defer(
    rest: list[StoredLine],
    report: RunReport,
    results: dict[Any, LineResult],
    done: int,
    total: int,
    deferred: PushDeferred,
) -> None:
    """The sink spent this run's requests: the lines left stay as they are in the outbox, pushed by the next cycle.

    Each is in the run report as pending with that reason, those this run did not compute (approved or failed
    earlier) too: nothing waits unseen. `done`: the pushes the run made before; none is a problem of the run.
    """
    if done == 0:
        # No push at all fitted in the run's request budget: its reads spent it, and would again at every cycle, so
        # the lines would wait for good. A problem of the run (not "ok"), which `status` and the alerts show.
        problem = (
            f"none of the {total:,} waiting line(s) was pushed: {deferred} before the first push; {deferred.remedy}"
        )
        log.error("%s", problem)
        report.problems.append(problem)
    log.warning(
        "pushed %s of %s line(s); the other %s go out next cycle: %s",
        f"{done:,}",
        f"{total:,}",
        f"{len(rest):,}",
        deferred,
    )
    for stored in rest:
        result = _result_of(stored, report, results)
        if result.outcome not in STOPPED:
            result.outcome, result.reason = Outcome.PENDING, f"next cycle: {deferred}"


def psa_unreachable(error: ConnectorError) -> bool:
    """Whether a push failed on the PSA as a whole (down, timing out, rate-limited, refusing our key), not the line.

    Then every later push of the run would fail alike, each after its own retries, and log the one cause again.
    """
    if not isinstance(error, VendorError) or isinstance(error, VendorRefused):
        return False
    code = error.status_code
    return isinstance(error, VendorAuthError) or code is None or code in (408, 429) or code >= 500


def _not_attempted(store: Store, stored: StoredLine, result: LineResult, cause: ConnectorError) -> None:
    """A line left after the PSA failed as a whole: failed with that cause (pushed by the next run), logged quietly."""
    # The cause was logged at error level once, by the push that met it; the run report still lists every line.
    log.info("push %s not attempted: the PSA failed earlier in this run", tuple(stored.identity))
    store.outbox.mark_failed(stored.identity, str(cause))
    result.outcome, result.reason = Outcome.FAILED, str(cause)


def _invoiced_already(
    stored: StoredLine, calendar: BillingCalendar, now: datetime, report: RunReport, results: dict[Any, LineResult]
) -> bool:
    """Whether a waiting line's period is invoiced and its contract moved on; if so it is reported as a correction.

    Pushed now, its quantity would land on the contract that bills the next period: the invoice already generated
    missed it, so the difference from what was invoiced is billed by hand.
    """
    # A line staged without a push plan (schema v1) is never pushed anyway: _push reports it as it always has.
    if not stored.has_plan or not calendar.moved_on(stored.line.period_key, now):
        return False
    reason = by_hand(stored.line, stored, " but ")
    result = _result_of(stored, report, results)
    if result.outcome is not Outcome.CORRECTION:  # a correction the engine computed already says the amount
        result.outcome, result.reason = Outcome.CORRECTION, reason
    log.warning("push %s not attempted: %s", tuple(stored.identity), reason)
    return True


def _push(store: Store, sink: Sink, stored: StoredLine, result: LineResult) -> ConnectorError | None:
    """Push one staged line; the outbox says pushed only once the PSA has confirmed it.

    Returns the error the push failed with, if it did: the caller tells configuration to fix (the one exit-code
    table says which errors those are) and a PSA that is down from a line's own problem.
    """
    where = tuple(stored.identity)
    if not stored.has_plan:
        # Staged before the outbox kept what a push needs (schema v1): say so on every run, never crash.
        result.outcome = Outcome.FAILED
        result.reason = f"staged without a push plan; run `connector sync --period {stored.line.period_key}`"
        log.error("push %s not attempted: %s", where, result.reason)
        return None

    def audit(event: str, details: dict[str, Any]) -> None:
        # What the sink creates for a line goes to the audit trail the moment it is created.
        store.runs.audit(event, stored.line.psa_customer, {"identity": list(where), **details})

    try:
        pushed = sink.push(stored.line, audit)
    except PushDeferred:
        raise  # not the line's failure: the caller stops the run's pushes there
    except ConnectorError as error:
        log.error("push %s failed: %s", where, error)
        store.outbox.mark_failed(stored.identity, str(error))
        # A contract found changed just before the write is that difference (inactive, ended), as the run's read
        # would have named it; the outbox keeps the line to push once the contract is fixed.
        outcome = error.outcome if isinstance(error, PushRefused) else Outcome.FAILED
        result.outcome, result.reason = outcome, str(error)
        return error
    except Exception as error:
        # Unexpected: keep the outbox truthful, then let it be loud.
        store.outbox.mark_failed(stored.identity, f"unexpected {type(error).__name__}: {error}")
        raise
    store.outbox.mark_pushed(stored.identity, pushed.psa_ref)
    store.runs.audit(
        "pushed" if pushed.wrote else "confirmed",
        stored.line.psa_customer,
        {
            "identity": list(stored.identity),
            "quantity": str(stored.line.quantity),
            "previous_quantity": str(pushed.previous_quantity),
            "psa_ref": pushed.psa_ref,
        },
    )
    result.outcome = Outcome.PUSHED if pushed.wrote else Outcome.UNCHANGED
    result.psa_ref = pushed.psa_ref
    if not pushed.wrote:
        result.reason = "the PSA already held this quantity"
    return None
