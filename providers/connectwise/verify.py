"""What ConnectWise holds for each mapped line: its company, agreement and addition, found in lists read once, and
the addition as the comparison sees it (`HeldContract`), with ConnectWise's own reasons it would bill otherwise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from connector.core.matching import closest, did_you_mean
from mappings.truth import ContractRef, Held, HeldContract, Missing
from providers.connectwise.dates import day_in
from providers.connectwise.models import Addition, Agreement, Company
from providers.refs import pair_ref, parse_pair

PSA = "ConnectWise"
OPTIONS = "[customers.lines.connectwise]"
# A product identifier at least this close (rapidfuzz WRatio, 0-100) to one the agreement bills is taken for it
# misspelt ("BKP-SERVR-GB" for "BKP-SERVER-GB"), never for a product to add beside it.
CLOSE_NAME = 85


def psa_ref(agreement_id: int, addition_id: int) -> str:
    """How the engine, the outbox and the audit name a ConnectWise addition."""
    return pair_ref("agreement", agreement_id, "addition", addition_id)


def parse_ref(text: str) -> tuple[int, int] | None:
    """(agreement id, addition id) of a `psa_ref`, or None when it names none."""
    return parse_pair(text, "agreement", "addition")


@dataclass(frozen=True)
class Target:
    """Where a mapping says a line's quantity goes: an agreement (by id, else by name) and an addition in it (by id,
    else by the catalog item identifier of its product)."""

    agreement_id: int | None
    agreement: str
    product: str | None
    addition_id: int | None
    create_if_missing: bool

    @classmethod
    def of(cls, ref: ContractRef) -> Target | str:
        """The target a reference names, or why it names none. The options come as text (`ContractRef.option`).

        Without `agreement` or `agreement_id` the line's own contract (name or id) is the agreement; with either,
        the line's `contract_id` is not used (it would name another thing than the agreement given)."""
        named = ref.option("agreement_id") is not None or ref.option("agreement") is not None
        try:
            agreement_id = _number(ref.option("agreement_id")) if named else ref.contract_id
            addition_id = _number(ref.option("addition_id"))
        except ValueError as error:
            return f"{OPTIONS}: {error}"
        product = (ref.option("product") or "").strip() or None
        if product is None and addition_id is None:
            return (
                f"{OPTIONS} of {ref.psa_customer!r} / {ref.contract!r} names no addition: set product (the catalog "
                "item identifier of the agreement addition) or addition_id"
            )
        create = (ref.option("create_if_missing") or "").strip().casefold() in ("true", "1", "yes")
        return cls(agreement_id, ref.option("agreement") or ref.contract, product, addition_id, create)


def _number(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit():
        raise ValueError(f"{text!r} is not an id")
    return int(text)


@dataclass(frozen=True)
class Located:
    """The company, agreement and (unless it is to be created) addition a reference names."""

    company: Company
    agreement: Agreement
    addition: Addition | None
    target: Target
    # Why the addition is absent, when it is (the agreement lacks the product, so it may be created).
    absent: Missing | None = None


class Companies(tuple[Company, ...]):
    """The companies read, found by id and by name without a pass over all of them for each line (a run looks up
    every mapped line's company: thousands of lines times thousands of companies)."""

    by_id: dict[int, Company]
    by_key: dict[str, list[Company]]

    def __new__(cls, companies: Iterable[Company]) -> Companies:
        made = super().__new__(cls, companies)
        made.by_id = {c.id: c for c in made}
        made.by_key = {}
        for company in made:
            if not company.deletedFlag:
                made.by_key.setdefault(key(company.name), []).append(company)
        return made


def company_of(ref: ContractRef, companies: Sequence[Company]) -> Company | str:
    """The mapped company, or why ConnectWise has none (with what to set)."""
    index = companies if isinstance(companies, Companies) else Companies(companies)
    if ref.psa_customer_id is not None:
        found = index.by_id.get(ref.psa_customer_id)
        if found is None:
            return f"{PSA} has no company {ref.psa_customer_id}: check psa_customer_id"
        if found.deletedFlag:
            return f"{PSA} company {found.name!r} ({found.id}) is deleted: check psa_customer_id"
        return found
    named = index.by_key.get(key(ref.psa_customer), [])
    if len(named) > 1:
        ids = ", ".join(str(c.id) for c in named)
        return f"{PSA} has {len(named)} companies named {ref.psa_customer!r} (IDs {ids}): set psa_customer_id"
    if not named:
        by_name = {c.name: str(c.id) for c in index if not c.deletedFlag}
        hint = did_you_mean(ref.psa_customer, list(by_name), ids=by_name)
        return f"{PSA} has no company named {ref.psa_customer!r}{hint}: check psa_customer (or set psa_customer_id)"
    return named[0]


def agreement_of(target: Target, company: Company, agreements: Mapping[int, Agreement]) -> Agreement | str:
    """The agreement a target names, or why there is none. One named by id may belong to another company: the
    comparison says so (`customer_matches`)."""
    where = f"{PSA} company {company.name!r} ({company.id})"
    if target.agreement_id is not None:
        found = agreements.get(target.agreement_id)
        if found is None:
            return f"{PSA} has no agreement {target.agreement_id} (for {where}): check agreement_id (or contract_id)"
        return found
    own = [a for a in agreements.values() if a.company.id == company.id]
    named = [a for a in own if key(a.name) == key(target.agreement)]
    if len(named) > 1:
        # A renewed agreement often keeps its name beside the cancelled one: the one in force is meant.
        named = [a for a in named if a.status == "Active"] or named
    if len(named) > 1:
        ids = ", ".join(str(a.id) for a in named)
        return f"{where} has {len(named)} agreements named {target.agreement!r} (IDs {ids}): set agreement_id"
    if not named:
        by_name = {a.name: str(a.id) for a in own}
        hint = did_you_mean(target.agreement, list(by_name), ids=by_name)
        return (
            f"{where} has no agreement named {target.agreement!r}{hint}: create it in {PSA}, or set agreement "
            f"(or agreement_id) in {OPTIONS}"
        )
    return named[0]


def addition_of(target: Target, agreement: Agreement, additions: Sequence[Addition]) -> Addition | Missing:
    """The addition a target names in its agreement, or what is missing: an absent product may be created (the
    agreement was found), an absent id or an ambiguous product never is."""
    where = f"{PSA} agreement {agreement.name!r} ({agreement.id})"
    if target.addition_id is not None:
        found = next((a for a in additions if a.id == target.addition_id), None)
        if found is None:
            return Missing(f"{where} has no addition {target.addition_id}: check addition_id", customer_found=False)
        return found
    assert target.product is not None
    named = of_product(additions, target.product)
    if len(named) > 1:
        ids = ", ".join(str(a.id) for a in named)
        return Missing(
            f"{where} has {len(named)} additions of product {target.product!r} (IDs {ids}): set addition_id",
            customer_found=False,
        )
    if not named:
        products = {a.product.identifier: str(a.id) for a in additions if a.product.identifier}
        near = [s.name for s in closest(target.product, list(products), min_score=CLOSE_NAME)]
        if near and target.create_if_missing:
            # A close identifier is a typo of a product the agreement bills: never an addition to create beside it.
            named_near = " or ".join(f"{n!r} (addition {products[n]})" for n in near)
            return Missing(
                f"{where} has no addition of product {target.product!r}; did you mean {named_near}? "
                "create_if_missing adds no addition beside one of a close product: fix product, set addition_id, "
                f"or add the product to the agreement in {PSA} yourself",
                customer_found=False,
            )
        hint = did_you_mean(target.product, list(products), ids=products)
        return Missing(
            f"{where} has no addition of product {target.product!r}{hint}: add the product to the agreement in {PSA}, "
            "or set create_if_missing = true",
            customer_found=True,
        )
    return named[0]


def locate(
    ref: ContractRef,
    companies: Sequence[Company],
    agreements: Mapping[int, Agreement],
    additions: Mapping[int, Sequence[Addition]],
) -> Located | Missing:
    """Company, agreement and addition of a reference, from the run's lists (`additions` by agreement id)."""
    target = Target.of(ref)
    if isinstance(target, str):
        return Missing(target, customer_found=False)
    company = company_of(ref, companies)
    if isinstance(company, str):
        return Missing(company, customer_found=False)
    agreement = agreement_of(target, company, agreements)
    if isinstance(agreement, str):
        return Missing(agreement, customer_found=False)  # the connector adds additions, never agreements
    addition = addition_of(target, agreement, additions.get(agreement.id, ()))
    if isinstance(addition, Missing):
        if addition.customer_found:
            return Located(company, agreement, None, target, addition)
        return addition
    return Located(company, agreement, addition, target)


def held(
    company: Company, agreement: Agreement, addition: Addition, zone: str = "UTC", today: date | None = None
) -> HeldContract:
    """An addition as the comparison sees it; `company` is the mapped one. Its dates are days of `zone`, the MSP's
    billing zone; `today` (in that zone) decides whether a cancellation has taken effect."""
    cancelled = day_in(addition.cancelledDate, zone) if addition.cancelledDate is not None else None
    start = [day_in(d, zone) for d in (agreement.startDate, addition.effectiveDate) if d is not None]
    ends = [] if agreement.noEndingDateFlag or agreement.endDate is None else [day_in(agreement.endDate, zone)]
    if cancelled is not None:
        ends.append(cancelled)
    less = addition.lessIncluded or 0
    return HeldContract(
        ref=psa_ref(agreement.id, addition.id),
        name=f"{agreement.name} / {addition.product.identifier or addition.product.id}",
        customer=agreement.company.name or str(agreement.company.id),
        customer_matches=agreement.company.id == company.id,
        flat_fee=True,
        kind="agreement addition",
        active=_inactive(agreement, addition, cancelled, today) is None,
        start_date=max(start) if start else None,
        end_date=min(ends) if ends else None,
        rate=addition.unitPrice,
        quantity=addition.quantity,
        inactive_reason=_inactive(agreement, addition, cancelled, today),
        rate_problem=(
            f"includes {less} units at no charge (Less Included): {PSA} bills the quantity minus {less}, not the "
            "quantity pushed; set Less Included to 0 on the addition"
            if less
            else None
        ),
    )


def held_of(found: Located | Missing, zone: str, today: date | None) -> Held:
    """What the comparison sees of a located reference (the addition, or why it is missing)."""
    if isinstance(found, Missing):
        return found
    if found.addition is None:
        return found.absent or Missing(f"{PSA} agreement {found.agreement.id} has no such addition", False)
    return held(found.company, found.agreement, found.addition, zone, today)


def _inactive(agreement: Agreement, addition: Addition, cancelled: date | None, today: date | None) -> str | None:
    """Why ConnectWise does not bill the addition (the first reason), or None when it does."""
    # The addition names its agreement's status as of its own read (the fresher, just before a write); the
    # agreement's, as the run listed it. Either one not Active: ConnectWise does not invoice the addition.
    status = next((s for s in (addition.agreementStatus, agreement.status) if s not in (None, "Active")), None)
    if status is not None:
        return f"belongs to agreement {agreement.name!r} ({agreement.id}), which is {status}"
    if cancelled is not None and (today is None or cancelled <= today):
        return f"was cancelled on {cancelled.isoformat()}"
    if addition.billCustomer != "Billable":
        setting = addition.billCustomer or "no Bill Customer value"
        return f"is set to {setting} ({PSA} does not bill it)"
    return None


def key(text: str | None) -> str:
    """A name as ConnectWise compares it: case and surrounding spaces ignored."""
    return (text or "").strip().casefold()


def of_product(additions: Sequence[Addition], product: str) -> list[Addition]:
    """The additions of a product; of several, those not cancelled (when any is)."""
    named = [a for a in additions if key(a.product.identifier) == key(product)]
    if len(named) > 1:
        named = [a for a in named if a.cancelledDate is None] or named
    return named
