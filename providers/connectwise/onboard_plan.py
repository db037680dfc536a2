"""Onboarding in ConnectWise, planned: for each new customer, what ConnectWise holds already and what it lacks.

`Held` is one read of what onboarding looks for: every company (names and identifiers), the contacts and
agreements of the companies the new customers are named as, the additions of the agreements the templates name,
the agreement types and the catalog items the templates bill. `plan_customer` turns it into one customer's steps,
in the order they are created: the company, its contact, the catalog items to create, then each agreement followed
by its additions. Nothing here makes a request; `onboard.py` reads and creates.

A new customer gets one agreement per distinct agreement name its templates give (the line option `agreement`,
else the template's `contract`), and in it one addition per template, of the template's product: what the sync
then finds by the very same names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from providers.connectwise.models import Addition, Agreement, AgreementType, CatalogItem, Company, Contact, NamedRef
from providers.connectwise.verify import PSA, key, of_product
from providers.onboarding import ContractWanted, CustomerPlan, Group, NewCustomer, Step, grouped

# What ConnectWise's description allows (Company.identifier, Company.name, Agreement.name, CatalogItem.description).
IDENTIFIER_LENGTH = 30
NAME_LENGTH = 50
AGREEMENT_NAME_LENGTH = 100
DESCRIPTION_LENGTH = 60
_WORD = re.compile(r"[A-Za-z0-9]+")


def derive_identifier(name: str, taken: set[str]) -> str:
    """A company identifier ConnectWise takes (at most 30 letters and digits, no spaces) that no company holds:
    the name's words run together, each capitalised ("Tailspin Toys" -> "TailspinToys"), whole words while they
    fit, then a number when it is taken ("TailspinToys2"). `taken` holds identifiers casefolded."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = ""
    for word in _WORD.findall(plain):
        word = word[0].upper() + word[1:]
        if len(base) + len(word) > IDENTIFIER_LENGTH:
            base = base or word[:IDENTIFIER_LENGTH]
            break
        base += word
    base = base or "Customer"  # a name with no Latin letter or digit at all
    candidate, number = base, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = base[: IDENTIFIER_LENGTH - len(str(number))] + str(number)
    return candidate


def reference(ref: NamedRef) -> dict[str, object]:
    """A reference as a request states it: by id when there is one, else by name."""
    return {"id": ref.id} if ref.id is not None else {"name": ref.name}


@dataclass(frozen=True)
class Options:
    """`[connectwise] agreement_type` and `create_products`."""

    agreement_type: str
    create_products: bool


@dataclass
class Held:
    """What ConnectWise holds that onboarding looks for, read once per plan (see the module's notes)."""

    companies: list[Company]
    contacts: dict[int, list[Contact]] = field(default_factory=dict)  # by company id
    agreements: dict[int, list[Agreement]] = field(default_factory=dict)  # by company id
    additions: dict[int, list[Addition]] = field(default_factory=dict)  # by agreement id
    types: list[AgreementType] = field(default_factory=list)
    catalog: dict[str, CatalogItem] = field(default_factory=dict)  # by identifier, casefolded
    model: CatalogItem | None = None  # the catalog item a new one is filed as (subcategory and type)
    company_types: tuple[NamedRef, ...] = ()  # the types a new company is given
    company_types_from: int = 0  # how many companies with agreements of the type hold them

    def named(self, name: str) -> list[Company]:
        return [c for c in self.companies if not c.deletedFlag and key(c.name) == key(name)]

    def taken(self) -> set[str]:
        return {key(c.identifier) for c in self.companies if c.identifier}

    def agreement_type(self, name: str) -> AgreementType | None:
        return next((t for t in self.types if key(t.name) == key(name) and not t.inactiveFlag), None)


def agreement_name(wanted: ContractWanted) -> str:
    """The agreement a template line is billed on, as the sync finds it: the option `agreement`, else the contract."""
    return wanted.option("agreement") or wanted.name


def addition_name(agreement: str, product: str) -> str:
    """An addition as the plan and the sync's messages name it."""
    return f"{agreement} / {product}"


def agreements_wanted(new: NewCustomer) -> list[Group]:
    """One per distinct agreement name (case ignored), in the templates' order."""
    return grouped(new.contracts, agreement_name)


def product_description(wanted: ContractWanted) -> str:
    """What a new catalog item says it is: the template's contract when it names the line (the option `agreement`
    names the agreement then), else the contract and the metric, so two products on one agreement read apart."""
    if key(agreement_name(wanted)) != key(wanted.name):
        return wanted.name
    return f"{wanted.name}, {wanted.metric}"


def where(wanted: ContractWanted) -> str:
    return f"[mapping.templates] {wanted.metric} (contract {wanted.name!r})"


def _template_problem(wanted: ContractWanted) -> str | None:
    """Why a template line cannot be onboarded whatever ConnectWise holds, or None."""
    for option in ("agreement_id", "addition_id"):
        if wanted.option(option):
            return (
                f"{where(wanted)}: connectwise {option} names one record of one customer: a template for new "
                "customers names the agreement by name and the addition by product"
            )
    if not wanted.option("product"):
        return f'{where(wanted)}: give connectwise = {{ product = "…" }}, the catalog item the addition bills'
    return None


class CustomerPlanner:
    """The steps and problems of one new customer, from what ConnectWise holds (see `plan_customer`)."""

    def __init__(self, new: NewCustomer, held: Held, options: Options) -> None:
        self.new = new
        self.held = held
        self.options = options
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.products: list[Step] = []
        self.creates_agreement = False

    def plan(self, company: Company | None, identifier: str | None) -> CustomerPlan:
        new = self.new
        if company is not None:
            first = Step("customer", new.name, f"identifier {company.identifier}", company.id)
        else:
            first = Step("customer", new.name, self._company_detail(identifier))
        self.problems += [p for p in map(_template_problem, new.contracts) if p is not None]
        body: list[Step] = []
        if not self.problems:
            for group in agreements_wanted(new):
                body += self._agreement(group, company)
        contact = self._contact(company)
        steps = [first, *([contact] if contact is not None else []), *self.products, *body]
        return CustomerPlan(new, tuple(steps), tuple(self.problems), tuple(self.notes))

    def _company_detail(self, identifier: str | None) -> str:
        sources = ", ".join(f"{s} {n!r}" + (f" (id {i})" if i else "") for s, n, i in self.new.vendors)
        held = self.held
        kinds = ", ".join(t.name or str(t.id) for t in held.company_types)
        typed = (
            f", type {kinds} (as {held.company_types_from} compan{'y' if held.company_types_from == 1 else 'ies'} "
            f"with {self.options.agreement_type} agreements)"
            if kinds
            else ""
        )
        return f"identifier {identifier}{typed}, from {sources}"

    # -- the contact -------------------------------------------------------------------------------------------

    def _contact(self, company: Company | None) -> Step | None:
        """The vendor's contact (found by e-mail among the company's, else created); with none, the company's own
        contact when a new agreement needs one."""
        held = self.held.contacts.get(company.id, []) if company is not None else []
        vendor = self.new.contact
        if vendor is not None and vendor.email:
            shown = f"{vendor.name} <{vendor.email}>" if vendor.name else vendor.email
            found = next((c for c in held if c.has_email(vendor.email)), None)
            detail = "held already" if found is not None else f"main contact, from {vendor.source}"
            return Step("contact", shown, detail, found.id if found is not None else None)
        source = vendor.source if vendor is not None else " / ".join(s for s, _, _ in self.new.vendors)
        usable = sorted((c for c in held if not c.inactiveFlag), key=lambda c: (not c.defaultFlag, c.id))
        if self.creates_agreement and usable:
            own = usable[0]
            return Step("contact", own.name or f"contact {own.id}", "the company's contact, on its agreements", own.id)
        if self.creates_agreement:
            self.problems.append(
                f"a {PSA} agreement needs a contact, and {source} gives no e-mail for {self.new.name!r}: add its "
                f"contact in {PSA} (or its e-mail at {source}), then run again"
            )
        else:
            self.notes.append(f"no contact: {source} gives no e-mail for it")
        return None

    # -- agreements, their additions and the catalog items they bill ---------------------------------------------

    def _agreement(self, group: Group, company: Company | None) -> list[Step]:
        held = self._held_agreement(group, company)
        if isinstance(held, str):
            self.problems.append(held)
            return []
        if held is not None:
            steps = [Step("agreement", group.name, "held already", held.id)]
            additions = self.held.additions.get(held.id, [])
        else:
            created = self._new_agreement(group)
            if created is None:
                return []
            steps, additions = [created], []
        products: dict[str, ContractWanted] = {}
        for wanted in group.lines:
            product = wanted.option("product")
            if key(product) in products:
                self.problems.append(
                    f"{where(wanted)}: {where(products[key(product)])} bills product {product!r} on agreement "
                    f"{group.name!r} too: one addition carries one line, give each template its own product"
                )
                continue
            products[key(product)] = wanted
            step = self._addition(group.name, wanted, additions)
            if step is not None:
                steps.append(step)
        return steps

    def _held_agreement(self, group: Group, company: Company | None) -> Agreement | str | None:
        """The company's agreement of this name in force, None when it has none, or why it cannot be told."""
        if company is None:
            return None
        named = [a for a in self.held.agreements.get(company.id, []) if key(a.name) == key(group.name)]
        active = [a for a in named if a.status == "Active"]
        what = f"{PSA} company {company.name!r} ({company.id})"
        if len(active) > 1:
            ids = ", ".join(str(a.id) for a in active)
            return f"{what} has {len(active)} agreements named {group.name!r} (IDs {ids}): map it by agreement_id"
        if named and not active:
            states = ", ".join(f"{a.id} {a.status}" for a in named)
            return (
                f"{what} has agreement {group.name!r} ({states}), not in force: reactivate it in {PSA}, or name "
                "another agreement in the template (connectwise agreement)"
            )
        return active[0] if active else None

    def _new_agreement(self, group: Group) -> Step | None:
        kind = self.held.agreement_type(self.options.agreement_type)
        if kind is None:
            known = ", ".join(repr(t.name) for t in self.held.types if not t.inactiveFlag) or "none"
            self.problems.append(
                f"[connectwise] agreement_type = {self.options.agreement_type!r}: {PSA} has no active agreement type "
                f"of that name (it has {known}): set agreement_type to one of them, or create it in {PSA}"
            )
            return None
        if len(group.name) > AGREEMENT_NAME_LENGTH:
            self.problems.append(
                f"{where(group.first)}: agreement name {group.name!r} is longer than the {AGREEMENT_NAME_LENGTH} "
                f"characters {PSA} takes"
            )
            return None
        self.creates_agreement = True
        first = group.first
        detail = f"type {kind.name}, first period {first.first_period}, from {first.start}"
        return Step("agreement", group.name, detail)

    def _addition(self, agreement: str, wanted: ContractWanted, additions: Sequence[Addition]) -> Step | None:
        product = wanted.option("product")
        name = addition_name(agreement, product)
        named = of_product(additions, product)
        if len(named) > 1:
            ids = ", ".join(str(a.id) for a in named)
            self.problems.append(f"{PSA} agreement {agreement!r} has {len(named)} additions of {product!r} ({ids})")
            return None
        if named:
            return Step("addition", name, "held already", named[0].id)
        if not self._catalog_item(wanted, product):
            return None
        price = f"{wanted.rate} per unit" if wanted.rate is not None else "at the catalog item's price"
        detail = f"{price}, quantity 0, Billable, first period {wanted.first_period}, from {wanted.start}"
        return Step("addition", name, detail)

    def _catalog_item(self, wanted: ContractWanted, product: str) -> bool:
        """Whether the addition's catalog item is there or planned (a step in `products`); a problem if not."""
        item = self.held.catalog.get(key(product))
        if item is not None:
            if item.inactiveFlag:
                self.problems.append(f"{where(wanted)}: {PSA} catalog item {product!r} is inactive: activate it")
                return False
            return True
        if any(key(step.name) == key(product) for step in self.products):
            return True
        problem = self._cannot_create(product, wanted)
        if problem is not None:
            self.problems.append(f"{where(wanted)}: {PSA}'s catalog has no product {product!r}{problem}")
            return False
        model = self.held.model
        assert model is not None and model.subcategory is not None and model.type is not None
        filed = f"{model.subcategory.name} / {model.type.name}"
        described = product_description(wanted)[:DESCRIPTION_LENGTH]
        detail = f"catalog item {described!r}, {wanted.rate} per unit, filed as {model.identifier} ({filed})"
        self.products.append(Step("product", product, detail))
        return True

    def _cannot_create(self, product: str, wanted: ContractWanted) -> str | None:
        if not self.options.create_products:
            return f": create it in {PSA}, or set [connectwise] create_products = true to let onboarding create it"
        if wanted.rate is None:
            return ", and the template gives no rate to price a new one with"
        if self.held.model is None:
            return f", nor a recurring catalog item to file a new one as (subcategory and type): create it in {PSA}"
        return None


def plan_customer(new: NewCustomer, held: Held, options: Options, taken: set[str]) -> tuple[CustomerPlan, str | None]:
    """One new customer's plan, and the identifier its company is created with (None: not created). An
    identifier planned here is added to `taken`, so two new customers never get the same one."""
    named = held.named(new.name)
    if len(named) > 1:
        ids = ", ".join(str(c.id) for c in named)
        problem = f"{PSA} has {len(named)} companies named {new.name!r} (IDs {ids}): map it by psa_customer_id"
        return CustomerPlan(new, (), (problem,)), None
    if not named and len(new.name) > NAME_LENGTH:
        problem = (
            f"{PSA} company names are at most {NAME_LENGTH} characters, {new.name!r} has {len(new.name)}: create the "
            "company in ConnectWise and map it by psa_customer_id"
        )
        return CustomerPlan(new, (), (problem,)), None
    identifier = None if named else derive_identifier(new.name, taken)
    plan = CustomerPlanner(new, held, options).plan(named[0] if named else None, identifier)
    if identifier is not None and not plan.problems:
        taken.add(identifier.casefold())
    return plan, identifier


def once_each_product(plans: list[CustomerPlan]) -> list[CustomerPlan]:
    """A catalog item two new customers need is created once, by the first one that will be created."""
    planned: set[str] = set()
    kept = []
    for plan in plans:
        if not plan.problems:
            steps = tuple(s for s in plan.steps if s.kind != "product" or key(s.name) not in planned)
            planned |= {key(s.name) for s in steps if s.kind == "product"}
            plan = CustomerPlan(plan.customer, steps, plan.problems, plan.notes)
        kept.append(plan)
    return kept
