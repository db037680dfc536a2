"""The engine's interfaces: sources hand it per-customer usage, problems said out loud; the PSA sink takes lines."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from connector.core.errors import ConfigError
from mappings.lines import Line, Outcome
from mappings.truth import ContractRef, Held

# Past a trillion of anything (GB, users, devices) a number is broken, not big: the review's per-unit ceilings hold
# the merely large for a person; this refuses what no person should be asked to approve, and that the PSA's doubles
# could not carry to the cent.
MAX_QUANTITY = Decimal(10**12)


@dataclass
class CustomerUsage:
    """One vendor customer's measured quantities in one period (`period_key`, e.g. the month `2026-11`).

    `quantities` maps (metric, product) to a quantity; product "" means all products or plans together.
    `complete` is False when anything behind the numbers failed: such a customer's lines must not be pushed.
    `inputs` explains each metric (which accounts, which objects) and is stored with the observation.
    """

    source: str
    vendor_customer: str
    period_key: str
    quantities: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    complete: bool = True
    problems: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    # The vendor's own id for the customer, when it has one: stable across renames, so mappings may name it.
    vendor_id: str | None = None

    def fail(self, problem: str) -> None:
        """Mark the customer's usage incomplete, keeping the reason for the run report."""
        self.complete = False
        self.problems.append(problem)


@dataclass
class UsageReport:
    """Everything one source saw in one collection. `problems` are source-wide: none of its usage is billable."""

    source: str
    observed_at: datetime
    customers: list[CustomerUsage] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fetch_ids: list[int] = field(default_factory=list)
    from_cache: bool = False
    # Every payload came from the fetch ledger, none from the vendor: observations of it may be recorded already.
    replayed: bool = False
    _customer_index: _CustomerIndex | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def complete(self) -> bool:
        return not self.problems and all(c.complete for c in self.customers)

    def customer(self, vendor_customer: str) -> CustomerUsage | None:
        periods = self._index().by_name.get(vendor_customer.casefold())
        return periods[0] if periods else None

    def find(self, ref: str) -> CustomerUsage | None:
        """The customer a mapping names: by the vendor's id first (it survives a rename), else by name."""
        return self._index().by_id.get(ref.strip()) or self.customer(ref)

    def customer_periods(self, vendor_customer: str) -> list[CustomerUsage]:
        """Every period of one customer in this report (a report with a Month column may carry several)."""
        return list(self._index().by_name.get(vendor_customer.casefold(), ()))

    def _index(self) -> _CustomerIndex:
        """The customers by casefolded name and by vendor id, built once per report: the engine looks up every
        mapped line, and scanning every customer for each one made a run's cost grow with the square of its size.
        Rebuilt when `customers` is replaced or grows (sources append to it while collecting)."""
        index = self._customer_index
        if index is None or index.customers is not self.customers or index.size != len(self.customers):
            index = self._customer_index = _CustomerIndex.of(self.customers)
        return index


@dataclass
class _CustomerIndex:
    customers: list[CustomerUsage]
    size: int
    by_name: dict[str, list[CustomerUsage]]
    by_id: dict[str, CustomerUsage]

    @classmethod
    def of(cls, customers: list[CustomerUsage]) -> _CustomerIndex:
        by_name: dict[str, list[CustomerUsage]] = {}
        by_id: dict[str, CustomerUsage] = {}
        for usage in customers:
            by_name.setdefault(usage.vendor_customer.casefold(), []).append(usage)
            if usage.vendor_id is not None:
                # The first listed wins, as the linear scan it replaces did.
                by_id.setdefault(usage.vendor_id, usage)
        return cls(customers, len(customers), by_name, by_id)


def quantity_problem(value: object) -> str | None:
    """Why a quantity a source measured cannot be billed, or None for a finite, non-negative, plausible Decimal."""
    if not isinstance(value, Decimal):
        # A provider bug rather than vendor data, but it spoils one customer, not every vendor's run.
        return f"{type(value).__name__}, not a Decimal"
    if not value.is_finite():
        return f"{value} is not a finite number"
    if value < 0:
        return f"{value} is negative"
    if value > MAX_QUANTITY:
        return f"{value.normalize():E} is beyond any plausible quantity ({MAX_QUANTITY.normalize():E})"
    return None


def refuse_bad_numbers(report: UsageReport) -> None:
    """The boundary every source's numbers cross once, before anything is observed: a quantity that is not a
    finite, non-negative, plausible Decimal is dropped and its customer's usage marked incomplete with the reason,
    so that customer's lines are blocked and every other customer's are billed."""
    for usage in report.customers:
        for key, quantity in list(usage.quantities.items()):
            problem = quantity_problem(quantity)
            if problem is not None:
                metric, product = key
                del usage.quantities[key]
                usage.fail(f"{metric}{f' ({product})' if product else ''}: {problem}; not billed")


class UsageSource(Protocol):
    """A vendor adapter the engine polls: it returns what it saw, and the engine records it."""

    name: str

    def collect(self, *, run_id: int | None = None) -> UsageReport: ...


@dataclass(frozen=True)
class PushResult:
    """What the PSA holds after a push. `wrote` is False when it already held exactly this line."""

    psa_ref: str
    wrote: bool
    previous_quantity: Decimal | None = None


class PushRefused(ConfigError):
    """Raised by a sink that found, just before a write, that the PSA would invoice other money than computed (the
    contract was deactivated, ended or changed since the run read it): nothing was written, and the line ends with
    `outcome`, as if the run's read had found it so."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


# Told of everything a push creates in the PSA besides the line (a rate product, a contract), as it happens: the
# caller keeps the audit trail, and an event told before a crash is not lost with the push's result.
PsaEvents = Callable[[str, dict[str, Any]], None]


class Sink(Protocol):
    """Where computed lines go (the PSA). A push of a line the PSA already holds must write nothing."""

    def push(self, line: Line, events: PsaEvents | None = None) -> PushResult: ...


@runtime_checkable
class VerifyingSink(Sink, Protocol):
    """A sink that can say what the PSA holds for the mapped contracts, in a few list reads per run.

    `snapshot` raises ConnectorError when the PSA cannot be read: the run is then not "ok", whatever it pushed.
    """

    psa_title: str

    def snapshot(self, refs: Sequence[ContractRef]) -> dict[ContractRef, Held]: ...


@runtime_checkable
class InvoicingSink(Sink, Protocol):
    """A sink that can say which periods the PSA has invoiced for the contracts waiting on an invoice, in one read
    per run.

    `invoiced_periods` gives, per contract in `wanted`, the first day of every period that an invoice dated from
    `first` to `last` (both included) bills for it. `wanted` holds, per contract, the first days of the periods it
    waits on: the read may stop once each is found. It raises ConnectorError when the PSA cannot be read, and
    `InvoicesCutShort` (holding what it found) when the run's request budget stopped the read.
    """

    psa_title: str

    def invoiced_periods(
        self, wanted: Mapping[ContractRef, Collection[date]], first: date, last: date
    ) -> dict[ContractRef, set[date]]: ...
