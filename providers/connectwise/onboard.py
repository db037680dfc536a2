"""Onboarding in ConnectWise: a new customer's company, its contact, its agreements and their additions (and the
catalog items they bill, when `[connectwise] create_products` allows).

`plan` reads what ConnectWise holds (see `onboard_plan`: companies by name, contacts by e-mail, agreements by name,
additions and catalog items by product identifier) and lists what is missing; `create` makes exactly the plan's
missing items, in order, telling each one as soon as ConnectWise confirms it, before any other request, so the
caller's audit knows it even if the next create fails. A rerun after a crash between two creates finds what the
first made by the same names and makes only the rest.

A new agreement is of the type `[connectwise] agreement_type`, with the defaults that type gives (the fields
ConnectWise requires on updates among them), and starts on the first day of the period its earliest line is first
billed for; each addition starts on its own line's, at quantity 0 and the template's rate. The addition's
`connectwise.addition_created` event carries its `psa_ref`, by which the sync knows that 0 as the connector's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from connector.core.errors import ConfigError, DataError
from providers.connectwise import conditions as cond
from providers.connectwise.client import ConnectWiseClient, build_connectwise_client
from providers.connectwise.dates import midnight, wire_moment
from providers.connectwise.models import CatalogItem, Company, NamedRef
from providers.connectwise.onboard_plan import (
    DESCRIPTION_LENGTH,
    Held,
    Options,
    addition_name,
    agreement_name,
    agreements_wanted,
    once_each_product,
    plan_customer,
    product_description,
    reference,
)
from providers.connectwise.requests import new_addition
from providers.connectwise.settings import ConnectWiseSettings
from providers.connectwise.verify import PSA, key, psa_ref
from providers.onboarding import ContractWanted, Created, CustomerPlan, NewCustomer, Progress, Step, Told, run_plan
from providers.spec import BuildContext

__all__ = ["ConnectWiseOnboarder", "onboarder"]


def _names(full: str | None, email: str) -> tuple[str, str | None]:
    # The portal holds one name field; ConnectWise asks for first and last. The first word is the first name, and a
    # contact known by its e-mail only is named by the e-mail's local part.
    words = (full or "").split()
    if not words:
        return email.split("@")[0], None
    return words[0], " ".join(words[1:]) or None


def _day(start: date) -> str:
    # A day ConnectWise's screens take as a date is midnight UTC of it (see `dates`): the day itself, in any zone.
    return wire_moment(midnight(start, "UTC"))


def _usable_model(item: CatalogItem) -> bool:
    return not item.inactiveFlag and item.subcategory is not None and item.type is not None


class ConnectWiseOnboarder:
    """Plans and creates new customers in one ConnectWise site; built per `connector map --create-customers` run."""

    def __init__(self, client: ConnectWiseClient, *, agreement_type: str, create_products: bool) -> None:
        self.client = client
        self.options = Options(agreement_type, create_products)
        self.held = Held([])
        # The identifier each new company gets, by its name casefolded: decided by the last plan.
        self._identifiers: dict[str, str] = {}
        self._made_companies: set[int] = set()

    def close(self) -> None:
        self.client.close()

    # -- planning ----------------------------------------------------------------------------------------------

    def plan(self, wanted: Sequence[NewCustomer]) -> list[CustomerPlan]:
        self.held = self._read(wanted)
        taken = self.held.taken()
        plans = []
        self._identifiers = {}
        for new in wanted:
            plan, identifier = plan_customer(new, self.held, self.options, taken)
            if identifier is not None:
                self._identifiers[key(new.name)] = identifier
            plans.append(plan)
        return once_each_product(plans)

    def _read(self, wanted: Sequence[NewCustomer]) -> Held:
        """What the plans need, each list read once (see `onboard_plan.Held`)."""
        held = Held(list(self.client.companies()))
        named = sorted({c.id for new in wanted for c in held.named(new.name)})
        if named:
            self._read_companies(held, named, {key(agreement_name(c)) for new in wanted for c in new.contracts})
        lines = [line for new in wanted for line in new.contracts]
        if lines:
            self._read_catalog(held, lines)
        if any(not held.named(new.name) for new in wanted):
            held.company_types, held.company_types_from = self._company_types(held.companies)
        return held

    def _read_companies(self, held: Held, company_ids: list[int], names: set[str]) -> None:
        """The companies' contacts and agreements, and the additions of those agreements the templates name."""
        for contact in self.client.contacts_of(company_ids):
            if contact.company is not None and contact.company.id is not None:
                held.contacts.setdefault(contact.company.id, []).append(contact)
        for agreement in self.client.agreements_of(company_ids):
            if agreement.company.id is not None:
                held.agreements.setdefault(agreement.company.id, []).append(agreement)
            if key(agreement.name) in names:
                held.additions[agreement.id] = list(self.client.additions(agreement.id))

    def _read_catalog(self, held: Held, lines: list[ContractWanted]) -> None:
        """The agreement types, the catalog items the templates name, and what a new one would be filed as."""
        held.types = list(self.client.agreement_types())
        products = sorted({p for line in lines if (p := line.option("product"))}, key=str.casefold)
        for condition in cond.one_of("identifier", products):
            held.catalog.update((key(i.identifier), i) for i in self.client.catalog(condition))
        if self.options.create_products and any(key(p) not in held.catalog for p in products):
            held.model = self._model(held)

    def _model(self, held: Held) -> CatalogItem | None:
        """The catalog item a new one is filed as: a product the templates name, else the first recurring one."""
        named = sorted((i for i in held.catalog.values() if _usable_model(i)), key=lambda i: i.id)
        if named:
            return named[0]
        return next((i for i in self.client.catalog(cond.equals("recurringFlag", True)) if _usable_model(i)), None)

    def _company_types(self, companies: list[Company]) -> tuple[tuple[NamedRef, ...], int]:
        """The company types most of the companies with agreements of `agreement_type` have (ConnectWise takes
        types on a company's creation only), and how many companies have them; none when no such company has any."""
        owners = {a.company.id for a in self.client.agreements(cond.equals("type/name", self.options.agreement_type))}
        counted = Counter(
            tuple(t for t in c.types if t.id is not None) for c in companies if c.id in owners and not c.deletedFlag
        )
        counted.pop((), None)
        if not counted:
            return (), 0
        types, count = counted.most_common(1)[0]
        return types, count

    # -- creating ----------------------------------------------------------------------------------------------

    def create(self, plan: CustomerPlan, told: Told) -> Created:
        """Create the plan's missing items in order; each is told as soon as ConnectWise confirms it."""
        if plan.problems:
            raise ConfigError(f"{plan.customer.name}: {plan.problems[0]}")
        new = plan.customer

        def make(step: Step, progress: Progress) -> int:
            if step.kind == "contact":
                return self._contact(new, progress.customer_id, told)
            if step.kind == "product":
                return self._product(step.name, new, told)
            if step.kind == "agreement":
                assert progress.contact_id is not None  # planned only with a contact
                return self._agreement(step.name, new, progress.customer_id, progress.contact_id, told)
            return self._addition(step, new, progress.containers, told)

        return run_plan(plan, lambda: self._company(new, told), make, container="agreement")

    def _company(self, new: NewCustomer, told: Told) -> int:
        identifier = self._identifiers.get(key(new.name))
        if identifier is None:
            raise DataError(f"connectwise: no identifier was planned for {new.name!r}")
        # Read again just before: a company someone made since the plan was shown is not made twice.
        now = Held(list(self.client.companies()))
        if now.named(new.name) or identifier.casefold() in now.taken():
            raise ConfigError(
                f"{PSA} has a company named {new.name!r} or identified {identifier!r} since the plan was made: run "
                "again to see the plan"
            )
        body: dict[str, Any] = {"identifier": identifier, "name": new.name}
        if self.held.company_types:
            body["types"] = [reference(t) for t in self.held.company_types]
        company = self.client.create_company(body)
        self._made_companies.add(company.id)
        told("connectwise.company_created", {"company_id": company.id, "identifier": identifier, "name": new.name})
        return company.id

    def _contact(self, new: NewCustomer, company_id: int, told: Told) -> int:
        vendor = new.contact
        assert vendor is not None and vendor.email  # planned only with an e-mail
        first, last = _names(vendor.name, vendor.email)
        email = {"type": {"name": "Email"}, "value": vendor.email, "defaultFlag": True, "communicationType": "Email"}
        body: dict[str, Any] = {"firstName": first, "company": {"id": company_id}, "communicationItems": [email]}
        if last:
            body["lastName"] = last
        if company_id in self._made_companies:
            body["defaultFlag"] = True  # the first contact of a company made now is its default one
        contact = self.client.create_contact(body)
        told(
            "connectwise.contact_created",
            {"contact_id": contact.id, "company_id": company_id, "email": vendor.email},
        )
        return contact.id

    def _product(self, identifier: str, new: NewCustomer, told: Told) -> int:
        wanted = next(c for c in new.contracts if key(c.option("product")) == key(identifier))
        model = self.held.model
        assert wanted.rate is not None and model is not None  # planned only with both
        assert model.subcategory is not None and model.type is not None
        body: dict[str, Any] = {
            "identifier": identifier,
            "description": product_description(wanted)[:DESCRIPTION_LENGTH],
            "customerDescription": product_description(wanted),
            "subcategory": reference(model.subcategory),
            "type": reference(model.type),
            "price": wanted.rate,
            "recurringFlag": True,
        }
        if model.productClass:
            body["productClass"] = model.productClass
        item = self.client.create_catalog_item(body)
        self.held.catalog[key(identifier)] = item
        told(
            "connectwise.product_created",
            {"catalog_item_id": item.id, "identifier": identifier, "price": str(wanted.rate)},
        )
        return item.id

    def _agreement(self, name: str, new: NewCustomer, company_id: int, contact_id: int, told: Told) -> int:
        group = next(g for g in agreements_wanted(new) if key(g.name) == key(name))
        kind = self.held.agreement_type(self.options.agreement_type)
        assert kind is not None  # planned only with the type
        body: dict[str, Any] = {
            "name": group.name,
            "type": {"id": kind.id},
            "company": {"id": company_id},
            "contact": {"id": contact_id},
            "startDate": _day(group.first.start),
            "noEndingDateFlag": True,
        }
        # What the type gives a new agreement, the fields ConnectWise requires on its updates among them.
        for field in ("billTime", "billExpenses", "billProducts", "employeeCompRate", "employeeCompNotExceed"):
            if (value := getattr(kind, field)) is not None:
                body[field] = value
        if kind.invoicingCycle is not None:
            body["invoicingCycle"] = kind.invoicingCycle
        if kind.billingCycle is not None:
            body["billingCycle"] = reference(kind.billingCycle)
        agreement = self.client.create_agreement(body)
        told(
            "connectwise.agreement_created",
            {
                "agreement_id": agreement.id,
                "company_id": company_id,
                "name": group.name,
                "type": kind.name,
                "start": group.first.start.isoformat(),
            },
        )
        return agreement.id

    def _addition(self, step: Step, new: NewCustomer, agreements: dict[str, int], told: Told) -> int:
        group, wanted = next(
            (g, w)
            for g in agreements_wanted(new)
            for w in g.lines
            if addition_name(g.name, w.option("product")) == step.name
        )
        product = wanted.option("product")
        agreement_id = agreements.get(key(group.name))
        item = self.held.catalog.get(key(product))
        if agreement_id is None or item is None:
            raise DataError(f"connectwise: agreement {group.name!r} and product {product!r} were to be there first")
        body = new_addition(item.identifier, Decimal(0), wanted.rate, midnight(wanted.start, "UTC"))
        addition = self.client.create_addition(agreement_id, body)
        told(
            "connectwise.addition_created",
            {
                "agreement_id": agreement_id,
                "addition_id": addition.id,
                "product": item.identifier,
                "quantity": "0",
                "unit_price": str(wanted.rate) if wanted.rate is not None else None,
                # The sync knows by it that this addition's 0 is the connector's, not a figure anyone billed.
                "psa_ref": psa_ref(agreement_id, addition.id),
            },
        )
        return addition.id


def onboarder(settings: ConnectWiseSettings, context: BuildContext) -> ConnectWiseOnboarder:
    return ConnectWiseOnboarder(
        build_connectwise_client(settings, context.http),
        agreement_type=settings.agreement_type,
        create_products=settings.create_products,
    )
