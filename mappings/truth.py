"""The PSA is the truth: what a mapped contract holds, compared with what the connector pushed and computes now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from mappings.lines import Line, Outcome

# The outcomes that mean the PSA would invoice other money than the connector computed: never "unchanged".
DIFFERENCES = (
    Outcome.CONTRACT_MISSING,
    Outcome.CONTRACT_INACTIVE,
    Outcome.CONTRACT_ENDED,
    Outcome.RATE_DIFFERS,
    Outcome.EDITED,
)


class ContractRef(NamedTuple):
    """How a mapping names a PSA contract: by customer and contract name, or by ids, which win; with the PSA's own
    options for the line (`[customers.lines.<psa>]`), which may say where in the PSA it lives (an agreement
    and a product), as sorted (key, text) pairs so that a reference stays hashable."""

    psa_customer: str
    psa_customer_id: int | None
    contract: str
    contract_id: int | None
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of_line(cls, line: Line) -> ContractRef:
        return cls(line.psa_customer, line.psa_customer_id, line.contract, line.contract_id, psa_options(line.psa))

    def option(self, key: str) -> str | None:
        return dict(self.options).get(key)


def psa_options(options: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """A line's PSA options in the form a ContractRef keeps them."""
    return tuple(sorted((key, str(value)) for key, value in options.items() if value is not None))


@dataclass(frozen=True)
class HeldContract:
    """What the PSA holds for a mapped contract, in the connector's terms (a PSA sink converts its own payload)."""

    ref: str
    name: str
    customer: str
    customer_matches: bool
    flat_fee: bool
    kind: str
    active: bool
    start_date: date | None
    end_date: date | None
    rate: Decimal | None
    quantity: Decimal | None
    # Said instead of the plain "is inactive" when the PSA has its own reason (a cancelled agreement, a line set not
    # to bill), and a term of the PSA's pricing that makes it invoice other money than quantity x rate.
    inactive_reason: str | None = None
    rate_problem: str | None = None
    # The kind of contract that bills a quantity per period, in the PSA's words: what a line must be mapped to.
    billing_kind: str = "Retainer/flat-fee"
    # The PSA itself says the connector created this (a mark it wrote with it), as the store's audit would: its first
    # figure is then no one's, whether or not the store heard of the creation (a crash right after it).
    created_by_connector: bool = False


@dataclass(frozen=True)
class Missing:
    """The PSA has no such contract (or no such customer): `reason` says what it lacks and what to do."""

    reason: str
    # The customer was found, so a mapping that allows creation may create the contract.
    customer_found: bool


Held = HeldContract | Missing


@dataclass(frozen=True)
class Finding:
    """One difference between the PSA and the connector, with its fix."""

    outcome: Outcome
    reason: str


def compare(
    held: Held,
    *,
    psa: str,
    period_start: date,
    period_end: date,
    rate: Decimal | None,
    pushed: Decimal | None,
    staged: Decimal | None = None,
    may_create: bool = False,
) -> Finding | None:
    """The first difference that would make the PSA invoice other money than computed, or None when it agrees.

    `rate` is the mapping's (None: the contract's rate is the price); `pushed` the quantity the connector last
    pushed to this contract; `staged` one waiting to be pushed, which the PSA may hold already (a push interrupted
    after its write): that is the connector's own figure, not an edit.
    """
    if isinstance(held, Missing):
        if may_create and held.customer_found:
            return None
        return Finding(Outcome.CONTRACT_MISSING, held.reason)
    what = f"{psa} contract {held.name!r} ({held.ref})"
    if not held.customer_matches:
        return Finding(
            Outcome.CONTRACT_MISSING,
            f"{what} belongs to {held.customer!r}, not to the mapped customer: fix contract_id",
        )
    if not held.flat_fee:
        return Finding(
            Outcome.CONTRACT_MISSING,
            f"{what} is a {held.kind} contract: map the line to a {held.billing_kind} contract",
        )
    return _terms(held, what, psa, period_start, period_end) or _money(held, what, psa, rate, pushed, staged)


def _terms(held: HeldContract, what: str, psa: str, start: date, end: date) -> Finding | None:
    if not held.active:
        why = held.inactive_reason or "is inactive"
        return Finding(
            Outcome.CONTRACT_INACTIVE,
            f"{what} {why}, so {psa} invoices nothing: activate it in {psa} or map the line to an active one",
        )
    if held.end_date is not None and held.end_date < start:
        return Finding(
            Outcome.CONTRACT_ENDED,
            f"{what} ended {held.end_date}, before {start}: extend its end date in {psa} or map a current contract",
        )
    if held.start_date is not None and held.start_date > end:
        return Finding(
            Outcome.CONTRACT_ENDED,
            f"{what} starts {held.start_date}, after {end}: move its start date in {psa} or map a current contract",
        )
    return None


def _money(
    held: HeldContract,
    what: str,
    psa: str,
    rate: Decimal | None,
    pushed: Decimal | None,
    staged: Decimal | None,
) -> Finding | None:
    if held.rate_problem is not None:
        return Finding(Outcome.RATE_DIFFERS, f"{what} {held.rate_problem}")
    if held.rate is None and rate is None:
        return Finding(Outcome.RATE_DIFFERS, f"{what} has no rate and the mapping none: set the mapping's rate")
    if rate is not None and (held.rate is None or not same(held.rate, rate)):
        return Finding(
            Outcome.RATE_DIFFERS,
            f"{what} bills {held.rate} per unit, the mapping says {rate}; {psa} cannot change a contract's rate: "
            f"set the mapping's rate back to {held.rate} (or remove it to bill the contract's rate), or create a "
            "new contract at the new rate from the next period and map the line to it",
        )
    if pushed is None or held.quantity is None or same(held.quantity, pushed):
        return None
    if staged is not None and same(held.quantity, staged):
        return None
    return Finding(
        Outcome.EDITED,
        f"{what} holds {held.quantity}, not the {pushed} the connector pushed: someone changed it in {psa}. "
        f"Approve to push the connector's figure again, or discard to accept {psa}'s {held.quantity}",
    )


def same(held: Decimal, ours: Decimal) -> bool:
    """Whether a PSA holding `held` holds `ours`."""
    # A PSA that keeps doubles holds our figure when the doubles agree.
    return held == ours or float(held) == float(ours)
