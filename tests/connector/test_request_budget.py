"""A run whose PSA request budget cannot reach its pushes says so: a problem in the run report (so `status` and the
alerts show it), never a deferral repeated silently at every cycle."""

from __future__ import annotations

from connector.core.errors import Status
from connector.interfaces.deferral import PushDeferred
from connector.store import Store
from connector.sync.push import push_pending
from mappings.lines import LineStatus, Outcome

from .test_push_psa_down import Sink, report, staged

SPENT = PushDeferred("Atera: this run has sent the 12 requests [atera] requests_per_run allows")


def test_a_budget_spent_before_the_first_push_is_a_problem_of_the_run() -> None:
    # Issue 20, row 6: the reads spent the budget, every push was deferred, cycle after cycle, with status "ok".
    with Store.open(":memory:") as store:
        staged(store, "Alpha", "Beta")
        sink, run = Sink(SPENT), report()
        push_pending(store, sink, run)
        assert [r.outcome for r in run.lines] == [Outcome.PENDING, Outcome.PENDING]
        (problem,) = run.problems
        assert "none of the 2 waiting line(s) was pushed" in problem and "requests_per_run" in problem
        assert run.status is Status.INCOMPLETE
        assert len(store.outbox.lines(LineStatus.PENDING)) == 2  # still waiting, pushed once the budget allows


def test_a_budget_spent_after_some_pushes_is_progress_not_a_problem() -> None:
    with Store.open(":memory:") as store:
        staged(store, "Alpha", "Beta")
        sink, run = Sink(None, SPENT), report()
        push_pending(store, sink, run)
        assert [r.outcome for r in run.lines] == [Outcome.PUSHED, Outcome.PENDING]
        assert run.problems == [] and run.status is Status.OK
