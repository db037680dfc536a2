"""What Atera holds for each mapped contract, resolved from one list of customers and one of contracts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from connector.matching import did_you_mean
from mappings.enums import ContractType
from mappings.truth import ContractRef, Held, HeldContract, Missing
from providers.atera.models import ContractDto, CustomerDto

PSA = "Atera"


def held(contract: ContractDto, customer_id: int | None) -> HeldContract:
    """A contract as the comparison sees it; `customer_id` is the mapped customer's (None: not known)."""
    retainer = contract.RetainerFlatFeeContract
    flat_fee = contract.ContractType is ContractType.RETAINER_FLAT_FEE and retainer is not None
    rate = retainer.Rate.Amount if retainer is not None and retainer.Rate is not None else None
    quantity = retainer.Quantity if retainer is not None else None
    return HeldContract(
        ref=f"contract/{contract.ContractID}",
        name=contract.ContractName or "",
        customer=contract.CustomerName or str(contract.CustomerID),
        customer_matches=customer_id is None or contract.CustomerID == customer_id,
        flat_fee=flat_fee,
        kind=str(contract.ContractType),
        active=contract.Active,
        start_date=contract.StartDate.date() if contract.StartDate else None,
        end_date=contract.EndDate.date() if contract.EndDate else None,
        rate=Decimal(rate) if rate is not None else None,
        quantity=Decimal(quantity) if quantity is not None else None,
    )


def customer_id(ref: ContractRef, customers: Sequence[CustomerDto]) -> int | str:
    """The mapped customer's id, or why Atera has none (with what to set)."""
    if ref.psa_customer_id is not None:
        if any(c.CustomerID == ref.psa_customer_id for c in customers):
            return ref.psa_customer_id
        return f"{PSA} has no customer {ref.psa_customer_id}: check psa_customer_id"
    wanted = _key(ref.psa_customer)
    found = [c for c in customers if _key(c.CustomerName) == wanted]
    if not found:
        by_name = {c.CustomerName: str(c.CustomerID) for c in customers if c.CustomerName}
        hint = did_you_mean(ref.psa_customer, list(by_name), ids=by_name)
        return f"{PSA} has no customer named {ref.psa_customer!r}{hint}: check psa_customer (or set psa_customer_id)"
    if len(found) > 1:
        ids = ", ".join(str(c.CustomerID) for c in found)
        return f"{PSA} has {len(found)} customers named {ref.psa_customer!r} (IDs {ids}): set psa_customer_id"
    return found[0].CustomerID


def resolve(ref: ContractRef, customers: Sequence[CustomerDto], contracts: Sequence[ContractDto]) -> Held:
    """What Atera holds for the contract a mapping names: by contract_id when given, else by name."""
    owner = customer_id(ref, customers)
    if isinstance(owner, str):
        return Missing(owner, customer_found=False)
    where = f"{PSA} customer {ref.psa_customer!r} ({owner})"
    if ref.contract_id is not None:
        by_id = next((c for c in contracts if c.ContractID == ref.contract_id), None)
        if by_id is None:
            return Missing(
                f"{PSA} has no contract {ref.contract_id} (for {where}): check contract_id, or remove it to find "
                "the contract by name",
                customer_found=False,  # an id that names nothing is never created under another id
            )
        return held(by_id, owner)
    wanted = _key(ref.contract)
    named = [c for c in contracts if c.CustomerID == owner and _key(c.ContractName) == wanted]
    if len(named) > 1:
        ids = ", ".join(str(c.ContractID) for c in named)
        return Missing(f"{where} has {len(named)} contracts named {ref.contract!r} (IDs {ids}): set contract_id", False)
    if not named:
        own = [c.ContractName for c in contracts if c.CustomerID == owner and c.ContractName]
        hint = did_you_mean(
            ref.contract, own, ids={c.ContractName: str(c.ContractID) for c in contracts if c.ContractName}
        )
        return Missing(
            f"{where} has no contract named {ref.contract!r}{hint}: create a Retainer/flat-fee contract with that "
            "name, or set create_if_missing = true",
            customer_found=True,
        )
    return held(named[0], owner)


def _key(text: str | None) -> str:
    return (text or "").strip().casefold()
