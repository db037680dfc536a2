"""`check --online` and `connector map` for Autotask: the credentials tested, every mapped company, contract and
contract service looked up among Autotask's own (each miss with the nearest name), and the lists `map` matches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from connector.core.errors import ConnectorError, Status
from connector.core.matching import closest
from mappings.customer import CustomerMapping, LineMapping
from mappings.enums import BillingPeriod
from mappings.periods import period_containing
from mappings.truth import ContractRef, Missing, psa_options
from providers.autotask import filters as f
from providers.autotask.connect import build_autotask_client
from providers.autotask.listing import Listing
from providers.autotask.settings import AutotaskSettings
from providers.autotask.verify import (
    ACTIVE,
    PSA,
    RECURRING_SERVICE,
    Target,
    company_of,
    contract_of,
    held,
    service_of,
)
from providers.spec import BuildContext, Finding

__all__ = ["contracts", "customers", "probe", "resolve"]


def probe(settings: AutotaskSettings, context: BuildContext) -> list[Finding]:
    """The credentials tested with the least Autotask allows: the zone asked, then the request threshold read (which
    also says how much of the hour's budget other integrations have taken)."""
    check = "autotask credentials"
    try:
        with build_autotask_client(settings, context.http) as client:
            threshold = client.threshold()
    except ConnectorError as error:
        return [Finding.failed(check, error)]
    used = f"{threshold.currentTimeframeRequestCount:,} of {threshold.externalRequestThreshold:,}"
    return [Finding(check, note=f"{used} requests used this hour on the database")]


def ref_of(mapping: CustomerMapping, line: LineMapping) -> ContractRef:
    """The reference a mapped line pushes to, as the sync builds it."""
    options = psa_options(line.psa.get("autotask", {}))
    return ContractRef(mapping.psa_customer, mapping.psa_customer_id, line.contract, line.contract_id, options)


def resolve(settings: AutotaskSettings, context: BuildContext, mappings: Sequence[CustomerMapping]) -> list[Finding]:
    """Companies, catalogue, the mapped contracts, their services and units read once each, then every mapping
    resolved against them."""
    refs = [ref_of(m, line) for m in mappings for line in m.lines]
    try:
        with build_autotask_client(settings, context.http) as client:
            listing = Listing(client, _today(context))
            listing.read(refs)
            return _findings(mappings, listing, context)
    except ConnectorError as error:
        return [Finding.failed("autotask companies, contracts and services", error)]


def _findings(mappings: Sequence[CustomerMapping], listing: Listing, context: BuildContext) -> list[Finding]:
    findings: list[Finding] = []
    companies = listing.companies()
    month = period_containing(BillingPeriod.MONTHLY, _today(context))
    for mapping in mappings:
        check = f"customer {mapping.psa_customer!r}"
        company = company_of(ContractRef(mapping.psa_customer, mapping.psa_customer_id, "", None), companies)
        if isinstance(company, str):
            near = _nearest(mapping.psa_customer, [c.companyName or "" for c in companies])
            findings.append(Finding(check, company, Status.INVALID, near))
        else:
            findings.append(Finding(check))
        for line in mapping.lines:
            where = f"service {mapping.psa_customer!r} / {line.contract!r}"
            if isinstance(company, str):
                problem = f"not checked: customer {mapping.psa_customer!r} is not found in {PSA}"
                findings.append(Finding(where, problem, Status.INCOMPLETE))
                continue
            findings.append(_line(where, ref_of(mapping, line), listing, month.start, month.end))
    return findings


def _today(context: BuildContext) -> date:
    """Today in the MSP's billing zone, as the sink sees it: the month whose units the check shows."""
    return context.now().astimezone(ZoneInfo(context.timezone)).date()


def _line(check: str, ref: ContractRef, listing: Listing, start: date, end: date) -> Finding:
    found = listing.locate(ref)
    if isinstance(found, Missing):
        return Finding(check, found.reason, Status.INVALID, _suggestion(ref, listing))
    service = found.contract_service
    if service is None:
        assert found.absent is not None
        if found.target.create_if_missing and found.service is not None:
            return Finding(
                check,
                note=f"service {found.service.name!r} would be added to contract {found.contract.contractName!r} "
                f"({found.contract.id}) at the first push (create_if_missing)",
            )
        return Finding(check, found.absent.reason, Status.INVALID, _suggestion(ref, listing))
    view = held(found, service, listing.units_in(service.id, start, end), start, end)
    what = f"{PSA} contract {found.contract.contractName!r} ({found.contract.id})"
    if not view.flat_fee:
        problem = f"{what} is a {view.kind} contract: map the line to a Recurring Service contract"
        return Finding(check, problem, Status.INVALID)
    for found_problem in (view.inactive_reason, view.rate_problem):
        if found_problem is not None:
            return Finding(check, f"{what} {found_problem}", Status.INVALID)
    return Finding(check, note=f"{view.ref}, {view.quantity} units this month, {view.rate} per unit")


def _suggestion(ref: ContractRef, listing: Listing) -> str | None:
    """The nearest name Autotask has where the reference stopped matching: the company's contract, else the
    catalogue's service (its name or SKU), else a service the contract bills."""
    target = Target.of(ref)
    company = company_of(ref, listing.companies())
    if isinstance(target, str) or isinstance(company, str):
        return None
    contract = contract_of(target, company, listing.contracts)
    if isinstance(contract, str):
        own = [c.contractName or "" for c in listing.contracts.values() if c.companyID == company.id]
        return _nearest(target.contract, own) if target.contract_id is None else None
    if target.service is None:
        return None
    services = listing.services()
    service = service_of(target, services)
    if isinstance(service, str):
        return _nearest(target.service, [k for s in services for k in (s.name or "", s.sku or "")])
    if service is None:
        return None
    names = {s.id: s.name or "" for s in services}
    billed = [names.get(s.serviceID or 0, "") for s in listing.contract_services.get(contract.id, {}).values()]
    return _nearest(service.name or "", [b for b in billed if b != service.name])


def _nearest(name: str, known: Sequence[str]) -> str | None:
    near = closest(name, [k for k in known if k])
    return f"did you mean {near[0].name!r}?" if near else None


def customers(settings: AutotaskSettings, context: BuildContext) -> list[tuple[int, str]]:
    """Every active Autotask company as (id, name), for `connector map`."""
    with build_autotask_client(settings, context.http) as client:
        return [(c.id, c.companyName or str(c.id)) for c in client.companies() if c.isActive is not False]


def contracts(settings: AutotaskSettings, context: BuildContext) -> list[tuple[int, str, str]]:
    """Every active Recurring Service contract as (company id, company name, contract name), for `connector map`."""
    with build_autotask_client(settings, context.http) as client:
        names = {c.id: c.companyName or str(c.id) for c in client.companies()}
        recurring = [f.eq("contractType", RECURRING_SERVICE), f.eq("status", ACTIVE)]
        return [
            (c.companyID, names.get(c.companyID, str(c.companyID)), c.contractName or str(c.id))
            for c in client.contracts(recurring)
            if c.companyID is not None
        ]
