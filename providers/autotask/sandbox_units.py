"""The units model: how many units a contract service has on a day, and the ContractServiceUnits records.

Autotask stores no unit count on a contract service. A person (or a client) records an adjustment: a signed
`unitChange` from an `effectiveDate` on. So the units on a day are the sum of the changes effective on or before
it; the effective date is a calendar date, read as written (time ignored, no zone conversion).

ContractServiceUnits cut that step function into records, as Autotask's help describes: one per billing period of
the contract, and a new one from each adjustment's effective date to the end of its period. Choices the sources
leave open, made here:

- Periods follow `contractPeriodType` (1 monthly, 2 quarterly, 3 half-yearly, 4 yearly) and start on the 1st of
  the contract's start month, the first one cut to the contract's start date.
- Records run from the contract's start to its end date or, without one, to the end of the period holding the day
  twelve months from today: a bounded horizon.
- `endDate` is the record's last day (inclusive), at midnight; `price` is the extended price, units times the
  contract service's unit price (the help text does not say; the extended price is what a period bills), `cost`
  likewise; no proration of a part period.
- A record's id is given once per (contract service, start date), so reading twice shows the same ids; a cut
  made by a later adjustment keeps the earlier record's id and shortens its `endDate`.
- Once the invoicing run has posted a period (`approveAndPostDate` set), an adjustment effective on or before its
  end is refused: the period is closed (an inference; Autotask's rule for this is not in the sources).
- Units cannot fall below zero on any day: an adjustment that would take them there is refused.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from providers.autotask.sandbox_account import AutotaskAccount, day, decimal, midnight
from providers.autotask.sandbox_fields import MONTHLY, PERIOD_MONTHS

HORIZON_MONTHS = 12


def add_months(first: date, months: int) -> date:
    """The first of the month `months` after the month of `first` (a first of a month)."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def horizon(today: date) -> date:
    """The last day records are kept up to for a contract without an end date."""
    return add_months(today.replace(day=1), HORIZON_MONTHS + 1) - timedelta(days=1)


def periods(contract: dict[str, Any], today: date) -> list[tuple[date, date]]:
    """The contract's billing periods, first and last day of each."""
    start, end = day(contract.get("startDate")), day(contract.get("endDate"))
    if start is None:
        return []
    last = end if end is not None else horizon(today)
    months = PERIOD_MONTHS.get(contract.get("contractPeriodType") or MONTHLY, 1)
    found: list[tuple[date, date]] = []
    anchor = start.replace(day=1)
    while anchor <= last:
        following = add_months(anchor, months)
        period_end = following - timedelta(days=1)
        if end is not None:
            period_end = min(period_end, end)
        if period_end >= start:
            found.append((max(anchor, start), period_end))
        anchor = following
    return found


def changes(account: AutotaskAccount, contract_service_id: int) -> list[tuple[date, int]]:
    """The contract service's adjustments as (effective date, unit change), in date order."""
    return grouped_changes(account, {contract_service_id}).get(contract_service_id, [])


def grouped_changes(account: AutotaskAccount, contract_service_ids: set[int]) -> dict[int, list[tuple[date, int]]]:
    """`changes` of each of the contract services, in one pass over the adjustments; only theirs are parsed (with
    thousands of adjustments, parsing every one per contract service made a units read take seconds)."""
    found: dict[int, list[tuple[date, int]]] = {}
    for adjustment in account.adjustments:
        number = adjustment.get("contractServiceID")
        if number not in contract_service_ids:
            continue
        effective = day(adjustment.get("effectiveDate"))
        if effective is not None:
            found.setdefault(number, []).append((effective, int(adjustment.get("unitChange") or 0)))
    for steps in found.values():
        steps.sort(key=lambda change: change[0])
    return found


def units_on(account: AutotaskAccount, contract_service_id: int, on: date) -> int:
    return sum(change for effective, change in changes(account, contract_service_id) if effective <= on)


def records(
    account: AutotaskAccount,
    contract_service: dict[str, Any],
    today: date,
    steps: list[tuple[date, int]] | None = None,
) -> list[dict[str, Any]]:
    """The contract service's ContractServiceUnits records, in date order, as answers show them (`steps`: its
    `changes`, when the caller has them already)."""
    contract = account.contracts.get(contract_service.get("contractID") or -1)
    if contract is None:
        return []
    if steps is None:
        steps = changes(account, contract_service["id"])
    unit_price, unit_cost = decimal(contract_service.get("unitPrice")), decimal(contract_service.get("unitCost"))
    found = []
    for first, last in periods(contract, today):
        cuts = sorted({first} | {effective for effective, _ in steps if first < effective <= last})
        for index, start in enumerate(cuts):
            end = cuts[index + 1] - timedelta(days=1) if index + 1 < len(cuts) else last
            units = sum(change for effective, change in steps if effective <= start)
            price, cost = Decimal(units) * unit_price, Decimal(units) * unit_cost
            key = (contract_service["id"], start)
            found.append(
                {
                    "id": account.units_id(*key),
                    "approveAndPostDate": account.posted.get(key),
                    "contractID": contract_service["contractID"],
                    "contractServiceID": contract_service["id"],
                    "cost": float(cost),
                    "endDate": midnight(end),
                    "internalCurrencyPrice": float(price),
                    "organizationalLevelAssociationID": contract.get("organizationalLevelAssociationID"),
                    "price": float(price),
                    "serviceID": contract_service["serviceID"],
                    "startDate": midnight(start),
                    "units": units,
                    "vendorCompanyID": account.services.get(contract_service["serviceID"], {}).get("vendorCompanyID"),
                }
            )
    return found


def all_records(account: AutotaskAccount, today: date, only: set[int] | None = None) -> list[dict[str, Any]]:
    """Every contract service's records, or only those of the contract services `only` names (a query confined to
    them: the records of thousands of contract services take a second or more to build)."""
    chosen = [
        cs
        for cs in sorted(account.contract_services.values(), key=lambda cs: cs["id"])
        if only is None or cs["id"] in only
    ]
    steps = grouped_changes(account, {cs["id"] for cs in chosen})
    found: list[dict[str, Any]] = []
    for contract_service in chosen:
        found += records(account, contract_service, today, steps.get(contract_service["id"], []))
    return found


def adjustment_problem(
    account: AutotaskAccount, contract_service: dict[str, Any], change: int, effective: date, today: date
) -> str | None:
    """Why an adjustment of `change` units from `effective` cannot be made; None when it can."""
    contract = account.contracts[contract_service["contractID"]]
    start, end = day(contract.get("startDate")), day(contract.get("endDate"))
    if start is not None and effective < start:
        return f"effectiveDate {effective} is before the contract starts ({start})"
    if end is not None and effective > end:
        return f"effectiveDate {effective} is after the contract ends ({end})"
    closed = account.closed_through.get(contract_service["id"])
    if closed is not None and effective <= closed:
        return (
            f"effectiveDate {effective} falls in a period that has been approved and posted (through {closed}); "
            "it is closed to adjustments"
        )
    steps = changes(account, contract_service["id"])
    for moment in sorted({effective} | {when for when, _ in steps if when >= effective}):
        after = sum(delta for when, delta in steps if when <= moment) + change
        if after < 0:
            return f"the adjustment would leave {after} units on {moment}; units cannot be negative"
    return None


def record_adjustment(
    account: AutotaskAccount, contract_service: dict[str, Any], change: int, effective: date, **fields: Any
) -> dict[str, Any]:
    """Store an adjustment already checked by `adjustment_problem`; returns it."""
    adjustment = {
        "id": account.new_id(),
        **fields,
        "contractID": contract_service["contractID"],
        "contractServiceID": contract_service["id"],
        "serviceID": contract_service["serviceID"],
        "unitChange": change,
        "effectiveDate": midnight(effective),
    }
    account.adjustments.append(adjustment)
    return adjustment
