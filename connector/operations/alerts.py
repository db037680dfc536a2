"""Alerts through apprise: one message per run that has new conditions, one when conditions clear, none repeated.

A condition is a run that bills less than it should (failed, incomplete, invalid, differs), an unmapped customer, a
line for a person, a recorded correction, or a contract the PSA bills that no mapping names any more."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import apprise

from connector.core.errors import Status
from connector.core.sections import AlertSettings
from connector.store import Store
from connector.sync import corrections
from connector.sync.report import TO_FIX, RunReport
from mappings.lines import Outcome, StoredLine

log = logging.getLogger(__name__)

TITLE = "backup-billing connector"
# A person has to look at these lines: held for review, or the PSA holds something else than computed.
NEEDS_PERSON = (Outcome.HELD, Outcome.EDITED, *TO_FIX)
# The run statuses that bill all they should: held lines are told one by one, as lines needing a person.
BILLS_ALL = (Status.OK, Status.HELD)
# What a run of that status missed, when it recorded no problem saying so.
WHY = {
    Status.INCOMPLETE: "a source, an unmapped customer or a push did not finish",
    Status.INVALID: "a line's mapping or contract is to fix",
    Status.DIFFERS: "the PSA invoiced other than what was pushed",
}


def conditions(
    report: RunReport | None, error: BaseException | None = None, recorded: Iterable[StoredLine] = ()
) -> dict[str, str]:
    """What needs a person after a run, keyed so the same condition in the next run has the same key.

    `recorded`: the corrections the store holds. Read from the store, not the run, since only the run that finds one
    reports it: it stays a condition until billed by hand (discarded) or cleared, and a further change is new again.
    """
    found: dict[str, str] = {}
    for stored in recorded:
        name = "/".join(stored.identity)
        found[f"correction:{name}:{stored.line.quantity}"] = f"correction: {name} ({stored.hold_reason or ''})"
    if report is None:
        found["run"] = f"sync failed: {error}" if error is not None else "sync failed"
        return found
    # Every run that bills less than it should (invalid included: a refused key bills nothing) is one condition, under
    # one key whatever its status, so a run that goes from incomplete to invalid is not told again.
    if report.status not in BILLS_ALL:
        strays = f"the PSA bills {len(report.strays)} contract(s) no mapping names" if report.strays else None
        # Pushes the PSA refused, with its reason, when no problem of the run explains them (a refused key does).
        failed = [f"failed: {'/'.join(r.identity)} ({r.reason})" for r in report.lines if r.outcome is Outcome.FAILED]
        why = "; ".join(report.problems[:3]) or strays or "; ".join(failed[:3]) or WHY.get(report.status, "see the log")
        found["run"] = f"sync run {report.run_id} {report.status}: {why}"
    for stray in report.strays:
        # Keyed by its quantity too: set to another figure it is news again; set to 0 it clears.
        found[f"stray:{stray.get('contract')}:{stray.get('quantity')}"] = (
            f"billed but not mapped: {stray.get('reason')}"
        )
    for unmapped in report.unmapped:
        source, customer = unmapped.get("source", ""), unmapped.get("vendor_customer", "")
        found[f"unmapped:{source}:{customer}"] = f"new unmapped customer in {source}: {customer}"
    for result in report.lines:
        if result.outcome in NEEDS_PERSON:
            name = "/".join(result.identity)
            why = f" ({result.reason})" if result.reason else ""
            found[f"line:{name}:{result.outcome.value}"] = f"{result.outcome.value}: {name}{why}"
    return found


class Alerter:
    """Sends through apprise and remembers, in the store, which conditions were already told."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return bool(self.settings.urls)

    def send(self, title: str, body: str) -> bool:
        """One notification to every configured URL; False (logged, secrets masked) when any did not take it."""
        notifier = apprise.Apprise()
        for index, ref in enumerate(self.settings.urls):
            url = ref.secret(f"alerts.urls[{index}]").get_secret_value()
            if not notifier.add(url):
                log.error("alerts.urls[%d] (%s) is not a URL apprise knows", index, ref.describe())
        if len(notifier) == 0:
            return False
        sent = bool(notifier.notify(title=title, body=body))
        if not sent:
            log.warning("an alert could not be delivered to every URL; it is tried again after the next sync")
        return sent

    def after_run(self, store: Store, report: RunReport | None, error: BaseException | None = None) -> None:
        """Tell what is new since the last message and what has cleared; remember it only once it was sent."""
        if not self.enabled:
            return
        now = conditions(report, error, corrections.recorded(store))
        told = store.alerts.told()
        new = {key: text for key, text in now.items() if key not in told}
        # A correction recorded again at another quantity is told as new; its older figure is dropped, not "recovered".
        superseded = {key for key in told if key not in now and _superseded(key, now)}
        cleared = {key: text for key, text in told.items() if key not in now and key not in superseded}
        if new and not self.send(f"{TITLE}: {len(new)} new to look at", "\n".join(new.values())):
            new, superseded = {}, set()
        if cleared and not self.send(f"{TITLE}: recovered", "\n".join(f"cleared: {text}" for text in cleared.values())):
            cleared = {}
        if new or cleared:
            dropped = cleared.keys() | superseded
            store.alerts.save({key: text for key, text in {**told, **new}.items() if key not in dropped})


def _superseded(key: str, now: Mapping[str, str]) -> bool:
    """A correction recorded again at another quantity: the new one is told, the old one did not recover."""
    if not key.startswith("correction:"):
        return False
    line = key.rsplit(":", 1)[0] + ":"
    return any(other.startswith(line) for other in now)
