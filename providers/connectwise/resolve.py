"""`check --online` and `connector map` for ConnectWise: the credentials tested, every mapped company, agreement and
addition looked up among ConnectWise's own (each miss with the nearest name), and the lists `map` matches against."""

from __future__ import annotations

from collections.abc import Sequence

from connector.core.errors import ConnectorError, Status
from connector.core.matching import closest
from mappings.customer import CustomerMapping, LineMapping
from mappings.truth import ContractRef, Missing, psa_options
from providers.connectwise import conditions as cond
from providers.connectwise.client import build_connectwise_client
from providers.connectwise.listing import Listing
from providers.connectwise.settings import ConnectWiseSettings
from providers.connectwise.verify import PSA, Located, Target, agreement_of, company_of, held
from providers.spec import BuildContext, Finding

__all__ = ["contracts", "customers", "probe", "resolve", "resolve_names"]


def probe(settings: ConnectWiseSettings, context: BuildContext) -> list[Finding]:
    """The credentials tested with the least ConnectWise allows: `GET /system/info`."""
    check = "connectwise credentials"
    try:
        with build_connectwise_client(settings, context.http) as client:
            info = client.system_info()
    except ConnectorError as error:
        return [Finding.failed(check, error)]
    return [Finding(check, note=f"ConnectWise {info.version or '(version not given)'}")]


def ref_of(mapping: CustomerMapping, line: LineMapping) -> ContractRef:
    """The reference a mapped line pushes to, as the sync builds it."""
    options = psa_options(line.psa.get("connectwise", {}))
    return ContractRef(mapping.psa_customer, mapping.psa_customer_id, line.contract, line.contract_id, options)


def resolve(settings: ConnectWiseSettings, context: BuildContext, mappings: Sequence[CustomerMapping]) -> list[Finding]:
    """Companies, the mapped agreements and their additions read once each (every page), then every mapping
    resolved against them."""
    refs = [ref_of(m, line) for m in mappings for line in m.lines]
    try:
        with build_connectwise_client(settings, context.http) as client:
            listing = Listing(client)
            listing.companies()
            listing.read(refs)
    except ConnectorError as error:
        return [Finding.failed("connectwise companies, agreements and additions", error)]
    return resolve_names(mappings, listing, settings.custom_field, context.timezone)


def resolve_names(
    mappings: Sequence[CustomerMapping], listing: Listing, custom_field: str, zone: str = "UTC"
) -> list[Finding]:
    """One finding per mapped customer and per mapped line, from what `listing` read (no request is made here)."""
    findings: list[Finding] = []
    companies = listing.companies()
    for mapping in mappings:
        check = f"customer {mapping.psa_customer!r}"
        company = company_of(ContractRef(mapping.psa_customer, mapping.psa_customer_id, "", None), companies)
        if isinstance(company, str):
            near = _nearest(mapping.psa_customer, [c.name for c in companies if not c.deletedFlag])
            findings.append(Finding(check, company, Status.INVALID, near))
        else:
            findings.append(Finding(check))
        for line in mapping.lines:
            where = f"addition {mapping.psa_customer!r} / {line.contract!r}"
            if isinstance(company, str):
                problem = f"not checked: customer {mapping.psa_customer!r} is not found in {PSA}"
                findings.append(Finding(where, problem, Status.INCOMPLETE))
            else:
                findings.append(_line(where, ref_of(mapping, line), listing, custom_field, zone))
    return findings


def _line(check: str, ref: ContractRef, listing: Listing, custom_field: str, zone: str) -> Finding:
    found = listing.locate(ref)
    if isinstance(found, Missing):
        return Finding(check, found.reason, Status.INVALID, _suggestion(ref, listing))
    if found.addition is None:
        assert found.absent is not None
        if found.target.create_if_missing:
            # Not a mismatch: the first push adds it, as the mapping allows; said, so a person sees what will be.
            return Finding(
                check,
                note=f"product {found.target.product} would be added to agreement {found.agreement.name!r} "
                f"({found.agreement.id}) at the first push (create_if_missing)",
            )
        return Finding(check, found.absent.reason, Status.INVALID, _suggestion(ref, listing))
    return _usable(check, found, custom_field, zone)


def _usable(check: str, found: Located, custom_field: str, zone: str) -> Finding:
    """A found addition the connector can push to: it carries the record's field, and ConnectWise bills it."""
    addition = found.addition
    assert addition is not None
    what = f"{PSA} addition {addition.id} of agreement {found.agreement.name!r} ({found.agreement.id})"
    if addition.custom_field(custom_field) is None:
        absent = (
            f"{what} has no custom field {custom_field!r}: create a Text custom field with that caption for "
            "Agreement Additions in ConnectWise (Setup Tables > Custom Fields), or set [connectwise] custom_field"
        )
        return Finding(check, absent, Status.INVALID)
    view = held(found.company, found.agreement, addition, zone)
    for problem in (view.inactive_reason, view.rate_problem):
        if problem is not None:
            return Finding(check, f"{what} {problem}", Status.INVALID)
    return Finding(check, note=f"{view.ref}, quantity {view.quantity}, {view.rate} per unit")


def _suggestion(ref: ContractRef, listing: Listing) -> str | None:
    """The nearest name ConnectWise has where the reference stopped matching: its agreement, else its product."""
    target = Target.of(ref)
    company = company_of(ref, listing.companies())
    if isinstance(target, str) or isinstance(company, str):
        return None
    agreement = agreement_of(target, company, listing.agreements)
    if isinstance(agreement, str):
        return _nearest(target.agreement, [a.name for a in listing.agreements.values() if a.company.id == company.id])
    identifiers = [a.product.identifier or "" for a in listing.additions_of(agreement.id)]
    return _nearest(target.product, identifiers) if target.product else None


def _nearest(name: str, known: Sequence[str]) -> str | None:
    near = closest(name, [k for k in known if k])
    return f"did you mean {near[0].name!r}?" if near else None


def customers(settings: ConnectWiseSettings, context: BuildContext) -> list[tuple[int, str]]:
    """Every ConnectWise company (not deleted) as (id, name), for `connector map`."""
    with build_connectwise_client(settings, context.http) as client:
        return [(c.id, c.name) for c in client.companies() if not c.deletedFlag]


def contracts(settings: ConnectWiseSettings, context: BuildContext) -> list[tuple[int, str, str]]:
    """Every active agreement as (company id, company name, agreement name), for `connector map`."""
    with build_connectwise_client(settings, context.http) as client:
        return [
            (a.company.id, a.company.name or str(a.company.id), a.name)
            for a in client.agreements(cond.equals("cancelledFlag", False))
            if a.status == "Active" and a.company.id is not None
        ]
