"""What `connector map --create-customers` asks of providers, as plain data: vendor contacts, and a PSA's onboarding.

A source may tell each of its customers' contact (`Provider.contacts`); the PSA plans, from what it holds now, what
it would have to create for a new customer (the customer, its main contact, the contracts the line templates name
and their rate products) and creates exactly that (`Provider.onboarder`). Everything it already holds is found by
name (customer, contract), e-mail (contact) or SKU (rate product) before anything is created, so a rerun after a
crash between two creates finds what the first run made instead of making it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

Told = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class VendorContact:
    """A vendor customer's contact person, as the vendor holds it (either part may be missing)."""

    source: str
    vendor_id: str | None
    vendor_name: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ContractWanted:
    """A contract a line template names, for one new customer: its per-unit rate, and the PSA's own options for the
    line (`[customers.lines.<psa>]`: a rate product's SKU, an agreement and a product)."""

    name: str
    metric: str
    rate: Decimal | None
    billing_period: str
    start: date
    first_period: str  # the key of the first period the sync bills on it (its StartDate falls in it)
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, key: str) -> str:
        """One of the PSA's options as trimmed text ("" when not given)."""
        value = self.options.get(key)
        return str(value).strip() if value is not None else ""


@dataclass(frozen=True)
class Group:
    """One container of contracts a new customer needs (a contract, an agreement: as the PSA calls it): its name and
    the template lines billed on it."""

    name: str
    lines: tuple[ContractWanted, ...]

    @property
    def first(self) -> ContractWanted:
        """The line that starts first: the container starts with it."""
        return min(self.lines, key=lambda line: line.start)


def grouped(lines: Sequence[ContractWanted], name_of: Callable[[ContractWanted], str]) -> list[Group]:
    """The lines by the container each is billed on (`name_of`), one group per distinct name (case and surrounding
    spaces ignored), in the templates' order."""
    groups: dict[str, list[ContractWanted]] = {}
    names: dict[str, str] = {}
    for wanted in lines:
        name = name_of(wanted)
        folded = name.strip().casefold()
        groups.setdefault(folded, []).append(wanted)
        names.setdefault(folded, name)
    return [Group(names[k], tuple(found)) for k, found in groups.items()]


@dataclass(frozen=True)
class NewCustomer:
    """A PSA customer to onboard: its name, the vendor customers it is billed for, a contact and its contracts."""

    name: str
    vendors: tuple[tuple[str, str, str | None], ...]  # (source, vendor name, vendor id)
    contact: VendorContact | None
    contracts: tuple[ContractWanted, ...]


@dataclass(frozen=True)
class Step:
    """One thing the PSA holds or will create: `kind` is customer, contact, rate or contract; `existing` is the id
    of what it holds already (nothing is created for it)."""

    kind: str
    name: str
    detail: str = ""
    existing: int | None = None

    @property
    def creates(self) -> bool:
        return self.existing is None

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "detail": self.detail, "existing_id": self.existing}


@dataclass(frozen=True)
class CustomerPlan:
    """Everything one new customer needs, in the order it is created; `problems` stop this customer (only)."""

    customer: NewCustomer
    steps: tuple[Step, ...]
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def creates(self) -> list[Step]:
        return [step for step in self.steps if step.creates]

    def to_data(self) -> dict[str, Any]:
        return {
            "psa_customer": self.customer.name,
            "vendors": [{"source": s, "name": n, "id": i} for s, n, i in self.customer.vendors],
            "create": [step.to_data() for step in self.creates],
            "existing": [step.to_data() for step in self.steps if not step.creates],
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


@dataclass
class Created:
    """What one customer's onboarding made, by kind, as (name, id)."""

    customer_id: int | None = None
    made: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass
class Progress:
    """What one customer's onboarding holds so far, as its steps run: the customer, its contact, and the containers
    (contracts, agreements) created or found, by name casefolded, that later steps add to."""

    customer_id: int
    contact_id: int | None = None
    containers: dict[str, int] = field(default_factory=dict)


def run_plan(
    plan: CustomerPlan,
    customer: Callable[[], int],
    make: Callable[[Step, Progress], int],
    *,
    container: str,
) -> Created:
    """Each step of a plan in order: `customer()` makes the customer when the plan has to, `make` every other step
    it has to (told as soon as the PSA confirms it); what exists is taken as found. A step of kind `container` is
    remembered by name for the steps after it."""
    first = plan.steps[0] if plan.steps else None
    assert first is not None and first.kind == "customer"  # a plan starts with its customer
    customer_id = first.existing or customer()
    created = Created(customer_id=customer_id)
    if first.existing is None:
        created.made.append(("customer", plan.customer.name, customer_id))
    progress = Progress(customer_id)
    for step in plan.steps[1:]:
        made = step.existing
        if made is None:
            made = make(step, progress)
            created.made.append((step.kind, step.name, made))
        if step.kind == "contact":
            progress.contact_id = made
        elif step.kind == container:
            progress.containers[step.name.strip().casefold()] = made
    return created


class Onboarder(Protocol):
    """A PSA's side of onboarding: plan from what it holds, then create what the plan shows (and nothing else)."""

    def plan(self, wanted: Sequence[NewCustomer]) -> list[CustomerPlan]: ...

    def create(self, plan: CustomerPlan, told: Told) -> Created: ...

    def close(self) -> None: ...
