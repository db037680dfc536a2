"""Onboarding in Autotask, planned: for each new customer, what Autotask holds already and what it lacks.

`Held` is one read of what onboarding looks for: the companies of the new customers' names, their contacts and
contracts, the services of the contracts the templates name, the service catalogue, and what a new company or
contract is given (the picklist codes of `[autotask] company_type` and `contract_period_type`, and the values of any
field the database requires that onboarding has no figure for). `plan_customer` turns it into one customer's steps,
in the order they are created: the company, its main contact, then each Recurring Service contract followed by its
contract services. Nothing here makes a request; `onboard.py` reads and creates.

A new customer gets one contract per distinct contract name its templates give (the line option `contract`, else
the template's own), and on it one contract service per template, of the catalogue service the line names (by name,
SKU or id): what the sync then finds by the very same names. Catalogue services are never created here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.autotask.models import Company, Contact, Contract, ContractService, Service
from providers.autotask.verify import ACTIVE, PSA, RECURRING_SERVICE, Target, service_of
from providers.onboarding import ContractWanted, CustomerPlan, Group, NewCustomer, Step, grouped

# The longest texts Autotask takes (Company.companyName, Contract.contractName, Contact.firstName and lastName).
NAME_LENGTH = 100
CONTRACT_NAME_LENGTH = 100
PERSON_NAME_LENGTH = 50
# A contact's last name when the vendor gives one word or none: Autotask requires one, and none is known.
UNKNOWN_LAST_NAME = "(unknown)"


def key(text: str | None) -> str:
    return (text or "").strip().casefold()


@dataclass(frozen=True)
class Options:
    """`[autotask]`'s say in what onboarding creates."""

    company_type: str
    contract_period_type: str
    owner_resource_id: int | None


@dataclass(frozen=True)
class Picked:
    """A picklist label resolved: its code (None when the database has no active value of that label), and the
    labels it does have, for the problem that says so."""

    label: str
    code: int | None
    known: tuple[str, ...] = ()


@dataclass(frozen=True)
class Required:
    """What a database requires of a new record beyond what onboarding fills: the fields given a value (a picklist's
    default, or a stand-in the plan shows) and the fields nothing can fill."""

    given: dict[str, Any] = field(default_factory=dict)
    shown: tuple[str, ...] = ()  # each given value as the plan shows it
    unfilled: tuple[str, ...] = ()


@dataclass
class Held:
    """What Autotask holds of the new customers, read once per plan (see the module's notes)."""

    companies: list[Company] = field(default_factory=list)
    contacts: dict[int, list[Contact]] = field(default_factory=dict)  # by company id
    contracts: dict[int, list[Contract]] = field(default_factory=dict)  # by company id
    contract_services: dict[int, list[ContractService]] = field(default_factory=dict)  # by contract id
    services: list[Service] = field(default_factory=list)
    company_type: Picked | None = None  # read only when a company is to be created
    period_type: Picked | None = None  # read only when a contract is to be created
    company_fields: Required = field(default_factory=Required)
    contract_fields: Required = field(default_factory=Required)

    def named(self, name: str) -> list[Company]:
        """The companies of this name; when several, the active ones (as the sync's `company_of` prefers them)."""
        found = [c for c in self.companies if key(c.companyName) == key(name)]
        if len(found) > 1:
            found = [c for c in found if c.isActive is not False] or found
        return found


def contract_name(wanted: ContractWanted) -> str:
    """The contract a template line is billed on, as the sync finds it: the option `contract`, else the template's."""
    return wanted.option("contract") or wanted.name


def service_label(wanted: ContractWanted) -> str:
    """The catalogue service a template names, as written (its name or SKU, else its id)."""
    return wanted.option("service") or f"service {wanted.option('service_id')}"


def service_step(contract: str, wanted: ContractWanted) -> str:
    """A contract service as the plan and the audit name it."""
    return f"{contract} / {service_label(wanted)}"


def contracts_wanted(new: NewCustomer) -> list[Group]:
    """One per distinct contract name (case ignored), in the templates' order."""
    return grouped(new.contracts, contract_name)


def catalogue_service(wanted: ContractWanted, services: Sequence[Service]) -> Service | str:
    """The catalogue service a template line names, or why there is none (found as the sync finds it)."""
    service_id = wanted.option("service_id")
    target = Target(None, contract_name(wanted), wanted.option("service") or None, None, None, False)
    if service_id:
        target = Target(None, target.contract, None, int(service_id), None, False)
    found = service_of(target, services)
    assert found is not None  # a template with neither is a problem before this is asked
    return found


def person_names(full: str | None, email: str) -> tuple[str, str]:
    """A contact's first and last name, both of which Autotask requires, from the one name field vendors hold:
    the first word is the first name and the rest the last. A contact known by its e-mail only is named by the
    e-mail's local part; a missing last name is said to be unknown rather than invented."""
    words = (full or "").split() or [email.split("@")[0]]
    return words[0][:PERSON_NAME_LENGTH], " ".join(words[1:])[:PERSON_NAME_LENGTH] or UNKNOWN_LAST_NAME


def where(wanted: ContractWanted) -> str:
    return f"[mapping.templates] {wanted.metric} (contract {wanted.name!r})"


def _template_problem(wanted: ContractWanted) -> str | None:
    """Why a template line cannot be onboarded whatever Autotask holds, or None."""
    for option in ("contract_id", "contract_service_id"):
        if wanted.option(option):
            return (
                f"{where(wanted)}: autotask {option} names one record of one customer: a template for new customers "
                "names the contract by name and the service by name, SKU or service_id"
            )
    service_id = wanted.option("service_id")
    if service_id and not service_id.isdigit():
        return f"{where(wanted)}: autotask service_id {service_id!r} is not an id"
    if not wanted.option("service") and not service_id:
        return f'{where(wanted)}: give autotask = {{ service = "…" }}, the catalogue service (name or SKU) it bills'
    return None


def _picked_problem(setting: str, picked: Picked, what: str) -> str | None:
    if picked.code is not None:
        return None
    known = ", ".join(repr(label) for label in picked.known) or "none"
    return (
        f"[autotask] {setting} = {picked.label!r}: {PSA} has no active {what} of that label (it has {known}): set "
        f"{setting} to one of them"
    )


def _unfilled_problem(entity: str, required: Required) -> str | None:
    if not required.unfilled:
        return None
    names = ", ".join(required.unfilled)
    return (
        f"{PSA} requires {names} on a new {entity}, which onboarding has no value for: create the {entity} in {PSA} "
        "yourself, then run again"
    )


class CustomerPlanner:
    """The steps and problems of one new customer, from what Autotask holds (see `plan_customer`)."""

    def __init__(self, new: NewCustomer, held: Held, options: Options) -> None:
        self.new = new
        self.held = held
        self.options = options
        self.problems: list[str] = []
        self.notes: list[str] = []

    def plan(self, company: Company | None) -> CustomerPlan:
        new = self.new
        first = self._company(company)
        self.problems += [p for p in map(_template_problem, new.contracts) if p is not None]
        body: list[Step] = []
        if not self.problems:
            for group in contracts_wanted(new):
                body += self._contract(group, company)
        contact = self._contact(company)
        steps = [first, *([contact] if contact is not None else []), *body]
        return CustomerPlan(new, tuple(steps), tuple(dict.fromkeys(self.problems)), tuple(self.notes))

    # -- the company and its contact ---------------------------------------------------------------------------

    def _company(self, company: Company | None) -> Step:
        if company is not None:
            return Step("customer", self.new.name, f"company {company.id}, held already", company.id)
        held, options = self.held, self.options
        if options.owner_resource_id is None:
            self.problems.append(
                f"[autotask] owner_resource_id is not set: {PSA} requires an owner resource on every company; set it "
                "to the id of the resource that owns the companies onboarding creates"
            )
        assert held.company_type is not None  # read whenever a company is to be created
        problems = (
            _picked_problem("company_type", held.company_type, "company type"),
            _unfilled_problem("company", held.company_fields),
        )
        self.problems += [p for p in problems if p is not None]
        sources = ", ".join(f"{s} {n!r}" + (f" (id {i})" if i else "") for s, n, i in self.new.vendors)
        given = "".join(f", {shown}" for shown in held.company_fields.shown)
        owner = f", owner resource {options.owner_resource_id}" if options.owner_resource_id is not None else ""
        return Step("customer", self.new.name, f"type {options.company_type}{owner}{given}, from {sources}")

    def _contact(self, company: Company | None) -> Step | None:
        """The vendor's contact: found by e-mail among the company's, else created. Autotask's contracts need none,
        so a customer whose vendor gives no e-mail simply gets no contact."""
        vendor = self.new.contact
        if vendor is None or not vendor.email:
            source = vendor.source if vendor is not None else " / ".join(s for s, _, _ in self.new.vendors)
            self.notes.append(f"no contact: {source} gives no e-mail for it")
            return None
        held = self.held.contacts.get(company.id, []) if company is not None else []
        shown = f"{vendor.name} <{vendor.email}>" if vendor.name else vendor.email
        found = next((c for c in held if c.has_email(vendor.email)), None)
        if found is not None:
            return Step("contact", shown, "held already", found.id)
        first, last = person_names(vendor.name, vendor.email)
        return Step("contact", shown, f"main contact {first} {last}, from {vendor.source}")

    # -- contracts and their services --------------------------------------------------------------------------

    def _contract(self, group: Group, company: Company | None) -> list[Step]:
        held = self._held_contract(group, company)
        if isinstance(held, str):
            self.problems.append(held)
            return []
        if held is not None:
            steps = [Step("contract", group.name, "held already", held.id)]
            services = self.held.contract_services.get(held.id, [])
        else:
            created = self._new_contract(group)
            if created is None:
                return []
            steps, services = [created], []
        billed: dict[int, ContractWanted] = {}
        for wanted in group.lines:
            service = catalogue_service(wanted, self.held.services)
            if isinstance(service, str):
                self.problems.append(
                    f"{where(wanted)}: {service}; onboarding creates no catalogue service: create it in {PSA}"
                )
                continue
            if service.isActive is False:
                self.problems.append(f"{where(wanted)}: {PSA}'s catalogue service {service.name!r} is inactive")
                continue
            if service.id in billed:
                self.problems.append(
                    f"{where(wanted)}: {where(billed[service.id])} bills service {service.name!r} on contract "
                    f"{group.name!r} too: one contract service carries one line, give each template its own service"
                )
                continue
            billed[service.id] = wanted
            step = self._contract_service(group.name, wanted, service, services)
            if step is not None:
                steps.append(step)
        return steps

    def _held_contract(self, group: Group, company: Company | None) -> Contract | str | None:
        """The company's Recurring Service contract of this name in force, None when it has none of the name, or
        why the one it has cannot carry the lines."""
        if company is None:
            return None
        named = [c for c in self.held.contracts.get(company.id, []) if key(c.contractName) == key(group.name)]
        usable = [c for c in named if c.status == ACTIVE and c.contractType == RECURRING_SERVICE]
        what = f"{PSA} company {company.companyName!r} ({company.id})"
        if len(usable) > 1:
            ids = ", ".join(str(c.id) for c in usable)
            return f"{what} has {len(usable)} contracts named {group.name!r} (IDs {ids}): map it by contract_id"
        if usable:
            return usable[0]
        if named:
            states = ", ".join(
                f"{c.id} " + ("not active" if c.status != ACTIVE else f"of type {c.contractType}") for c in named
            )
            return (
                f"{what} has contract {group.name!r} ({states}), not an active Recurring Service contract: activate "
                f"it in {PSA}, or name another contract in the template (autotask contract)"
            )
        return None

    def _new_contract(self, group: Group) -> Step | None:
        held = self.held
        assert held.period_type is not None  # read whenever a contract is to be created
        problems = [
            p
            for p in (
                _picked_problem("contract_period_type", held.period_type, "contract period type"),
                _unfilled_problem("contract", held.contract_fields),
            )
            if p is not None
        ]
        if len(group.name) > CONTRACT_NAME_LENGTH:
            problems.append(
                f"{where(group.first)}: contract name {group.name!r} is longer than the {CONTRACT_NAME_LENGTH} "
                f"characters {PSA} takes"
            )
        if problems:
            self.problems += problems
            return None
        first = group.first
        given = "".join(f", {shown}" for shown in held.contract_fields.shown)
        detail = (
            f"Recurring Service, {held.period_type.label}, active{given}, first period {first.first_period}, "
            f"from {first.start}"
        )
        return Step("contract", group.name, detail)

    def _contract_service(
        self, contract: str, wanted: ContractWanted, service: Service, held: Sequence[ContractService]
    ) -> Step | None:
        name = service_step(contract, wanted)
        named = [s for s in held if s.serviceID == service.id]
        if len(named) > 1:
            ids = ", ".join(str(s.id) for s in named)
            self.problems.append(
                f"{PSA} contract {contract!r} bills service {service.name!r} {len(named)} times (contract services "
                f"{ids}): map it by contract_service_id"
            )
            return None
        if named:
            return Step("contract service", name, "held already", named[0].id)
        price = wanted.rate if wanted.rate is not None else service.unitPrice
        shown = f"{price} per unit" if wanted.rate is not None else f"at the catalogue's {price} per unit"
        detail = (
            f"service {service.name!r} ({service.id}), {shown}, units 0, first period {wanted.first_period}, "
            f"from {wanted.start}"
        )
        return Step("contract service", name, detail)


def plan_customer(new: NewCustomer, held: Held, options: Options) -> CustomerPlan:
    """One new customer's plan, from what Autotask holds."""
    named = held.named(new.name)
    if len(named) > 1:
        ids = ", ".join(str(c.id) for c in named)
        problem = f"{PSA} has {len(named)} companies named {new.name!r} (IDs {ids}): map it by psa_customer_id"
        return CustomerPlan(new, (), (problem,))
    if not named and len(new.name.strip()) > NAME_LENGTH:
        problem = (
            f"{PSA} company names are at most {NAME_LENGTH} characters, {new.name!r} has {len(new.name.strip())}: "
            f"create the company in {PSA} and map it by psa_customer_id"
        )
        return CustomerPlan(new, (), (problem,))
    return CustomerPlanner(new, held, options).plan(named[0] if named else None)
