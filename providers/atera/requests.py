"""What a push sends Atera: dates as Atera takes them, only numbers it can hold, and a Quantity update that carries
the contract's header exactly as just read."""

from __future__ import annotations

from datetime import date, datetime, time

from connector.core.errors import DataError
from mappings.lines import Line
from providers.atera.models import ContractDto, UpdateContractDto, UpdateRetainerFlatFeeContractDto, wire_problem


def day(value: date | None) -> datetime | None:
    # Atera takes dates as midnight in the account's time zone, without an offset.
    return datetime.combine(value, time()) if value is not None else None


def rate_sku(line: Line) -> str | None:
    # Atera's own options for a line come under `line.psa`: the generic line knows no Atera field.
    sku = line.psa.get("rate_sku")
    return str(sku) if sku else None


def refuse_unsendable(line: Line) -> None:
    """Nothing Atera cannot hold is sent, not even in part: checked before the first request of a push."""
    where = f"{line.psa_customer} / {line.contract} / {line.period_key}"
    for name, value in (("quantity", line.quantity), ("rate", line.rate)):
        problem = wire_problem(value)
        if problem is not None:
            raise DataError(f"{where}: {name} {value} {problem}; nothing was sent to Atera")
    if line.quantity < 0:
        # A negative Quantity would invoice a credit: usage never is one.
        raise DataError(f"{where}: quantity {line.quantity} is negative; nothing was sent to Atera")


def quantity_update(contract: ContractDto, line: Line) -> UpdateContractDto:
    """The contract's header fields as read, and the new Quantity: nothing else may change."""
    retainer = contract.RetainerFlatFeeContract
    assert retainer is not None
    return UpdateContractDto(
        ContractName=contract.ContractName,
        Default=contract.Default,
        StartDate=contract.StartDate,
        EndDate=contract.EndDate,
        Active=contract.Active,
        Taxable=contract.Taxable,
        RetainerFlatFeeContract=UpdateRetainerFlatFeeContractDto(
            Quantity=line.quantity, BillingPeriod=retainer.BillingPeriod
        ),
    )
