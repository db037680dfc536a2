"""Reconciliation: what ConnectWise's agreement invoices bill, against the lines the connector pushed. Pure, no I/O.

ConnectWise bills an agreement's additions on one invoice of type `Agreement` that names the agreement (`agreement`,
or `applyToType` = Agreement and `applyToId`), its company, its `date` and its `agreementAmount`, and carries no line
items: nothing on it names an addition or a period. So an invoice is tied to a contract only by its agreement id and
company, and to a period only by its date (`billed_period`): in arrears (`[billing] mode`, the default) an invoice
dated D bills the last period of the agreement's billing cycle that ended before D (the invoice of 1 or 5 December
bills November, one of 30 November bills October); in advance, the period containing D. D is the invoice's `date`,
read with its offset, as a day of the MSP's zone (`dates.day_in`). The cycle is the agreement's `billingCycle`
(`cycle_kind`: Weekly, Monthly, Quarterly, Semi-Annual, Yearly; none given is Monthly, ConnectWise's usual default);
a cycle that is none of those (Bi-Weekly, Bi-Monthly: every two weeks or months) ties its invoices to no period.

A line is checked at the agreement level: the invoice's `agreementAmount` against what the agreement should have
billed, the amounts pushed for its lines of the period, plus the agreement's own `billAmount`, plus its other
billable additions (those no pushed line of the period carries) as ConnectWise holds them now. A difference marks
every line of the agreement, naming both figures.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from mappings.billing import price
from mappings.calendar import Mode
from mappings.enums import BillingPeriod
from mappings.lines import Line, StoredLine
from mappings.periods import Period, period_containing
from mappings.truth import ContractRef, Held, Missing, compare, same
from providers.connectwise.dates import day_in
from providers.connectwise.models import Addition, Agreement, Invoice
from providers.connectwise.verify import PSA, Located, held_of, parse_ref
from providers.spec import DIFFERS, MATCHED, NOT_INVOICED, Reconciled

log = logging.getLogger(__name__)


# ConnectWise's billing cycles (names an MSP may write, compared without case, spaces or hyphens) that are one of the
# connector's periods. Bi-Weekly and Bi-Monthly recur every two weeks or months: no calendar period is either.
CYCLES = {
    "weekly": BillingPeriod.WEEKLY,
    "monthly": BillingPeriod.MONTHLY,
    "quarterly": BillingPeriod.QUARTERLY,
    "semiannual": BillingPeriod.TWICE_A_YEAR,
    "semiannually": BillingPeriod.TWICE_A_YEAR,
    "yearly": BillingPeriod.YEARLY,
    "annual": BillingPeriod.YEARLY,
    "annually": BillingPeriod.YEARLY,
}


# -- an invoice's agreement, company and period ---------------------------------------------------------------------


def owner(invoice: Invoice) -> tuple[int, int] | str:
    """(agreement id, company id) an agreement invoice is of, or why it is of none: one with no agreement, no
    company, or two different agreements is nobody's, never every contract's."""
    named = invoice.agreement.id if invoice.agreement is not None else None
    applied = invoice.applyToId if (invoice.applyToType or "").casefold() == "agreement" else None
    if named is not None and applied is not None and named != applied:
        return f"name two agreements ({named} and {applied})"
    agreement = named if named is not None else applied
    if agreement is None:
        return "name no agreement"
    if invoice.company is None or invoice.company.id is None:
        return "name no company"
    return agreement, invoice.company.id


def cycle_kind(agreement: Agreement) -> BillingPeriod | None:
    """The connector's period an agreement's billing cycle is, None when it is none of them; Monthly when the
    agreement names no cycle."""
    name = "".join(ch for ch in (agreement.billingCycle.name or "" if agreement.billingCycle else "") if ch.isalnum())
    return CYCLES.get(name.casefold()) if name else BillingPeriod.MONTHLY


def billed_period(day: date, kind: BillingPeriod, mode: Mode) -> Period:
    """The period of `kind` an agreement invoice dated `day` (in the MSP's zone) bills: in arrears the last one
    that ended before `day`, in advance the one containing it."""
    current = period_containing(kind, day)
    if mode is Mode.ADVANCE:
        return current
    return period_containing(kind, current.start - timedelta(days=1))


def number(invoice: Invoice) -> int:
    """The invoice's number, or its id where the number is not plain digits (a prefix or suffix)."""
    text = (invoice.invoiceNumber or "").strip()
    return int(text) if text.isdigit() else invoice.id


def cycle_problem(agreement: Agreement, kind: BillingPeriod | None, line_kind: BillingPeriod | None) -> str:
    """Why the agreement's invoices bill none of a line's periods ("" when they bill its periods)."""
    what = f"{PSA} agreement {agreement.name!r} ({agreement.id})"
    cycle = agreement.billingCycle.name if agreement.billingCycle is not None else None
    if kind is None:
        return (
            f"{what} bills on the billing cycle {cycle!r}, which is none of the connector's periods (Weekly, Monthly, "
            "Quarterly, Semi-Annual, Yearly): its invoices are tied to no period"
        )
    if line_kind is not None and kind is not line_kind:
        return (
            f"{what} bills {kind.value} (billing cycle {cycle!r}), the line {line_kind.value}: each invoice reads the "
            f"addition's quantity once per {kind.value} period, so it bills no {line_kind.value} period of the line; "
            "map the line with the agreement's billing period or change the agreement's billing cycle"
        )
    return ""


# -- reconcile ------------------------------------------------------------------------------------------------------


def _contract_now(line: Line, contract: Held | None) -> str:
    """Why the contract would not invoice what was pushed, by the sync's own comparison; "" when it would."""
    if contract is None or line.period_start is None or line.period_end is None:
        return ""
    finding = compare(
        contract,
        psa=PSA,
        period_start=line.period_start,
        period_end=line.period_end,
        rate=line.rate,
        pushed=line.quantity,
    )
    return f"{finding.outcome}: {finding.reason}" if finding is not None else ""


@dataclass(frozen=True)
class _Group:
    """The pushed lines of one agreement (of one company) for one period."""

    agreement: Agreement
    company_id: int
    kind: BillingPeriod
    start: date | None


def reconcile(
    lines: Sequence[StoredLine],
    invoices: Sequence[Invoice],
    located: Mapping[ContractRef, Located | Missing],
    additions: Mapping[int, Sequence[Addition]],
    *,
    zone: str = "UTC",
    mode: Mode = Mode.ARREARS,
    today: date | None = None,
) -> list[Reconciled]:
    """For every pushed line: invoiced as pushed, invoiced differently, or not invoiced yet (with why, by the
    comparison every sync makes of what ConnectWise holds now).

    `located`: where each line's contract is in ConnectWise now; `additions`: every addition of each located
    agreement, by agreement id; `zone`: the MSP's billing zone, `today` a day of it. Lines keep their order.
    """
    results: dict[int, Reconciled] = {}
    groups: dict[_Group, list[tuple[int, StoredLine, Located]]] = defaultdict(list)
    for index, stored in enumerate(lines):
        line = stored.line
        found = located.get(ContractRef.of_line(line))
        why = _contract_now(line, held_of(found, zone, today)) if found is not None else ""
        if not isinstance(found, Located):
            results[index] = Reconciled(stored, NOT_INVOICED, reason=why)
            continue
        kind = cycle_kind(found.agreement)
        problem = cycle_problem(found.agreement, kind, line.billing_period)
        if kind is None or problem:  # a cycle that is none of the periods always has a problem
            results[index] = Reconciled(stored, NOT_INVOICED, reason="; ".join(p for p in (why, problem) if p))
            continue
        groups[_Group(found.agreement, found.company.id, kind, line.period_start)].append((index, stored, found))
    for group, members in groups.items():
        for index, result in _reconcile_group(group, members, invoices, additions, zone, mode, today).items():
            results[index] = result
    return [results[index] for index in range(len(lines))]


def _reconcile_group(
    group: _Group,
    members: list[tuple[int, StoredLine, Located]],
    invoices: Sequence[Invoice],
    additions: Mapping[int, Sequence[Addition]],
    zone: str,
    mode: Mode,
    today: date | None,
) -> dict[int, Reconciled]:
    matching = [invoice for invoice in invoices if _bills(invoice, group, zone, mode)]
    whys = {i: _contract_now(s.line, held_of(f, zone, today)) for i, s, f in members}
    if not matching:
        return {i: Reconciled(stored, NOT_INVOICED, reason=whys[i]) for i, stored, _ in members}
    numbers = tuple(sorted(number(invoice) for invoice in matching))
    pushed = sum((price(s.line.quantity, s.line.rate) for _, s, _ in members), Decimal(0))
    base = group.agreement.billAmount or Decimal(0)
    carried = {_addition_id(stored, found) for _, stored, found in members}
    on = min(day_in(invoice.date, zone) for invoice in matching if invoice.date is not None)
    others = [a for a in additions.get(group.agreement.id, ()) if a.id not in carried and _in_force(a, on, zone)]
    other = sum((_amount(a) for a in others), Decimal(0))
    expected = base + pushed + other
    amounts = [invoice.agreementAmount for invoice in matching]
    invoiced = None if None in amounts else sum((a for a in amounts if a is not None), Decimal(0))
    if invoiced is not None and same(invoiced, expected):
        return {
            i: Reconciled(stored, MATCHED, stored.line.quantity, price(stored.line.quantity, stored.line.rate), numbers)
            for i, stored, _ in members
        }
    parts = [f"the {len(members)} line(s) pushed for it {pushed}"]
    if base:
        parts.append(f"the agreement's own amount (billAmount) {base}")
    if others:
        parts.append(f"its other additions {', '.join(str(a.id) for a in others)} as {PSA} holds them now {other}")
    came = f"came to {invoiced}" if invoiced is not None else "carries no agreementAmount"
    names = [invoice.invoiceNumber or str(invoice.id) for invoice in matching]
    differs = (
        f"{PSA} invoices the agreement, not its additions: invoice {', '.join(names)} of agreement "
        f"{group.agreement.name!r} ({group.agreement.id}) {came}, expected {expected} ({' + '.join(parts)})"
    )
    results = {}
    for index, stored, found in members:
        now = found.addition
        quantity = now.quantity if now is not None else None
        amount = _amount(now) if now is not None and now.unitPrice is not None else None
        reason = "; ".join(part for part in (whys[index], differs) if part)
        results[index] = Reconciled(stored, DIFFERS, quantity, amount, numbers, reason)
    return results


def _bills(invoice: Invoice, group: _Group, zone: str, mode: Mode) -> bool:
    """Whether an agreement invoice is of the group's agreement and company and bills its period."""
    if invoice.type != "Agreement" or invoice.date is None or owner(invoice) != (group.agreement.id, group.company_id):
        return False
    return group.start is None or billed_period(day_in(invoice.date, zone), group.kind, mode).start == group.start


def _addition_id(stored: StoredLine, found: Located) -> int | None:
    """The addition a line was pushed to: the one its push named, else the one its mapping names now."""
    pushed = parse_ref(stored.psa_ref or "")
    if pushed is not None and pushed[0] == found.agreement.id:
        return pushed[1]
    return found.addition.id if found.addition is not None else None


def _in_force(addition: Addition, on: date, zone: str) -> bool:
    """Billed to the customer on `on`: billable, in effect, and not cancelled by then."""
    effective = day_in(addition.effectiveDate, zone) if addition.effectiveDate is not None else None
    cancelled = day_in(addition.cancelledDate, zone) if addition.cancelledDate is not None else None
    return (
        addition.billCustomer == "Billable"
        and (effective is None or effective <= on)
        and (cancelled is None or cancelled > on)
    )


def _amount(addition: Addition) -> Decimal:
    """What ConnectWise bills for an addition: (quantity - Less Included, never below 0) x unit price, rounded once."""
    quantity = max((addition.quantity or Decimal(0)) - (addition.lessIncluded or Decimal(0)), Decimal(0))
    return price(quantity, addition.unitPrice or Decimal(0))
