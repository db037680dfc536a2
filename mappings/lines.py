"""The line item: one identity, one shape and one status, shared by the outbox, the sink, the run report and the CLI."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from mappings.enums import BillingPeriod


class LineIdentity(NamedTuple):
    """(PSA customer, contract, period key, metric): pushing one identity twice leaves exactly one item in the PSA."""

    psa_customer: str
    contract: str
    period_key: str
    metric: str


class LineStatus(StrEnum):
    """Where a line stands in the outbox."""

    PENDING = "pending"
    PUSHED = "pushed"
    FAILED = "failed"
    HELD = "held"
    DISCARDED = "discarded"
    # A line of an invoiced period the invoice missed (its usage changed after, or it never reached the PSA): recorded
    # once with its quantity now beside what was pushed, billed by hand, never pushed.
    CORRECTION = "correction"


class Outcome(StrEnum):
    """What one run did with a line, best first: a run's status follows the worst outcome present."""

    UNCHANGED = "unchanged"
    DISCARDED = "discarded"
    PUSHED = "pushed"
    PLANNED = "planned"
    PENDING = "pending"
    HELD = "held"
    # A closed, invoiced period's usage moved after its invoice: the difference is billed by hand, never pushed.
    CORRECTION = "correction"
    # The PSA's quantity is not the one pushed: held for a person (approve pushes ours again, discard accepts it).
    EDITED = "edited in PSA"
    # The PSA would invoice other money than computed: the mapping or the contract needs fixing, nothing is pushed.
    RATE_DIFFERS = "rate differs"
    CONTRACT_INACTIVE = "contract inactive"
    CONTRACT_ENDED = "contract ended"
    CONTRACT_MISSING = "contract missing"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True)
class Line:
    """One billable quantity for one PSA customer, contract, period and metric, priced and explained.

    `amount` is quantity x rate rounded once (mappings.billing computes every line); `psa` holds the PSA's own
    options for the line (under the PSA's key in the mapping), `inputs` what explains the number.
    """

    psa_customer: str
    contract: str
    period_key: str
    metric: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal
    billing_period: BillingPeriod = BillingPeriod.MONTHLY
    period_start: date | None = None
    period_end: date | None = None
    psa_customer_id: int | None = None
    contract_id: int | None = None
    start_date: date | None = None
    psa: dict[str, Any] = field(default_factory=dict, compare=False)
    inputs: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def identity(self) -> LineIdentity:
        return LineIdentity(self.psa_customer, self.contract, self.period_key, self.metric)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready form without the inputs, kept in the outbox so a pending line is pushed without recomputing."""
        record = asdict(self)
        record.pop("inputs")
        return {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in record.items()}

    @classmethod
    def from_record(cls, record: dict[str, Any], inputs: dict[str, Any]) -> Line:
        def day(value: str | None) -> date | None:
            return date.fromisoformat(value) if value else None

        psa = dict(record.get("psa") or {})
        # Outboxes written before PSA options had their own key kept them on the line itself: whatever the record
        # holds that is not a field of the line is the PSA's.
        fields = {f.name for f in dataclasses.fields(cls)}
        psa.update({k: v for k, v in record.items() if k not in fields and v is not None and k not in psa})
        return cls(
            psa_customer=record["psa_customer"],
            contract=record["contract"],
            period_key=record["period_key"],
            metric=record["metric"],
            quantity=Decimal(record["quantity"]),
            unit=record["unit"],
            rate=Decimal(record["rate"]),
            amount=Decimal(record["amount"]),
            billing_period=BillingPeriod(record.get("billing_period") or BillingPeriod.MONTHLY),
            period_start=day(record.get("period_start")),
            period_end=day(record.get("period_end")),
            psa_customer_id=record.get("psa_customer_id"),
            contract_id=record.get("contract_id"),
            start_date=day(record.get("start_date")),
            psa=psa,
            inputs=inputs,
        )


@dataclass(frozen=True)
class StoredLine:
    """A line as the outbox holds it: the computed line and where it stands."""

    id: int
    line: Line
    status: LineStatus
    psa_ref: str | None = None
    attempts: int = 0
    last_error: str | None = None
    pushed_quantity: Decimal | None = None
    hold_reason: str | None = None
    approved_quantity: Decimal | None = None
    updated_at: datetime | None = None
    # Staged before the outbox kept what a push needs (schema v1): such a line is reported, never pushed blind.
    has_plan: bool = True

    @property
    def identity(self) -> LineIdentity:
        return self.line.identity

    def describe(self) -> str:
        line = self.line
        return f"{line.psa_customer} / {line.contract} / {line.period_key} = {line.quantity} {line.unit}"


@dataclass
class LineResult:
    """One line in one run's report: what was decided, and why. `line` is None when nothing could be computed."""

    identity: LineIdentity
    outcome: Outcome
    line: Line | None = None
    reason: str = ""
    psa_ref: str | None = None
    # What the PSA held for this line's contract when the run read it (None: not read, or no such contract).
    psa_quantity: Decimal | None = None

    def to_data(self) -> dict[str, Any]:
        line = self.line
        return {
            **self.identity._asdict(),
            "outcome": self.outcome.value,
            "quantity": line.quantity if line else None,
            "unit": line.unit if line else "",
            "rate": line.rate if line else None,
            "amount": line.amount if line else None,
            "reason": self.reason,
            "psa_ref": self.psa_ref,
            "psa_quantity": self.psa_quantity,
        }


class Decision(NamedTuple):
    """A line's next outbox status, and the reason a person should know."""

    status: LineStatus
    reason: str | None


def next_status(line: Line, existing: StoredLine | None, hold_reason: str | None, *, recheck: bool = False) -> Decision:
    """Where a freshly computed line goes: the one rule, used alike by a real run (to stage) and a dry run (to say).

    A quantity the PSA already holds stays pushed; a quantity an operator discarded stays discarded (only a different
    one is news again); anything else is pending, or held when the review step asks for a person. `recheck`: the PSA
    no longer holds what was pushed, so a pushed line is not taken as billed.
    """
    if existing is not None and not recheck:
        if existing.status is LineStatus.PUSHED and existing.pushed_quantity == line.quantity:
            return Decision(LineStatus.PUSHED, None)
        if existing.status is LineStatus.DISCARDED and existing.line.quantity == line.quantity:
            return Decision(LineStatus.DISCARDED, existing.hold_reason)
    return Decision(LineStatus.HELD, hold_reason) if hold_reason else Decision(LineStatus.PENDING, None)


def staged_result(line: Line, decision: Decision, *, dry_run: bool, psa_ref: str | None = None) -> LineResult:
    """The report's view of a staged (or, in a dry run, would-be staged) line."""
    if decision.status is LineStatus.PUSHED:
        return LineResult(line.identity, Outcome.UNCHANGED, line, "already in the PSA", psa_ref)
    if decision.status is LineStatus.DISCARDED:
        return LineResult(line.identity, Outcome.DISCARDED, line, "discarded by an operator")
    if decision.status is LineStatus.HELD:
        return LineResult(line.identity, Outcome.HELD, line, decision.reason or "")
    return LineResult(line.identity, Outcome.PLANNED if dry_run else Outcome.PENDING, line)
