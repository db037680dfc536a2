"""Every mapped customer and contract looked up among Atera's own, each miss named with the nearest Atera name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz, process, utils

from connector.core.errors import ConnectorError, Status
from mappings.customer import CustomerMapping, LineMapping
from providers.atera.models import ContractDto, CustomerDto
from providers.atera.settings import AteraSettings
from providers.atera.source import AteraReader
from providers.atera.verify import beside, creation_held, did_you_mean_contract, key
from providers.spec import BuildContext, Finding

__all__ = ["did_you_mean", "probe", "resolve", "resolve_names"]

# Below this WRatio score a "did you mean" would mislead more than it helps.
SUGGEST_CUTOFF = 70


def did_you_mean(wanted: str, known: Iterable[tuple[int, str]]) -> str | None:
    """`did you mean 'Northwind Traders' (id 3)?` for the closest of Atera's (id, name) pairs, if one is close."""
    names = {ident: name for ident, name in known if name}
    best = process.extractOne(
        wanted, names, scorer=fuzz.WRatio, processor=utils.default_process, score_cutoff=SUGGEST_CUTOFF
    )
    if best is None:
        return None
    name, _, ident = best
    return f"did you mean {name!r} (id {ident})?"


def _miss(check: str, problem: str, suggestion: str | None) -> Finding:
    return Finding(check, problem + (f"; {suggestion}" if suggestion else ""), Status.INVALID, suggestion)


def _customer(mapping: CustomerMapping, customers: Sequence[CustomerDto]) -> tuple[Finding, int | None]:
    check = f"customer {mapping.psa_customer!r}"
    known = [(c.CustomerID, c.CustomerName) for c in customers]
    if mapping.psa_customer_id is not None:
        if any(c.CustomerID == mapping.psa_customer_id for c in customers):
            return Finding(check), mapping.psa_customer_id
        problem = f"Atera has no customer with id {mapping.psa_customer_id}: check psa_customer_id"
        return _miss(check, problem, did_you_mean(mapping.psa_customer, known)), None
    found = [c for c in customers if key(c.CustomerName) == key(mapping.psa_customer)]
    if len(found) > 1:
        ids = ", ".join(str(c.CustomerID) for c in found)
        problem = f"Atera has {len(found)} customers named {mapping.psa_customer!r} (IDs {ids}): set psa_customer_id"
        return Finding(check, problem, Status.INVALID), None
    if not found:
        problem = f"Atera has no customer named {mapping.psa_customer!r}: check psa_customer (or set psa_customer_id)"
        return _miss(check, problem, did_you_mean(mapping.psa_customer, known)), None
    return Finding(check), found[0].CustomerID


def _contract(
    mapping: CustomerMapping, line: LineMapping, customer_id: int, contracts: Sequence[ContractDto]
) -> Finding:
    check = f"contract {mapping.psa_customer!r} / {line.contract!r}"
    own = [c for c in contracts if c.CustomerID == customer_id]
    known = [(c.ContractID, c.ContractName or "") for c in own]
    if line.contract_id is not None:
        held = next((c for c in contracts if c.ContractID == line.contract_id), None)
        if held is None:
            problem = f"Atera has no contract {line.contract_id}: check contract_id, or remove it to find it by name"
            return _miss(check, problem, did_you_mean(line.contract, known))
        if held.CustomerID != customer_id:
            problem = f"Atera contract {line.contract_id} belongs to customer {held.CustomerID}, not {customer_id}"
            return _miss(check, problem + ": check contract_id", did_you_mean(line.contract, known))
        return Finding(check)
    named = [c for c in own if key(c.ContractName) == key(line.contract)]
    if len(named) > 1:
        ids = ", ".join(str(c.ContractID) for c in named)
        return Finding(check, f"{len(named)} contracts have this name (IDs {ids}): set contract_id", Status.INVALID)
    if named:
        return Finding(check)
    options = line.psa.get("atera", {})
    if options.get("create_if_missing"):
        sku = str(options["rate_sku"]) if options.get("rate_sku") else None
        where = f"Atera customer {mapping.psa_customer!r} ({customer_id})"
        held_back = creation_held(where, line.contract, sku, own)
        if held_back is not None:
            # The push would hold it too: a close name is a typo, not a contract to create beside it.
            return Finding(check, held_back, Status.INVALID, did_you_mean_contract(beside(line.contract, sku, own)))
        # Not a mismatch: the first push creates it, as the mapping allows; said, so a person sees what will be.
        on = f", on rate product {sku}" if sku else ""
        return Finding(check, note=f"would be created at the first push (create_if_missing){on}")
    problem = (
        f"Atera customer {mapping.psa_customer!r} ({customer_id}) has no contract named {line.contract!r}: fix the "
        "name, set contract_id, "
        "or set create_if_missing = true"
    )
    return _miss(check, problem, did_you_mean(line.contract, known))


def resolve_names(
    mappings: Sequence[CustomerMapping], customers: Sequence[CustomerDto], contracts: Sequence[ContractDto]
) -> list[Finding]:
    """One finding per mapped customer and per mapped contract, from lists read once (no request is made here)."""
    findings: list[Finding] = []
    for mapping in mappings:
        found, customer_id = _customer(mapping, customers)
        findings.append(found)
        for line in mapping.lines:
            if customer_id is None:
                check = f"contract {mapping.psa_customer!r} / {line.contract!r}"
                # Its customer's finding already fails the check; this line cannot be verified until that is fixed.
                problem = f"not checked: customer {mapping.psa_customer!r} is not found in Atera"
                findings.append(Finding(check, problem, Status.INCOMPLETE))
            else:
                findings.append(_contract(mapping, line, customer_id, contracts))
    return findings


def probe(settings: AteraSettings, context: BuildContext) -> list[Finding]:
    """The API key tested with one page of customers."""
    check = "atera credentials"
    try:
        reader = AteraReader.from_settings(settings, context.http)
        try:
            next(iter(reader.client.customers()), None)
        finally:
            reader.close()
    except ConnectorError as error:
        return [Finding.failed(check, error)]
    return [Finding(check)]


def resolve(settings: AteraSettings, context: BuildContext, mappings: Sequence[CustomerMapping]) -> list[Finding]:
    """Atera's customers and contracts read once each (every page), then every mapping resolved against them."""
    try:
        reader = AteraReader.from_settings(settings, context.http)
        try:
            customers, contracts = reader.customers(), reader.contract_dtos()
        finally:
            reader.close()
    except ConnectorError as error:
        return [Finding.failed("atera customers and contracts", error)]
    return resolve_names(mappings, customers, contracts)
