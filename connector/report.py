"""The run report: what a sync saw, decided and pushed, for people (a table) and machines (JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

# Outcomes of one line in one run, worst last: the report's exit code follows the worst one present.
LINE_OUTCOMES = ("unchanged", "discarded", "pushed", "planned", "pending", "held", "blocked", "failed")


@dataclass
class LineOutcome:
    psa_customer: str
    contract: str
    period_key: str
    metric: str
    outcome: str
    quantity: Decimal | None = None
    unit: str = ""
    rate: Decimal | None = None
    amount: Decimal | None = None
    reason: str = ""
    psa_ref: str | None = None


@dataclass
class SourceOutcome:
    name: str
    status: str  # ok, cached, incomplete, failed, disabled
    customers: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    run_id: int | None
    started_at: datetime
    dry_run: bool
    finished_at: datetime | None = None
    sources: list[SourceOutcome] = field(default_factory=list)
    lines: list[LineOutcome] = field(default_factory=list)
    unmapped: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def status(self) -> str:
        """ok: everything billed or unchanged; held: waiting for review; incomplete: something was not billed."""
        failed_source = any(s.status in {"failed", "incomplete"} for s in self.sources)
        if self.problems or failed_source or self.unmapped or self.count("blocked") or self.count("failed"):
            return "incomplete"
        if self.count("held"):
            return "held"
        return "ok"

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "held": 5, "incomplete": 3}[self.status]

    def to_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status
        data["totals"] = {outcome: self.count(outcome) for outcome in LINE_OUTCOMES}
        data["amount_pushed"] = sum(
            (line.amount or Decimal(0) for line in self.lines if line.outcome == "pushed"), Decimal(0)
        )
        return data
