"""A push the sink refuses because the PSA's contract changed since the run read it ends with that difference's
outcome (contract inactive, ended, missing), like the run's read would have named it: configuration to fix."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from connector.interfaces.psa import PsaEvents, PushRefused, PushResult
from connector.store import Store
from connector.sync.push import push_pending
from connector.sync.report import RunReport
from mappings.billing import price
from mappings.lines import Line, LineStatus, Outcome
from mappings.truth import DIFFERENCES

RATE = Decimal("3.50")
REFUSED = PushRefused(Outcome.CONTRACT_INACTIVE, "Atera contract 'Backup users' (contract/9) is inactive")


class RefusingSink:
    def push(self, line: Line, events: PsaEvents | None = None) -> PushResult:
        raise REFUSED


def test_a_refused_push_is_the_difference_it_found_not_a_failure() -> None:
    with Store.open(":memory:") as store:
        line = Line(
            "Alpha", "Backup users", "2026-11", "altaro.billed_users", Decimal(4), "user", RATE, price(Decimal(4), RATE)
        )
        store.outbox.stage(line, None)
        run = RunReport(run_id=None, started_at=datetime(2026, 11, 20, tzinfo=UTC), dry_run=False)
        push_pending(store, RefusingSink(), run)
        (result,) = run.lines
        assert (result.outcome, result.reason) == (Outcome.CONTRACT_INACTIVE, str(REFUSED))
        assert result.outcome in DIFFERENCES
        assert run.exit_code == 2
        (stored,) = store.outbox.lines()
        assert (stored.status, stored.last_error) == (LineStatus.FAILED, str(REFUSED))
