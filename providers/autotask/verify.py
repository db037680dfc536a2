"""What Autotask holds for each mapped line: its company, Recurring Service contract and contract service, found in
lists read once, and the service's units in the line's period as the comparison sees them (`HeldContract`).

Autotask keeps no single quantity per service: units are a step over time, changed only by adjustments, and read
per billing period (`ContractServiceUnits`). So what a contract "holds" depends on the period a line bills: `held`
takes the units records that overlap it. Units that change inside the period (a person's adjustment dated after
its first day) are a term the connector cannot express with one figure, and are said so (`rate_problem`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from connector.core.matching import closest, did_you_mean
from mappings.truth import ContractRef, HeldContract, Missing
from providers.autotask.models import Company, Contract, ContractService, ContractServiceUnit, Service
from providers.refs import pair_ref, parse_pair

PSA = "Autotask"
OPTIONS = "[customers.lines.autotask]"
# Autotask's contract type of a Recurring Service contract, the one kind that bills units of services per period.
RECURRING_SERVICE = 7
# A contract's status picklist: 1 is Active (0 Inactive) in every Autotask instance.
ACTIVE = 1
# A service name at least this close (rapidfuzz WRatio, 0-100) to one the contract bills is taken for it misspelt,
# never for a service to add beside it.
CLOSE_NAME = 85


# How a contract service the connector added says so, in its internal description (which Autotask does not invoice):
# a rerun after a crash right after the creation knows its 0 units are no one's figure.
ADDED_MARK = "Added by the backup billing connector"
# Autotask's length of a contract service's internal description (a longer one is refused).
MAX_DESCRIPTION = 100


def psa_ref(contract_id: int, contract_service_id: int) -> str:
    """How the engine, the outbox and the audit name an Autotask contract service."""
    return pair_ref("contract", contract_id, "service", contract_service_id)


def parse_ref(text: str) -> tuple[int, int] | None:
    """(contract id, contract service id) of a `psa_ref`, or None when it names none."""
    return parse_pair(text, "contract", "service")


def day(moment: datetime | None) -> date | None:
    """The day an Autotask date names. Contract and units dates are days typed in Autotask's screens and sent back
    without a zone; the client reads them as UTC, so their date is the day meant, with no conversion."""
    return moment.date() if moment is not None else None


@dataclass(frozen=True)
class Target:
    """Where a mapping says a line's units go: a contract (by id, else by name) and a service in it (by the
    contract service's id, else by the catalogue service's id, name or SKU)."""

    contract_id: int | None
    contract: str
    service: str | None
    service_id: int | None
    contract_service_id: int | None
    create_if_missing: bool

    @classmethod
    def of(cls, ref: ContractRef) -> Target | str:
        """The target a reference names, or why it names none. Without `contract` or `contract_id` in the options,
        the line's own contract (name or id) is the Autotask contract."""
        named = ref.option("contract_id") is not None or ref.option("contract") is not None
        try:
            contract_id = _number(ref.option("contract_id")) if named else ref.contract_id
            service_id = _number(ref.option("service_id"))
            contract_service_id = _number(ref.option("contract_service_id"))
        except ValueError as error:
            return f"{OPTIONS}: {error}"
        service = (ref.option("service") or "").strip() or None
        if service is None and service_id is None and contract_service_id is None:
            return (
                f"{OPTIONS} of {ref.psa_customer!r} / {ref.contract!r} names no service: set service (the name or SKU "
                "of the catalogue service whose units carry the line), service_id or contract_service_id"
            )
        create = (ref.option("create_if_missing") or "").strip().casefold() in ("true", "1", "yes")
        contract = ref.option("contract") or ref.contract
        return cls(contract_id, contract, service, service_id, contract_service_id, create)


def _number(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit():
        raise ValueError(f"{text!r} is not an id")
    return int(text)


@dataclass(frozen=True)
class Located:
    """The company, contract and (unless it is to be added) contract service a reference names, with the catalogue
    service the mapping means."""

    company: Company
    contract: Contract
    contract_service: ContractService | None
    service: Service | None
    target: Target
    # Why the contract service is absent, when it is (the contract lacks the service, so it may be added).
    absent: Missing | None = None


class Companies(tuple[Company, ...]):
    """The companies read, found by id and by name without a pass over all of them per line."""

    by_id: dict[int, Company]
    by_key: dict[str, list[Company]]

    def __new__(cls, companies: Iterable[Company]) -> Companies:
        made = super().__new__(cls, companies)
        made.by_id = {c.id: c for c in made}
        made.by_key = {}
        for company in made:
            made.by_key.setdefault(_key(company.companyName), []).append(company)
        return made


def company_of(ref: ContractRef, companies: Companies) -> Company | str:
    """The mapped company, or why Autotask has none (with what to set)."""
    if ref.psa_customer_id is not None:
        found = companies.by_id.get(ref.psa_customer_id)
        if found is None:
            return f"{PSA} has no company {ref.psa_customer_id}: check psa_customer_id"
        return found
    named = companies.by_key.get(_key(ref.psa_customer), [])
    if len(named) > 1:
        named = [c for c in named if c.isActive is not False] or named
    if len(named) > 1:
        ids = ", ".join(str(c.id) for c in named)
        return f"{PSA} has {len(named)} companies named {ref.psa_customer!r} (IDs {ids}): set psa_customer_id"
    if not named:
        by_name = {c.companyName or "": str(c.id) for c in companies if c.companyName}
        hint = did_you_mean(ref.psa_customer, list(by_name), ids=by_name)
        return f"{PSA} has no company named {ref.psa_customer!r}{hint}: check psa_customer (or set psa_customer_id)"
    return named[0]


def contract_of(
    target: Target,
    company: Company,
    contracts: Mapping[int, Contract],
    by_company: Mapping[int, Sequence[Contract]] | None = None,
) -> Contract | str:
    """The contract a target names, or why there is none. One named by id may be another company's: the comparison
    says so (`customer_matches`). `by_company` lists each company's contracts, when the caller keeps that index (a
    run looks up thousands of lines among thousands of contracts)."""
    where = f"{PSA} company {company.companyName!r} ({company.id})"
    if target.contract_id is not None:
        found = contracts.get(target.contract_id)
        if found is None:
            return f"{PSA} has no contract {target.contract_id} (for {where}): check contract_id"
        return found
    if by_company is not None:
        own = list(by_company.get(company.id, ()))
    else:
        own = [c for c in contracts.values() if c.companyID == company.id]
    named = [c for c in own if _key(c.contractName) == _key(target.contract)]
    if len(named) > 1:
        # A renewed contract often keeps its name beside the old one: the one in force is meant.
        named = [c for c in named if c.status == ACTIVE] or named
    if len(named) > 1:
        ids = ", ".join(str(c.id) for c in named)
        return f"{where} has {len(named)} contracts named {target.contract!r} (IDs {ids}): set contract_id"
    if not named:
        by_name = {c.contractName or "": str(c.id) for c in own if c.contractName}
        hint = did_you_mean(target.contract, list(by_name), ids=by_name)
        return (
            f"{where} has no contract named {target.contract!r}{hint}: create a Recurring Service contract in {PSA}, "
            f"or set contract (or contract_id) in {OPTIONS}"
        )
    return named[0]


def service_of(target: Target, services: Sequence[Service]) -> Service | str | None:
    """The catalogue service a target names (None when it names only a contract service), or why there is none."""
    if target.service_id is not None:
        found = next((s for s in services if s.id == target.service_id), None)
        return found or f"{PSA} has no service {target.service_id} in its catalogue: check service_id"
    if target.service is None:
        return None
    wanted = _key(target.service)
    named = [s for s in services if wanted in (_key(s.name), _key(s.sku))]
    if len(named) > 1:
        named = [s for s in named if s.isActive is not False] or named
    if len(named) > 1:
        ids = ", ".join(str(s.id) for s in named)
        return f"{PSA}'s catalogue has {len(named)} services named {target.service!r} (IDs {ids}): set service_id"
    if not named:
        by_name = {s.name or "": str(s.id) for s in services if s.name}
        hint = did_you_mean(target.service, list(by_name), ids=by_name)
        return f"{PSA}'s catalogue has no service named {target.service!r}{hint}: check service in {OPTIONS}"
    return named[0]


def contract_service_of(
    target: Target,
    contract: Contract,
    service: Service | None,
    held: Sequence[ContractService],
    names: Mapping[int, str],
) -> ContractService | Missing:
    """The contract's service a target names, or what is missing: a service the contract lacks may be added (the
    contract was found), an absent id never is. `names` gives catalogue names by service id, for the hints."""
    where = f"{PSA} contract {contract.contractName!r} ({contract.id})"
    if target.contract_service_id is not None:
        found = next((s for s in held if s.id == target.contract_service_id), None)
        if found is None:
            return Missing(
                f"{where} has no contract service {target.contract_service_id}: check contract_service_id",
                customer_found=False,
            )
        return found
    assert service is not None
    named = [s for s in held if s.serviceID == service.id]
    if len(named) > 1:
        ids = ", ".join(str(s.id) for s in named)
        return Missing(
            f"{where} bills service {service.name!r} {len(named)} times (contract services {ids}): set "
            "contract_service_id",
            customer_found=False,
        )
    if named:
        return named[0]
    billed = {names.get(s.serviceID or 0, str(s.serviceID)): str(s.id) for s in held}
    near = [s.name for s in closest(service.name or "", list(billed), min_score=CLOSE_NAME)]
    if near and target.create_if_missing:
        named_near = " or ".join(f"{n!r} (contract service {billed[n]})" for n in near)
        return Missing(
            f"{where} does not bill service {service.name!r}; did you mean {named_near}? create_if_missing adds no "
            f"service beside one of a close name: fix service, set contract_service_id, or add it in {PSA} yourself",
            customer_found=False,
        )
    hint = did_you_mean(service.name or "", list(billed), ids=billed)
    return Missing(
        f"{where} does not bill service {service.name!r}{hint}: add the service to the contract in {PSA}, or set "
        "create_if_missing = true",
        customer_found=True,
    )


def locate(
    ref: ContractRef,
    companies: Companies,
    contracts: Mapping[int, Contract],
    services: Sequence[Service],
    contract_services: Mapping[int, Sequence[ContractService]],
    by_company: Mapping[int, Sequence[Contract]] | None = None,
) -> Located | Missing:
    """Company, contract and contract service of a reference, from the run's lists (`contract_services` by
    contract id; `by_company`, each company's contracts, when kept)."""
    target = Target.of(ref)
    if isinstance(target, str):
        return Missing(target, customer_found=False)
    company = company_of(ref, companies)
    if isinstance(company, str):
        return Missing(company, customer_found=False)
    contract = contract_of(target, company, contracts, by_company)
    if isinstance(contract, str):
        return Missing(contract, customer_found=False)  # the connector adds services, never contracts
    service = service_of(target, services)
    if isinstance(service, str):
        return Missing(service, customer_found=False)
    names = {s.id: s.name or str(s.id) for s in services}
    found = contract_service_of(target, contract, service, contract_services.get(contract.id, ()), names)
    if isinstance(found, Missing):
        if contract.contractType != RECURRING_SERVICE:
            # Only a Recurring Service contract bills services' units: adding one elsewhere is refused by Autotask.
            return Missing(
                f"{PSA} contract {contract.contractName!r} ({contract.id}) is a type {contract.contractType} "
                "contract, which bills no services' units: map the line to a Recurring Service contract",
                customer_found=False,
            )
        if found.customer_found:
            return Located(company, contract, None, service, target, found)
        return found
    if service is None or service.id != found.serviceID:
        service = next((s for s in services if s.id == found.serviceID), None)
    return Located(company, contract, found, service, target)


def units_in(records: Iterable[ContractServiceUnit], start: date, end: date) -> list[ContractServiceUnit]:
    """The units records of one contract service that overlap the days [start, end], oldest first."""
    overlapping = [
        r
        for r in records
        if (first := day(r.startDate)) is not None and first <= end and (day(r.endDate) or first) >= start
    ]
    return sorted(overlapping, key=lambda r: (r.startDate, r.id))


def held(
    found: Located,
    contract_service: ContractService,
    records: Sequence[ContractServiceUnit],
    start: date,
    end: date,
) -> HeldContract:
    """A contract service as the comparison sees it for the period [start, end]; `records` are its units records
    overlapping the period (none: the service bills no unit yet, so 0)."""
    contract, company = found.contract, found.company
    name = found.service.name if found.service is not None else None
    units = {r.units or 0 for r in records}
    quantity = Decimal(records[-1].units or 0) if records else Decimal(0)
    split = None
    if len(units) > 1:
        parts = ", ".join(f"{r.units or 0} from {day(r.startDate)}" for r in records)
        split = (
            f"bills units that change inside {start} to {end} ({parts}): {PSA} bills each part, the connector sets "
            "one figure for the whole period; undo the adjustment dated inside the period with one of the opposite "
            "change on the same date"
        )
    rate = contract_service.unitPrice
    if rate is None and found.service is not None:
        rate = found.service.unitPrice
    return HeldContract(
        ref=psa_ref(contract.id, contract_service.id),
        name=f"{contract.contractName} / {name or contract_service.serviceID}",
        customer=company.companyName or str(company.id)
        if contract.companyID == company.id
        else f"company {contract.companyID}",
        customer_matches=contract.companyID == company.id,
        flat_fee=contract.contractType == RECURRING_SERVICE,
        kind="Recurring Service" if contract.contractType == RECURRING_SERVICE else f"type {contract.contractType}",
        billing_kind="Recurring Service",
        active=contract.status == ACTIVE,
        start_date=day(contract.startDate),
        end_date=day(contract.endDate),
        rate=rate,
        quantity=quantity,
        inactive_reason=None if contract.status == ACTIVE else "is not active (its status is not Active)",
        rate_problem=split,
        created_by_connector=(contract_service.internalDescription or "").startswith(ADDED_MARK),
    )


def _key(text: str | None) -> str:
    return (text or "").strip().casefold()
