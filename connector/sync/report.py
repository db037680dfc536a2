"""The run report: what a sync saw, decided and pushed, for people (a table) and machines (JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from connector.core.errors import ConnectorError, Status, VendorAuthError, exit_code_for
from mappings.lines import LineIdentity, LineResult, Outcome

# The PSA would invoice other money than computed: the mapping or the contract is to fix (exit 2, like a refused push).
TO_FIX = (Outcome.RATE_DIFFERS, Outcome.CONTRACT_INACTIVE, Outcome.CONTRACT_ENDED, Outcome.CONTRACT_MISSING)


@dataclass
class SourceOutcome:
    name: str
    status: str  # ok, cached, incomplete, failed, misconfigured, disabled
    customers: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    run_id: int | None
    started_at: datetime
    dry_run: bool
    finished_at: datetime | None = None
    sources: list[SourceOutcome] = field(default_factory=list)
    lines: list[LineResult] = field(default_factory=list)
    unmapped: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Earlier runs found never finished (killed): what this run did not cause, but an operator should see.
    abandoned: list[dict[str, Any]] = field(default_factory=list)
    # Lines whose push failed on configuration to fix (exit 2 by the one table), not on the PSA or the network.
    misconfigured: set[LineIdentity] = field(default_factory=set)
    # Why this run could not read the PSA, if it could not: a PSA found down then is not asked again per line.
    psa_error: ConnectorError | None = None
    # Contracts the connector pushed that no mapping names any more and the PSA still bills (contract, quantity,
    # reason): money no computed line accounts for.
    strays: list[dict[str, str]] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def status(self) -> Status:
        """How the run ended, the worst first.

        incomplete: something was not billed for a reason the configuration alone does not explain (a vendor, its data,
        an unmapped customer, a failed push), or the PSA bills a contract no mapping names (a stray); invalid: every
        line not billed failed on configuration to fix (the PSA has no such customer or contract, or holds another rate,
        an inactive or ended contract, or refused the credentials); held: lines wait for review (an edit made in the PSA
        too); ok: the PSA holds everything computed. A run that could not read the PSA has a problem, so it is not ok:
        incomplete, or invalid when the PSA refused the credentials (configuration to fix, and the only problem).
        """
        unbilled = [line.identity for line in self.lines if line.outcome in (Outcome.FAILED, Outcome.BLOCKED)]
        to_fix = [identity for identity in unbilled if identity in self.misconfigured]
        to_fix += [line.identity for line in self.lines if line.outcome in TO_FIX]
        failed_source = any(s.status in {"failed", "incomplete"} for s in self.sources)
        refused = isinstance(self.psa_error, VendorAuthError)  # its one problem is configuration to fix
        problems = len(self.problems) > refused or failed_source or self.unmapped or self.strays
        if problems or len(to_fix) < len(unbilled):
            return Status.INCOMPLETE
        if to_fix or refused:
            return Status.INVALID
        if self.count(Outcome.HELD) or self.count(Outcome.EDITED) or self.count(Outcome.CORRECTION):
            return Status.HELD
        return Status.OK

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.status)

    def to_data(self) -> dict[str, Any]:
        pushed = (line.line.amount for line in self.lines if line.outcome is Outcome.PUSHED and line.line is not None)
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "dry_run": self.dry_run,
            "finished_at": self.finished_at,
            "sources": [asdict(source) for source in self.sources],
            "lines": [line.to_data() for line in self.lines],
            "unmapped": [dict(unmapped) for unmapped in self.unmapped],
            "problems": list(self.problems),
            "abandoned": [dict(run) for run in self.abandoned],
            "strays": [dict(stray) for stray in self.strays],
            "status": self.status,
            "totals": {outcome.value: self.count(outcome) for outcome in Outcome},
            "amount_pushed": sum(pushed, Decimal(0)),
        }
