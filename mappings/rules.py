"""Billing rules: one contract's usage in one period becomes line items and a carry to the next period."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mappings.contracts import (
    PRIMARY_RATE,
    Amount,
    BlockHoursTerms,
    BlockMoneyTerms,
    Contract,
    HourlyTerms,
    OnlineBackupTerms,
    ProjectHourlyRateTerms,
    ProjectOneTimeFeeTerms,
    RemoteMonitoringTerms,
    RetainerFlatFeeTerms,
)
from mappings.enums import BillingPeriod, CountBy, Unit
from mappings.money import gb_from_mb, line_amount
from mappings.periods import Period

# Sums and differences of hours and money are computed with room to spare so none is ever rounded; 28 digits
# (the default) is enough for real invoices but not for a 1/3 GB quantity plus another.
_PRECISION = 60

BASE_DEVICE_CLASSES = (CountBy.PC_AGENTS, CountBy.SERVER_AGENTS, CountBy.MAC_AGENTS, CountBy.OTHER_DEVICES)
DEVICE_CLASSES_COUNTED: dict[CountBy, tuple[CountBy, ...]] = {
    CountBy.PC_AGENTS: (CountBy.PC_AGENTS,),
    CountBy.SERVER_AGENTS: (CountBy.SERVER_AGENTS,),
    CountBy.MAC_AGENTS: (CountBy.MAC_AGENTS,),
    CountBy.OTHER_DEVICES: (CountBy.OTHER_DEVICES,),
    CountBy.AGENTS_ONLY: (CountBy.PC_AGENTS, CountBy.SERVER_AGENTS, CountBy.MAC_AGENTS),
    CountBy.ALL: BASE_DEVICE_CLASSES,
}


class MissingUsageError(ValueError):
    """A contract needs a figure the usage lacks: never read as zero, or we would under-bill silently."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HoursEntry(_Model):
    """Billable hours at one rate (None = the primary rate); `ref` (e.g. a ticket id) explains them."""

    hours: Amount
    rate_name: str | None = None
    ref: str | None = None


class PeriodUsage(_Model):
    """What was used in one period; a figure left as None was not observed, which is not the same as zero."""

    hours: list[HoursEntry] = Field(default_factory=list)
    # Base classes only (PCAgents, ServerAgents, MacAgents, OtherDevices); AgentsOnly and All are derived.
    devices: dict[CountBy, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    pc_gb: Amount | None = None
    server_gb: Amount | None = None
    # Storage as the portal reports it; converted with the contract's own MB-per-GB.
    pc_mb: Amount | None = None
    server_mb: Amount | None = None
    # Retainer only: the Quantity billed instead of the contract's (how vendor usage reaches Atera).
    quantity: Amount | None = None
    unit: Unit | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> PeriodUsage:
        derived = sorted(c.value for c in self.devices if c not in BASE_DEVICE_CLASSES)
        if derived:
            # A derived count given alongside its parts could disagree with them; compute it instead.
            raise ValueError(f"devices takes the four base classes (e.g. PCAgents) only, not {derived}")
        for kind in ("pc", "server"):
            if getattr(self, f"{kind}_gb") is not None and getattr(self, f"{kind}_mb") is not None:
                raise ValueError(f"give {kind}_gb or {kind}_mb, not both")
        return self

    def device_count(self, count_by: CountBy) -> int:
        """Devices as a RemoteMonitoring contract counts them; every class it adds must have been observed."""
        classes = DEVICE_CLASSES_COUNTED.get(count_by)
        if classes is None:
            raise ValueError(f"{count_by.value} does not count devices")
        missing = [c.value for c in classes if c not in self.devices]
        if missing:
            raise MissingUsageError(f"{count_by.value} needs device counts for {', '.join(missing)}")
        return sum(self.devices[c] for c in classes)

    def backup_gb(self, count_by: CountBy, mb_per_gb: int = 1024) -> Decimal:
        """GB as an OnlineBackup contract counts them: PCs, servers, or both, unrounded."""
        wanted = {
            CountBy.PCS_TOTAL_GB: ("pc",),
            CountBy.SERVERS_TOTAL_GB: ("server",),
            CountBy.TOTAL_GB: ("pc", "server"),
        }.get(count_by)
        if wanted is None:
            raise ValueError(f"{count_by.value} does not count GB")
        total = Decimal(0)
        for kind in wanted:
            gb: Decimal | None = getattr(self, f"{kind}_gb")
            mb: Decimal | None = getattr(self, f"{kind}_mb")
            if gb is None and mb is None:
                raise MissingUsageError(f"{count_by.value} needs {kind}_gb or {kind}_mb")
            if gb is None:
                gb = gb_from_mb(mb, mb_per_gb) if mb is not None else Decimal(0)
            with localcontext(prec=_PRECISION):
                total += gb
        return total


class LineItem(_Model):
    """One billable line; `amount` is quantity x rate rounded to cents once, and `inputs` explain it."""

    psa_customer: str
    contract: str
    contract_id: int | None
    period_key: str
    metric: str
    description: str
    quantity: Decimal = Field(allow_inf_nan=False)
    unit: Unit
    rate: Decimal = Field(allow_inf_nan=False)
    amount: Decimal = Field(allow_inf_nan=False)
    taxable: bool
    labor: bool
    inputs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> LineItem:
        expected = line_amount(self.quantity, self.rate)
        if self.amount != expected:
            raise ValueError(f"amount {self.amount} is not {self.quantity} x {self.rate} rounded once")
        if self.taxable and not self.labor:
            raise ValueError("only labor lines can be taxable")
        return self

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """(PSA customer, contract, period key, metric): pushing one identity twice leaves one item."""
        contract = str(self.contract_id) if self.contract_id is not None else self.contract
        return (self.psa_customer, contract, self.period_key, self.metric)


class Carry(_Model):
    """What rolls over into the next period: unused block hours or unused block money."""

    hours: Amount = Decimal(0)
    money: Amount = Decimal(0)


NO_CARRY = Carry()


@dataclass(frozen=True)
class PeriodResult:
    """The lines one period bills and what it rolls over to the next."""

    lines: list[LineItem]
    carry_out: Carry = NO_CARRY

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def _text(value: Decimal) -> str:
    # Explanations are stored as JSON: text keeps every digit a float would lose.
    return str(value)


@dataclass(frozen=True)
class _Lines:
    """Builds the lines of one contract in one period, so every rule fills identity and tax the same way."""

    contract: Contract
    period: Period
    usage: PeriodUsage

    def line(
        self,
        metric: str,
        description: str,
        quantity: Decimal,
        unit: Unit,
        rate: Decimal,
        *,
        labor: bool,
        inputs: dict[str, Any],
    ) -> LineItem:
        if self.usage.inputs:
            inputs = {**inputs, "usage": self.usage.inputs}
        return LineItem(
            psa_customer=self.contract.customer_name,
            contract=self.contract.name,
            contract_id=self.contract.contract_id,
            period_key=self.period.key,
            metric=metric,
            description=f"{self.contract.name} {self.period.key}: {description}",
            quantity=quantity,
            unit=unit,
            rate=rate,
            amount=line_amount(quantity, rate),
            # Tax applies to labor only, and only on a taxable contract.
            taxable=self.contract.taxable and labor,
            labor=labor,
            inputs=inputs,
        )

    def rate_of(self, entry: HoursEntry, primary: Decimal, additional: dict[str, Decimal]) -> Decimal:
        if entry.rate_name is None:
            return primary
        if entry.rate_name not in additional:
            known = ", ".join([PRIMARY_RATE, *additional])
            ref = f" (hours {entry.ref})" if entry.ref else ""
            rate = f"{entry.rate_name!r}{ref}; its rates: {known}"
            raise ValueError(f"contract {self.contract.name!r} has no rate named {rate}")
        return additional[entry.rate_name]


def _rate_label(rate_name: str | None) -> str:
    return PRIMARY_RATE if rate_name is None else rate_name


def _ordered_rate_names(entries: Iterable[HoursEntry], additional: dict[str, Decimal]) -> list[str | None]:
    # Primary first, then additional rates in the contract's order: line order must not follow ticket order.
    used = {entry.rate_name for entry in entries}
    return [name for name in (None, *additional) if name in used]


def _hours_lines(b: _Lines, primary: Decimal, additional: dict[str, Decimal]) -> list[LineItem]:
    entries = b.usage.hours
    for entry in entries:
        b.rate_of(entry, primary, additional)  # fail on an unknown rate before billing any of them
    lines: list[LineItem] = []
    for name in _ordered_rate_names(entries, additional):
        mine = [entry for entry in entries if entry.rate_name == name]
        rate = primary if name is None else additional[name]
        hours = sum((entry.hours for entry in mine), Decimal(0))
        label = _rate_label(name)
        lines.append(
            b.line(
                f"hours:{label}",
                f"{hours} h at {label} rate {rate}",
                hours,
                Unit.HOUR,
                rate,
                labor=True,
                inputs={"rate_name": label, "entries": [_entry_inputs(entry) for entry in mine]},
            )
        )
    return lines


def _entry_inputs(entry: HoursEntry) -> dict[str, Any]:
    return {"hours": _text(entry.hours), "rate_name": _rate_label(entry.rate_name), "ref": entry.ref}


def _retainer(b: _Lines, terms: RetainerFlatFeeTerms) -> list[LineItem]:
    overridden = b.usage.quantity is not None
    quantity = b.usage.quantity if b.usage.quantity is not None else terms.quantity
    unit = b.usage.unit or Unit.UNIT
    return [
        b.line(
            "retainer",
            f"{quantity} {unit.value} x {terms.rate}",
            quantity,
            unit,
            terms.rate,
            labor=False,
            inputs={"quantity": _text(quantity), "quantity_from": "usage" if overridden else "contract"},
        )
    ]


def _block_hours(b: _Lines, terms: BlockHoursTerms, carry_in: Carry) -> tuple[list[LineItem], Carry]:
    for entry in b.usage.hours:
        b.rate_of(entry, terms.overage_rate, {})  # a block of hours has one rate: naming another is an error
    used = sum((entry.hours for entry in b.usage.hours), Decimal(0))
    available = terms.hours_included + carry_in.hours
    covered = min(used, available)
    overage = used - covered
    carry_out = Carry(hours=available - covered) if terms.commit_rollover else NO_CARRY
    explanation = {
        "hours_included": _text(terms.hours_included),
        "carry_in_hours": _text(carry_in.hours),
        "available_hours": _text(available),
        "used_hours": _text(used),
        "covered_hours": _text(covered),
        "overage_hours": _text(overage),
        "carry_out_hours": _text(carry_out.hours),
        "commit_rollover": terms.commit_rollover,
        "entries": [_entry_inputs(entry) for entry in b.usage.hours],
    }
    lines = [
        b.line(
            "block",
            f"block of {terms.hours_included} h x {terms.price_per_hour}",
            terms.hours_included,
            Unit.HOUR,
            terms.price_per_hour,
            labor=False,
            inputs=explanation,
        )
    ]
    if overage > 0:
        lines.append(
            b.line(
                "overage",
                f"{overage} h beyond the block ({available} h available) x {terms.overage_rate}",
                overage,
                Unit.HOUR,
                terms.overage_rate,
                labor=True,
                inputs=explanation,
            )
        )
    return lines, carry_out


def _hours_for_money(money: Decimal, rate: Decimal) -> Decimal:
    """Hours that cost `money` at `rate`, in as few digits as keep quantity x rate rounding like `money`."""
    # money / rate may not terminate (50 / 30). A quotient rounded down could put quantity x rate just under a
    # half cent that `money` sits on, losing a cent, so round it up instead, keeping enough digits that the
    # excess (< 10^-places) stays below the gap between `money` and any half cent above it (>= 10^-decimals).
    decimals = max(-int(money.as_tuple().exponent), 3)
    places = decimals + 1
    with localcontext(prec=max(money.adjusted() + places + 2, 1), rounding=ROUND_CEILING):
        return money / rate


def _block_money(b: _Lines, terms: BlockMoneyTerms, carry_in: Carry) -> tuple[list[LineItem], Carry]:
    available = terms.contract_amount + carry_in.money
    remaining = available
    overage_money: dict[str | None, Decimal] = {}
    overage_entries: dict[str | None, list[dict[str, Any]]] = {}
    used = Decimal(0)
    # The block is drawn down in the order the hours are given (chronological from the PSA), so the entry that
    # crosses the end of the block is split and only its uncovered part is overage.
    for entry in b.usage.hours:
        rate = b.rate_of(entry, terms.primary_rate, terms.additional_rates)
        cost = entry.hours * rate
        used += cost
        covered = min(cost, remaining)
        remaining -= covered
        if cost > covered:
            overage_money[entry.rate_name] = overage_money.get(entry.rate_name, Decimal(0)) + cost - covered
            overage_entries.setdefault(entry.rate_name, []).append(
                {**_entry_inputs(entry), "overage_money": _text(cost - covered)}
            )
    carry_out = Carry(money=remaining) if terms.commit_rollover else NO_CARRY
    explanation = {
        "contract_amount": _text(terms.contract_amount),
        "carry_in_money": _text(carry_in.money),
        "available_money": _text(available),
        "used_money": _text(used),
        "covered_money": _text(available - remaining),
        "carry_out_money": _text(carry_out.money),
        "commit_rollover": terms.commit_rollover,
        "entries": [_entry_inputs(entry) for entry in b.usage.hours],
    }
    lines = [
        b.line(
            "block",
            f"block of {terms.contract_amount}",
            Decimal(1),
            Unit.UNIT,
            terms.contract_amount,
            labor=False,
            inputs=explanation,
        )
    ]
    for name in _ordered_rate_names(b.usage.hours, terms.additional_rates):
        money = overage_money.get(name)
        if money is None:
            continue
        rate = terms.primary_rate if name is None else terms.additional_rates[name]
        hours = _hours_for_money(money, rate)
        label = _rate_label(name)
        lines.append(
            b.line(
                "overage" if name is None else f"overage:{name}",
                f"{hours} h at {label} rate {rate} beyond the block ({available} available)",
                hours,
                Unit.HOUR,
                rate,
                labor=True,
                inputs={
                    **explanation,
                    "rate_name": label,
                    "overage_money": _text(money),
                    "overage_entries": overage_entries[name],
                },
            )
        )
    return lines, carry_out


def _remote_monitoring(b: _Lines, terms: RemoteMonitoringTerms) -> list[LineItem]:
    count = b.usage.device_count(terms.count_by)
    return [
        b.line(
            "devices",
            f"{count} devices ({terms.count_by.value}) x {terms.rate_per_device}",
            Decimal(count),
            Unit.DEVICE,
            terms.rate_per_device,
            labor=False,
            inputs={
                "count_by": terms.count_by.value,
                "devices": {c.value: n for c, n in b.usage.devices.items()},
            },
        )
    ]


def _online_backup(b: _Lines, terms: OnlineBackupTerms) -> list[LineItem]:
    gb = b.usage.backup_gb(terms.count_by, terms.mb_per_gb)
    storage = {
        name: _text(value)
        for name in ("pc_gb", "server_gb", "pc_mb", "server_mb")
        if (value := getattr(b.usage, name)) is not None
    }
    return [
        b.line(
            "backup_gb",
            f"{gb} GB ({terms.count_by.value}) x {terms.rate_per_gb}",
            gb,
            Unit.GB,
            terms.rate_per_gb,
            labor=False,
            inputs={
                "count_by": terms.count_by.value,
                "mb_per_gb": terms.mb_per_gb,
                "gb": _text(gb),
                **storage,
            },
        )
    ]


def _one_time_fee(b: _Lines, terms: ProjectOneTimeFeeTerms) -> list[LineItem]:
    # Once, in the period holding the start date: every other period is "already billed", even a later rerun.
    if not b.period.contains(b.contract.start_date):
        return []
    return [
        b.line(
            "one_time_fee",
            f"one-time fee {terms.total_amount}",
            Decimal(1),
            Unit.UNIT,
            terms.total_amount,
            labor=False,
            inputs={"start_date": b.contract.start_date.isoformat()},
        )
    ]


def _check_period(contract: Contract, period: Period) -> None:
    # Project contracts have no billing period in Atera, so their hours may be billed in any period asked for.
    if contract.is_project:
        return
    if period.kind is not contract.billing_period:
        kinds = f"{contract.billing_period.value}, not {period.kind.value} ({period.key})"
        raise ValueError(f"contract {contract.name!r} bills {kinds}")
    if period.kind is BillingPeriod.END_OF_CONTRACT_DURATION and (
        period.start != contract.start_date or period.end != contract.effective_end_date
    ):
        raise ValueError(
            f"contract {contract.name!r} runs {contract.start_date} to {contract.effective_end_date}, "
            f"but the contract period given runs {period.start} to {period.end}"
        )


def _check_carry(contract: Contract, carry: Carry) -> None:
    terms = contract.terms
    rolls_hours = isinstance(terms, BlockHoursTerms) and terms.commit_rollover
    rolls_money = isinstance(terms, BlockMoneyTerms) and terms.commit_rollover
    # A carry the contract cannot have would be billed (or credited) from nowhere.
    if (carry.hours and not rolls_hours) or (carry.money and not rolls_money):
        carried = f"{carry.hours} h / {carry.money}"
        raise ValueError(f"contract {contract.name!r} ({contract.type.value}) cannot roll over {carried}")


def _overlaps_contract(contract: Contract, period: Period) -> bool:
    return period.overlaps(contract.start_date, contract.effective_end_date)


def compute_period(
    contract: Contract,
    period: Period,
    usage: PeriodUsage,
    carry_in: Carry = NO_CARRY,
) -> PeriodResult:
    """The line items `contract` bills for `period` given `usage`, and the carry to the next period.

    A period that overlaps the contract at all is billed in full: a contract starting or ending mid-period
    is not prorated (Atera does not prorate either). An inactive contract, or a period outside the contract,
    bills nothing and passes the carry through unchanged.
    """
    _check_period(contract, period)
    _check_carry(contract, carry_in)
    if not contract.active or not _overlaps_contract(contract, period):
        return PeriodResult([], carry_in)
    b = _Lines(contract, period, usage)
    with localcontext(prec=_PRECISION):
        match contract.terms:
            case RetainerFlatFeeTerms() as terms:
                return PeriodResult(_retainer(b, terms))
            case HourlyTerms() | ProjectHourlyRateTerms() as terms:
                return PeriodResult(_hours_lines(b, terms.primary_rate, terms.additional_rates))
            case BlockHoursTerms() as terms:
                return PeriodResult(*_block_hours(b, terms, carry_in))
            case BlockMoneyTerms() as terms:
                return PeriodResult(*_block_money(b, terms, carry_in))
            case RemoteMonitoringTerms() as terms:
                return PeriodResult(_remote_monitoring(b, terms))
            case OnlineBackupTerms() as terms:
                return PeriodResult(_online_backup(b, terms))
            case ProjectOneTimeFeeTerms() as terms:
                return PeriodResult(_one_time_fee(b, terms))
    raise AssertionError(f"no rule for {contract.type.value}")  # pragma: no cover - the models forbid it


def compute_periods(
    contract: Contract, periods: Iterable[tuple[Period, PeriodUsage]], carry_in: Carry = NO_CARRY
) -> list[PeriodResult]:
    """compute_period over periods in order, each one's carry_out becoming the next one's carry_in."""
    results: list[PeriodResult] = []
    carry = carry_in
    previous_end: date | None = None
    for period, usage in periods:
        # Carry flows forward in time; periods out of order or overlapping would roll hours back or twice.
        if previous_end is not None and period.start <= previous_end:
            raise ValueError(f"period {period.key} starts before the previous one ends ({previous_end})")
        result = compute_period(contract, period, usage, carry)
        results.append(result)
        carry = result.carry_out
        previous_end = period.end
    return results
