"""Onboarding in Autotask: a new customer's company, its main contact, its Recurring Service contracts and their
contract services.

`plan` reads what Autotask holds (see `onboard_plan`: companies by name, contacts by e-mail, contracts by name,
contract services by catalogue service) and lists what is missing; `create` makes exactly the plan's missing items,
in order, telling each one as soon as Autotask confirms it, before any other request, so the caller's audit knows it
even if the next create fails. A rerun after a crash between two creates finds what the first made by the same names
and makes only the rest.

A new company is of the companyType labelled `[autotask] company_type` and owned by `owner_resource_id` (Autotask
requires an owner). A new contract is an active Recurring Service contract of the contractPeriodType labelled
`contract_period_type`, starting on the first day of the period its earliest line is first billed for. Each contract
service bills the catalogue service its line names at the line's rate, with no adjustment: its units are 0 until
the first sync sets them. The `autotask.contract_service_created` event carries its `psa_ref`, by which the sync
knows that 0 as the connector's.

Picklist codes differ per database, and a database may require fields of a new company or contract beyond the ones
onboarding fills; both are read from `entityInformation/fields` when a company or contract is to be created. A
required picklist is given its default value; a required company phone, which no vendor tells, a stand-in the plan
shows; any other required field is a problem of the plan, never a refusal halfway through the creates.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connector.core.errors import ConfigError, DataError
from providers.autotask import filters as f
from providers.autotask.client import AutotaskClient
from providers.autotask.connect import build_autotask_client
from providers.autotask.models import Company, Contact, Contract, ContractService, FieldInformation
from providers.autotask.onboard_plan import (
    Held,
    Options,
    Picked,
    Required,
    catalogue_service,
    contract_name,
    contracts_wanted,
    key,
    person_names,
    plan_customer,
    service_step,
)
from providers.autotask.settings import AutotaskSettings
from providers.autotask.verify import ACTIVE, ADDED_MARK, MAX_DESCRIPTION, PSA, RECURRING_SERVICE, psa_ref
from providers.onboarding import Created, CustomerPlan, NewCustomer, Progress, Step, Told, run_plan
from providers.spec import BuildContext

__all__ = ["AutotaskOnboarder", "onboarder"]

# What a new company's phone is when the database requires one: no vendor tells it, and the plan shows it.
UNKNOWN_PHONE = "unknown"
# The fields onboarding fills on a new record (casefolded), whatever the database requires.
COMPANY_FILLED = frozenset({"companyname", "companytype", "ownerresourceid"})
CONTRACT_FILLED = frozenset(
    {"companyid", "contractname", "contracttype", "status", "startdate", "contractperiodtype", "contactid"}
)


def _labels(fields: Sequence[FieldInformation], name: str) -> tuple[str, ...]:
    found = next((x for x in fields if x.name.casefold() == name.casefold()), None)
    values = (found.picklistValues or []) if found is not None else []
    return tuple(v.label or v.value for v in values if v.isActive is not False)


def required(fields: Sequence[FieldInformation], filled: frozenset[str], stand_ins: dict[str, str]) -> Required:
    """What the database requires of a new record beyond `filled`: a picklist's default value, a stand-in, or
    nothing (unfilled: the plan says so)."""
    given: dict[str, Any] = {}
    shown: list[str] = []
    unfilled: list[str] = []
    for found in fields:
        name = found.name
        if not found.isRequired or found.isReadOnly or name.casefold() in filled:
            continue
        default = next(
            (v for v in found.picklistValues or [] if v.isDefaultValue and v.isActive is not False),
            None,
        )
        if found.isPickList and default is not None and default.value.lstrip("-").isdigit():
            given[name] = int(default.value)
            shown.append(f"{name} {default.label or default.value} (its default)")
        elif name.casefold() in stand_ins:
            given[name] = stand_ins[name.casefold()]
            shown.append(f"{name} {given[name]!r} ({PSA} requires one; no vendor tells it: set it in {PSA})")
        else:
            unfilled.append(name)
    return Required(given, tuple(shown), tuple(unfilled))


class AutotaskOnboarder:
    """Plans and creates new customers in one Autotask database; built per `connector map --create-customers` run."""

    def __init__(self, client: AutotaskClient, options: Options) -> None:
        self.client = client
        self.options = options
        self.held = Held()
        self._made_companies: set[int] = set()

    def close(self) -> None:
        self.client.close()

    # -- planning ----------------------------------------------------------------------------------------------

    def plan(self, wanted: Sequence[NewCustomer]) -> list[CustomerPlan]:
        self.held = self._read(wanted)
        return [plan_customer(new, self.held, self.options) for new in wanted]

    def _read(self, wanted: Sequence[NewCustomer]) -> Held:
        """What the plans need, each list read once (see `onboard_plan.Held`)."""
        held = Held()
        names = sorted({n for new in wanted if (n := new.name.strip())}, key=str.casefold)
        held.companies = list(self.client.query_in("Companies", "companyName", names, Company))
        found = [held.named(new.name) for new in wanted]  # in the order of `wanted`
        ids = sorted({c.id for companies in found if len(companies) == 1 for c in companies})
        if ids:
            self._read_companies(held, ids, {key(contract_name(c)) for new in wanted for c in new.contracts})
        if any(new.contracts for new in wanted):
            held.services = list(self.client.services())
        if any(not companies for companies in found):
            held.company_type = self._picked("Companies", "companyType", self.options.company_type)
            fields = self.client.field_definitions("Companies")
            held.company_fields = required(fields, COMPANY_FILLED, {"phone": UNKNOWN_PHONE})
        if any(self._creates_contract(new, companies, held) for new, companies in zip(wanted, found, strict=True)):
            held.period_type = self._picked("Contracts", "contractPeriodType", self.options.contract_period_type)
            held.contract_fields = required(self.client.field_definitions("Contracts"), CONTRACT_FILLED, {})
        return held

    def _read_companies(self, held: Held, company_ids: list[int], names: set[str]) -> None:
        """The companies' contacts and contracts, and the services of those contracts the templates name."""
        for contact in self.client.query_in("Contacts", "companyID", company_ids, Contact):
            held.contacts.setdefault(contact.companyID or 0, []).append(contact)
        named: list[int] = []
        for contract in self.client.query_in("Contracts", "companyID", company_ids, Contract):
            held.contracts.setdefault(contract.companyID or 0, []).append(contract)
            if key(contract.contractName) in names:
                named.append(contract.id)
        for service in self.client.query_in("ContractServices", "contractID", named, ContractService):
            held.contract_services.setdefault(service.contractID or 0, []).append(service)

    def _picked(self, entity: str, field: str, label: str) -> Picked:
        known = _labels(self.client.field_definitions(entity), field)
        return Picked(label, self.client.picklist(entity, field, label), known)

    @staticmethod
    def _creates_contract(new: NewCustomer, companies: list[Company], held: Held) -> bool:
        """Whether the plan may create a contract for this customer (so the contracts' picklists are needed)."""
        if not new.contracts or len(companies) > 1:
            return False
        if not companies:
            return True
        names = {key(c.contractName) for c in held.contracts.get(companies[0].id, [])}
        return any(key(group.name) not in names for group in contracts_wanted(new))

    # -- creating ----------------------------------------------------------------------------------------------

    def create(self, plan: CustomerPlan, told: Told) -> Created:
        """Create the plan's missing items in order; each is told as soon as Autotask confirms it."""
        if plan.problems:
            raise ConfigError(f"{plan.customer.name}: {plan.problems[0]}")
        new = plan.customer

        def make(step: Step, progress: Progress) -> int:
            if step.kind == "contact":
                return self._contact(new, progress.customer_id, told)
            if step.kind == "contract":
                return self._contract(step.name, new, progress.customer_id, progress.contact_id, told)
            return self._contract_service(step, new, progress.containers, told)

        return run_plan(plan, lambda: self._company(new, told), make, container="contract")

    def _company(self, new: NewCustomer, told: Told) -> int:
        held, options = self.held, self.options
        assert held.company_type is not None and held.company_type.code is not None  # planned only with both
        assert options.owner_resource_id is not None
        # Read again just before: a company someone made since the plan was shown is not made twice.
        now = Held(list(self.client.companies([f.eq("companyName", new.name.strip())])))
        if now.named(new.name):
            raise ConfigError(
                f"{PSA} has a company named {new.name!r} since the plan was made: run again to see the plan"
            )
        body: dict[str, Any] = {
            "companyName": new.name.strip(),
            "companyType": held.company_type.code,
            "ownerResourceID": options.owner_resource_id,
            **held.company_fields.given,
        }
        company_id = self.client.create_company(body)
        self._made_companies.add(company_id)
        told(
            "autotask.company_created",
            {
                "company_id": company_id,
                "name": new.name,
                "company_type": held.company_type.label,
                "owner_resource_id": options.owner_resource_id,
            },
        )
        return company_id

    def _contact(self, new: NewCustomer, company_id: int, told: Told) -> int:
        vendor = new.contact
        assert vendor is not None and vendor.email  # planned only with an e-mail
        first, last = person_names(vendor.name, vendor.email)
        body: dict[str, Any] = {"firstName": first, "lastName": last, "emailAddress": vendor.email, "isActive": 1}
        if company_id in self._made_companies:
            body["primaryContact"] = True  # the first contact of a company made now is its primary one
        contact_id = self.client.create_contact(company_id, body)
        told("autotask.contact_created", {"contact_id": contact_id, "company_id": company_id, "email": vendor.email})
        return contact_id

    def _contract(self, name: str, new: NewCustomer, company_id: int, contact_id: int | None, told: Told) -> int:
        group = next(g for g in contracts_wanted(new) if key(g.name) == key(name))
        period = self.held.period_type
        assert period is not None and period.code is not None  # planned only with it
        start = group.first.start
        body: dict[str, Any] = {
            "companyID": company_id,
            "contractName": group.name,
            "contractType": RECURRING_SERVICE,
            "status": ACTIVE,
            "startDate": start,
            "contractPeriodType": period.code,
            **self.held.contract_fields.given,
        }
        if contact_id is not None:
            body["contactID"] = contact_id
        contract_id = self.client.create_contract(body)
        told(
            "autotask.contract_created",
            {
                "contract_id": contract_id,
                "company_id": company_id,
                "name": group.name,
                "period_type": period.label,
                "start": start.isoformat(),
            },
        )
        return contract_id

    def _contract_service(self, step: Step, new: NewCustomer, contracts: dict[str, int], told: Told) -> int:
        group, wanted = next(
            (g, w) for g in contracts_wanted(new) for w in g.lines if service_step(g.name, w) == step.name
        )
        contract_id = contracts.get(key(group.name))
        service = catalogue_service(wanted, self.held.services)
        if contract_id is None or isinstance(service, str):
            raise DataError(f"{PSA}: contract {group.name!r} and its service were to be there first ({step.name})")
        price: Decimal | None = wanted.rate if wanted.rate is not None else service.unitPrice
        # Marked, so that a sync after a crash right after this POST knows the 0 units are no one's figure.
        mark = f"{ADDED_MARK} for {wanted.name} ({wanted.metric})"[:MAX_DESCRIPTION]
        body: dict[str, Any] = {"serviceID": service.id, "internalDescription": mark}
        if price is not None:
            body["unitPrice"] = price
        contract_service_id = self.client.create_contract_service(contract_id, body)
        told(
            "autotask.contract_service_created",
            {
                "contract_id": contract_id,
                "contract_service_id": contract_service_id,
                "service_id": service.id,
                "service": service.name,
                "unit_price": str(price) if price is not None else None,
                "units": "0",
                # The sync knows by it that this contract service's 0 is the connector's, not a figure anyone billed.
                "psa_ref": psa_ref(contract_id, contract_service_id),
            },
        )
        return contract_service_id


def onboarder(settings: AutotaskSettings, context: BuildContext) -> AutotaskOnboarder:
    options = Options(settings.company_type, settings.contract_period_type, settings.owner_resource_id)
    return AutotaskOnboarder(build_autotask_client(settings, context.http), options)
