"""Onboarding in Atera: a new customer, its main contact, and the Retainer contracts (and rate products) it needs.

`plan` reads what the account holds (customers and contracts by name, contacts by e-mail, rate products by SKU) and
lists what is missing; `create` makes exactly the plan's missing items, in order, telling each one as it lands so
the caller's audit knows it even if the next create fails. Requests go through the client's one request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from connector.core.errors import ConfigError, DataError
from mappings.enums import BillingPeriod, ContractType
from providers.atera.client import AteraClient, build_atera_client
from providers.atera.models import (
    ContractDto,
    CreateContractDto,
    CreateRateRequest,
    CreateRetainerFlatFeeContractDto,
    CustomerDto,
    Request,
    same_number,
)
from providers.atera.settings import AteraSettings
from providers.atera.verify import key, psa_ref
from providers.onboarding import ContractWanted, Created, CustomerPlan, NewCustomer, Progress, Step, Told, run_plan
from providers.spec import BuildContext

NOTE = "Created by the backup-billing connector (connector map --create-customers)"


class CreateCustomerRequest(Request):
    """POST /customers: the fields onboarding fills (the OpenAPI description allows more)."""

    CustomerName: str
    Notes: str | None = None


class CreateContactRequest(Request):
    """POST /contacts: Atera needs the e-mail and the customer; IsContactPerson makes it the main contact."""

    Email: str
    CustomerID: int
    Firstname: str | None = None
    Lastname: str | None = None
    IsContactPerson: bool = True


def _names(full: str | None) -> tuple[str | None, str | None]:
    # The portal holds one name field; Atera asks for first and last. The first word is the first name.
    words = (full or "").split()
    if not words:
        return None, None
    return words[0], " ".join(words[1:]) or None


class AteraOnboarder:
    """Plans and creates new customers in one Atera account; built per `connector map --create-customers` run."""

    def __init__(self, client: AteraClient, *, rate_category: str | None, sla_id: int | None) -> None:
        self.client = client
        self.rate_category = rate_category
        self.sla_id = sla_id
        self._rate_ids: dict[str, int] = {}  # by SKU, casefolded: read at planning, added to by `create`

    def close(self) -> None:
        self.client.close()

    # -- planning ----------------------------------------------------------------------------------------------

    def plan(self, wanted: Sequence[NewCustomer]) -> list[CustomerPlan]:
        customers = list(self.client.customers())
        contracts = list(self.client.contracts())
        rates = list(self.client.rates())
        self._rate_ids = {key(r.SKU): r.RateID for r in rates if r.SKU}
        amounts = {key(r.SKU): r.Amount for r in rates if r.SKU}
        plans = [self._plan(new, customers, contracts, amounts) for new in wanted]
        # A rate product two new customers need is created once, by the first one that will be created.
        planned: set[str] = set()
        deduplicated = []
        for plan in plans:
            if not plan.problems:
                steps = tuple(s for s in plan.steps if s.kind != "rate" or s.name.casefold() not in planned)
                planned |= {s.name.casefold() for s in steps if s.kind == "rate"}
                plan = CustomerPlan(plan.customer, steps, plan.problems, plan.notes)
            deduplicated.append(plan)
        return deduplicated

    def _plan(
        self,
        new: NewCustomer,
        customers: list[CustomerDto],
        contracts: list[ContractDto],
        amounts: dict[str, Decimal],
    ) -> CustomerPlan:
        named = [c for c in customers if key(c.CustomerName) == key(new.name)]
        if len(named) > 1:
            ids = ", ".join(str(c.CustomerID) for c in named)
            problem = f"Atera has {len(named)} customers named {new.name!r} (IDs {ids}): map it by psa_customer_id"
            return CustomerPlan(new, (), (problem,))
        customer_id = named[0].CustomerID if named else None
        sources = ", ".join(f"{s} {n!r}" + (f" (id {i})" if i else "") for s, n, i in new.vendors)
        steps = [Step("customer", new.name, f"from {sources}", customer_id)]
        notes: list[str] = []
        contact = new.contact
        if contact is not None and contact.email:
            shown = f"{contact.name} <{contact.email}>" if contact.name else contact.email
            held = self._contact_id(contact.email, customer_id) if customer_id is not None else None
            steps.append(Step("contact", shown, f"main contact, from {contact.source}", held))
        else:
            source = contact.source if contact is not None else " / ".join(s for s, _, _ in new.vendors)
            notes.append(f"no contact: {source} gives no e-mail for it, and Atera needs one")
        problems: list[str] = []
        for wanted in new.contracts:
            held_contract = next(
                (c for c in contracts if c.CustomerID == customer_id and key(c.ContractName) == key(wanted.name)), None
            )
            if held_contract is not None:
                steps.append(Step("contract", wanted.name, "held already", held_contract.ContractID))
                continue
            found = self._contract_steps(wanted, amounts)
            if isinstance(found, str):
                problems.append(found)
            else:
                steps += found
        return CustomerPlan(new, tuple(steps), tuple(problems), tuple(notes))

    def _contact_id(self, email: str, customer_id: int) -> int | None:
        for contact in self.client.contacts(email=email):
            if contact.CustomerID == customer_id and key(contact.Email) == key(email):
                return contact.EndUserID or 0
        return None

    def _contract_steps(self, wanted: ContractWanted, amounts: dict[str, Decimal]) -> list[Step] | str:
        """The rate product (when missing) and the contract, or why the template cannot create them."""
        where = f"[mapping.templates] {wanted.metric} (contract {wanted.name!r})"
        sku = wanted.option("rate_sku")
        if not sku:
            return f'{where}: give atera = {{ rate_sku = "…" }}, the SKU of the rate product the contract bills'
        steps: list[Step] = []
        amount = amounts.get(sku.casefold())
        if amount is None:
            if wanted.rate is None:
                return f"{where}: Atera has no rate product {sku!r} and the template gives no rate to create it with"
            amount = wanted.rate
            steps.append(Step("rate", sku, f"{amount} per unit, {wanted.name!r}, category {self.rate_category}"))
        elif wanted.rate is not None and not same_number(amount, wanted.rate):
            return f"{where}: Atera rate product {sku!r} costs {amount}, the template says {wanted.rate}"
        else:
            amount = wanted.rate or amount  # the same number; the template's digits read as the user wrote them
        detail = (
            f"Retainer/flat fee, {wanted.billing_period}, {amount} per unit ({sku}), "
            f"first period {wanted.first_period}, from {wanted.start}"
        )
        steps.append(Step("contract", wanted.name, detail))
        return steps

    # -- creating ----------------------------------------------------------------------------------------------

    def create(self, plan: CustomerPlan, told: Told) -> Created:
        """Create the plan's missing items in order; each is told as soon as Atera confirms it."""
        if plan.problems:
            raise ConfigError(f"{plan.customer.name}: {plan.problems[0]}")
        new = plan.customer

        def make(step: Step, progress: Progress) -> int:
            if step.kind == "contact":
                return self._contact(new, progress.customer_id, told)
            if step.kind == "rate":
                return self._rate(step.name, new, told)
            wanted = next(c for c in new.contracts if c.name == step.name)
            return self._contract(wanted, progress.customer_id, told)

        return run_plan(plan, lambda: self._customer(new, told), make, container="contract")

    def _customer(self, new: NewCustomer, told: Told) -> int:
        # Read again just before: a customer someone made since the plan was shown is not made twice.
        held = [c for c in self.client.customers() if key(c.CustomerName) == key(new.name)]
        if held:
            raise ConfigError(f"Atera has a customer named {new.name!r} since the plan was made: run again")
        body = CreateCustomerRequest(CustomerName=new.name, Notes=NOTE)
        customer_id = self._post("/customers", body)
        told("atera.customer_created", {"customer_id": customer_id, "name": new.name})
        return customer_id

    def _contact(self, new: NewCustomer, customer_id: int, told: Told) -> int:
        contact = new.contact
        assert contact is not None and contact.email
        first, last = _names(contact.name)
        body = CreateContactRequest(Email=contact.email, CustomerID=customer_id, Firstname=first, Lastname=last)
        contact_id = self._post("/contacts", body)
        told("atera.contact_created", {"contact_id": contact_id, "customer_id": customer_id, "email": contact.email})
        return contact_id

    def _rate(self, sku: str, new: NewCustomer, told: Told) -> int:
        wanted = next(c for c in new.contracts if c.option("rate_sku").casefold() == sku.casefold())
        assert wanted.rate is not None  # planned only with a rate
        request = CreateRateRequest(Description=wanted.name, Amount=wanted.rate, SKU=sku, Category=self.rate_category)
        rate_id = self.client.create_rate(request)
        self._rate_ids[sku.casefold()] = rate_id
        told("atera.rate_created", {"rate_id": rate_id, "sku": sku, "amount": str(wanted.rate)})
        return rate_id

    def _contract(self, wanted: ContractWanted, customer_id: int, told: Told) -> int:
        sku = wanted.option("rate_sku")
        rate_id = self._rate_ids.get(sku.casefold())
        if rate_id is None:
            raise DataError(f"atera: rate product {sku!r} was to be created before contract {wanted.name!r}")
        request = CreateContractDto(
            ContractName=wanted.name,
            CustomerID=customer_id,
            ContractType=ContractType.RETAINER_FLAT_FEE,
            StartDate=datetime.combine(wanted.start, time()),
            SLAId=self.sla_id,
            Notes=f"{NOTE} for {wanted.metric}",
            RetainerFlatFeeContract=CreateRetainerFlatFeeContractDto(
                RateID=rate_id, Quantity=Decimal(0), BillingPeriod=BillingPeriod(wanted.billing_period)
            ),
        )
        contract_id = self.client.create_contract(request)
        told(
            "atera.contract_created",
            {
                "contract_id": contract_id,
                "customer_id": customer_id,
                "name": wanted.name,
                "rate_id": rate_id,
                # The engine knows by it that this contract's 0 is the connector's, not a figure anyone billed.
                "psa_ref": psa_ref(contract_id),
            },
        )
        return contract_id

    def _post(self, path: str, body: Request) -> int:
        # The client has no create call for customers and contacts: its one request path and ActionID reading.
        data: Any = self.client._request("POST", path, body=body)
        return self.client._created_id(data, f"POST {path}")


def onboarder(settings: AteraSettings, context: BuildContext) -> AteraOnboarder:
    return AteraOnboarder(
        build_atera_client(settings, context.http), rate_category=settings.rate_category, sla_id=settings.sla_id
    )


def contract_names(settings: AteraSettings, context: BuildContext) -> list[tuple[int, str, str]]:
    """Every active contract as (customer id, customer name, contract name)."""
    client = build_atera_client(settings, context.http)
    try:
        return [
            (c.CustomerID, c.CustomerName or "", c.ContractName or "")
            for c in client.contracts()
            if c.Active and c.ContractName
        ]
    finally:
        client.close()
