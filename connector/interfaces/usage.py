"""What a usage source hands the engine: per-customer quantities, with every problem said out loud."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

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
    # The customers list and its size when indexed, its customers by casefolded name, and by vendor id.
    _index: tuple[list[CustomerUsage], int, dict[str, list[CustomerUsage]], dict[str, CustomerUsage]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def complete(self) -> bool:
        return not self.problems and all(c.complete for c in self.customers)

    def customer(self, vendor_customer: str) -> CustomerUsage | None:
        by_name, _ = self._indexed()
        periods = by_name.get(vendor_customer.casefold())
        return periods[0] if periods else None

    def find(self, ref: str) -> CustomerUsage | None:
        """The customer a mapping names: by the vendor's id first (it survives a rename), else by name."""
        _, by_id = self._indexed()
        return by_id.get(ref.strip()) or self.customer(ref)

    def customer_periods(self, vendor_customer: str) -> list[CustomerUsage]:
        """Every period of one customer in this report (a report with a Month column may carry several)."""
        by_name, _ = self._indexed()
        return list(by_name.get(vendor_customer.casefold(), ()))

    def _indexed(self) -> tuple[dict[str, list[CustomerUsage]], dict[str, CustomerUsage]]:
        """The customers by casefolded name and by vendor id, built once per report: the engine looks up every
        mapped line, and scanning every customer for each one made a run's cost grow with the square of its size.
        Rebuilt when `customers` is replaced or grows (sources append to it while collecting)."""
        index = self._index
        if index is None or index[0] is not self.customers or index[1] != len(self.customers):
            by_name: dict[str, list[CustomerUsage]] = {}
            by_id: dict[str, CustomerUsage] = {}
            for usage in self.customers:
                by_name.setdefault(usage.vendor_customer.casefold(), []).append(usage)
                if usage.vendor_id is not None:
                    by_id.setdefault(usage.vendor_id, usage)  # the first listed wins, as the linear scan it replaced
            index = self._index = (self.customers, len(self.customers), by_name, by_id)
        return index[2], index[3]


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
