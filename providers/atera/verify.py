"""What Atera holds for each mapped contract, resolved from one list of customers and one of contracts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from connector.core.matching import closest, did_you_mean
from mappings.enums import ContractType
from mappings.truth import ContractRef, Held, HeldContract, Missing
from providers.atera.dates import day_in
from providers.atera.models import ContractDto, CustomerDto

PSA = "Atera"
# A name at least this close (rapidfuzz WRatio, 0-100) to a Retainer contract the customer has is taken for that
# contract misspelt ("Server backup per GB" for "Server backup (per GB)"), never for a new one to create beside it.
CLOSE_NAME = 85


def key(text: str | None) -> str:
    """A name as Atera's names are matched: case and surrounding spaces do not make another name."""
    return (text or "").strip().casefold()


def psa_ref(contract_id: int) -> str:
    """How the engine, the outbox and the audit name an Atera contract."""
    return f"contract/{contract_id}"


def held(contract: ContractDto, customer_id: int | None, zone: str = "UTC") -> HeldContract:
    """A contract as the comparison sees it; `customer_id` is the mapped customer's (None: not known). Its dates are
    days of `zone`, the MSP's billing zone, as the periods they are compared with."""
    retainer = contract.RetainerFlatFeeContract
    flat_fee = contract.ContractType is ContractType.RETAINER_FLAT_FEE and retainer is not None
    rate = retainer.Rate.Amount if retainer is not None and retainer.Rate is not None else None
    quantity = retainer.Quantity if retainer is not None else None
    return HeldContract(
        ref=psa_ref(contract.ContractID),
        name=contract.ContractName or "",
        customer=contract.CustomerName or str(contract.CustomerID),
        customer_matches=customer_id is None or contract.CustomerID == customer_id,
        flat_fee=flat_fee,
        kind=str(contract.ContractType),
        active=contract.Active,
        start_date=day_in(contract.StartDate, zone) if contract.StartDate else None,
        end_date=day_in(contract.EndDate, zone) if contract.EndDate else None,
        rate=Decimal(rate) if rate is not None else None,
        quantity=Decimal(quantity) if quantity is not None else None,
    )


def customer_id(ref: ContractRef, customers: Sequence[CustomerDto]) -> int | str:
    """The mapped customer's id, or why Atera has none (with what to set)."""
    if ref.psa_customer_id is not None:
        if any(c.CustomerID == ref.psa_customer_id for c in customers):
            return ref.psa_customer_id
        return f"{PSA} has no customer {ref.psa_customer_id}: check psa_customer_id"
    wanted = key(ref.psa_customer)
    found = [c for c in customers if key(c.CustomerName) == wanted]
    if not found:
        by_name = {c.CustomerName: str(c.CustomerID) for c in customers if c.CustomerName}
        hint = did_you_mean(ref.psa_customer, list(by_name), ids=by_name)
        return f"{PSA} has no customer named {ref.psa_customer!r}{hint}: check psa_customer (or set psa_customer_id)"
    if len(found) > 1:
        ids = ", ".join(str(c.CustomerID) for c in found)
        return f"{PSA} has {len(found)} customers named {ref.psa_customer!r} (IDs {ids}): set psa_customer_id"
    return found[0].CustomerID


def resolve(
    ref: ContractRef, customers: Sequence[CustomerDto], contracts: Sequence[ContractDto], zone: str = "UTC"
) -> Held:
    """What Atera holds for the contract a mapping names: by contract_id when given, else by name (its dates in the
    MSP's billing `zone`)."""
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
        return held(by_id, owner, zone)
    wanted = key(ref.contract)
    named = [c for c in contracts if c.CustomerID == owner and key(c.ContractName) == wanted]
    if len(named) > 1:
        ids = ", ".join(str(c.ContractID) for c in named)
        return Missing(f"{where} has {len(named)} contracts named {ref.contract!r} (IDs {ids}): set contract_id", False)
    if not named:
        own = [c for c in contracts if c.CustomerID == owner]
        held_back = creation_held(where, ref.contract, None, own)
        if held_back is not None:
            # A close name is taken for a typo of it: never a contract to create beside it.
            return Missing(held_back, customer_found=False)
        by_name = {c.ContractName: str(c.ContractID) for c in own if c.ContractName}
        hint = did_you_mean(ref.contract, list(by_name), ids=by_name)
        return Missing(
            f"{where} has no contract named {ref.contract!r}{hint}: create a Retainer/flat-fee contract with that "
            "name, or set create_if_missing = true",
            customer_found=True,
        )
    return held(named[0], owner, zone)


def beside(name: str, sku: str | None, own: Sequence[ContractDto]) -> list[ContractDto]:
    """The customer's Retainer contracts that a contract `name` on rate product `sku` (None: not known) would be
    created beside: one on the same rate product, or with a name this close (a typo, another spelling of it)."""
    retainers = [c for c in own if c.ContractType is ContractType.RETAINER_FLAT_FEE and c.ContractName]
    close = {s.name for s in closest(name, [c.ContractName or "" for c in retainers], min_score=CLOSE_NAME)}
    return [c for c in retainers if c.ContractName in close or _on(c, sku)]


def creation_held(where: str, name: str, sku: str | None, own: Sequence[ContractDto]) -> str | None:
    """Why `create_if_missing` must not create contract `name` for a customer with contracts `own`, with a "did
    you mean", or None when nothing close exists."""
    near = beside(name, sku, own)
    if not near:
        return None
    return (
        f"{where} has no contract named {name!r}; {did_you_mean_contract(near)} create_if_missing creates no "
        f"contract beside a Retainer contract {_why(near, sku)}: fix the contract name, set contract_id, or create "
        "the contract in Atera yourself"
    )


def did_you_mean_contract(near: Sequence[ContractDto]) -> str:
    """`did you mean 'Server backup (per GB)' (id 101)?`, for the contracts a name is close to."""
    return f"did you mean {' or '.join(f'{c.ContractName!r} (id {c.ContractID})' for c in near)}?"


def _why(near: Sequence[ContractDto], sku: str | None) -> str:
    if any(_on(c, sku) for c in near):
        return f"on the same rate product {sku} or with a close name"
    return "with a close name"


def _on(contract: ContractDto, sku: str | None) -> bool:
    """Whether the contract bills rate product `sku` (rate products are found by SKU, as the sink finds them)."""
    retainer = contract.RetainerFlatFeeContract
    held_sku = retainer.Rate.SKU if retainer is not None and retainer.Rate is not None else None
    return bool(sku) and key(held_sku) == key(sku)
