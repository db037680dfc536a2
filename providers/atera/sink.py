"""The PSA sink: sets a Retainer/flat-fee contract's Quantity for one computed line, reading before any write."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from connector.errors import ConfigError, DataError, VendorError
from connector.usage import PsaEvents, PushResult
from mappings.enums import ContractType
from mappings.lines import Line, LineIdentity
from mappings.truth import ContractRef, Held
from providers.atera.client import AteraClient
from providers.atera.models import (
    ContractDto,
    CreateContractDto,
    CreateRateRequest,
    CreateRetainerFlatFeeContractDto,
    CustomerDto,
    RateDto,
    UpdateContractDto,
    UpdateRetainerFlatFeeContractDto,
    same_number,
    wire_problem,
)
from providers.atera.record import is_later, parse_record, record_text
from providers.atera.verify import PSA, resolve

__all__ = ["AteraPushResult", "AteraSink", "PushResult"]

log = logging.getLogger(__name__)

ContractWritten = Callable[[int], None]


@dataclass(frozen=True)
class AteraPushResult(PushResult):
    """The engine's PushResult plus the Atera contract that holds the line."""

    contract_id: int = 0


def psa_ref(contract_id: int) -> str:
    return f"contract/{contract_id}"


def _day(value: date | None) -> datetime | None:
    # Atera takes dates as midnight in the account's time zone, without an offset.
    return datetime.combine(value, time()) if value is not None else None


def _rate_sku(line: Line) -> str | None:
    # Atera's own options for a line come under `line.psa`: the generic line knows no Atera field.
    sku = line.psa.get("rate_sku")
    return str(sku) if sku else None


def _refuse_unsendable(line: Line) -> None:
    """Nothing Atera cannot hold is sent, not even in part: checked before the first request of a push."""
    where = f"{line.psa_customer} / {line.contract} / {line.period_key}"
    for name, value in (("quantity", line.quantity), ("rate", line.rate)):
        problem = wire_problem(value)
        if problem is not None:
            raise DataError(f"{where}: {name} {value} {problem}; nothing was sent to Atera")
    if line.quantity < 0:
        # A negative Quantity would invoice a credit: usage never is one.
        raise DataError(f"{where}: quantity {line.quantity} is negative; nothing was sent to Atera")


def _quantity_update(contract: ContractDto, line: Line) -> UpdateContractDto:
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


class AteraSink:
    """Pushes computed lines into Atera. A push the contract already reflects writes nothing.

    Customers and rates are read once per sink (one sync run); contracts are read on every push, because the
    read-before-write is what makes a rerun after a crash harmless. What a push creates besides the Quantity (a rate
    product, a contract) is told to the caller's `events`, which keeps the audit trail: the sink keeps no state.
    """

    def __init__(
        self,
        open_client: Callable[[], AteraClient],
        *,
        custom_field: str,
        rate_category: str | None = "Backup",
        sla_id: int | None = None,
        after_contract_write: ContractWritten | None = None,
    ) -> None:
        # Opened now and kept until `close()`: one client per push run, so Atera's throttle spans the whole run,
        # and a key that cannot be read stops the sync before any vendor is called (as it always has).
        self.client = open_client()
        self.custom_field = custom_field
        self.rate_category = rate_category
        self.sla_id = sla_id
        # Tests hook in here to simulate a crash between the contract write and anything after it.
        self.after_contract_write = after_contract_write
        self._customers: list[CustomerDto] | None = None
        self._rates: list[RateDto] | None = None

    psa_title = PSA

    def close(self) -> None:
        self.client.close()

    def snapshot(self, refs: Sequence[ContractRef]) -> dict[ContractRef, Held]:
        """What Atera holds for every mapped contract: one paged list of customers and one of contracts, whatever
        the number of lines (a read per line would not scale to a large MSP, nor stay under Atera's limits)."""
        if not refs:
            return {}
        if self._customers is None:
            self._customers = list(self.client.customers())
        contracts = list(self.client.contracts())
        return {ref: resolve(ref, self._customers, contracts) for ref in refs}

    # -- the push ----------------------------------------------------------------------------------------------

    def push(self, line: Line, events: PsaEvents | None = None) -> AteraPushResult:
        told = events or _unheard
        _refuse_unsendable(line)
        customer_id = self._customer_id(line)
        contract = self._find_contract(line, customer_id)
        if contract is None:
            contract_id = self._create_contract(line, customer_id, told)
            self._record(contract_id, line)
            return AteraPushResult(psa_ref(contract_id), wrote=True, previous_quantity=None, contract_id=contract_id)
        retainer = contract.RetainerFlatFeeContract
        assert retainer is not None
        self._check_rate(contract, line)
        recorded = parse_record(self.client.contract_custom_value(contract.ContractID, self.custom_field))
        self._check_record(recorded, contract, line)
        # Decimal equality, so a record of "42" matches a line of 42.00.
        recorded_this = recorded == (line.identity, line.quantity)
        wrote = False
        if retainer.Quantity is None or not same_number(retainer.Quantity, line.quantity):
            if recorded_this:
                log.warning(
                    "Atera contract %r holds %s, not the %s the connector set for %s: someone changed it in Atera; "
                    "setting it back",
                    contract.ContractName,
                    retainer.Quantity,
                    line.quantity,
                    line.period_key,
                )
            if retainer.BillingPeriod not in (None, line.billing_period):
                log.warning(
                    "Atera contract %r bills %s, the mapping says %s; the contract's period is kept",
                    contract.ContractName,
                    retainer.BillingPeriod,
                    line.billing_period,
                )
            self.client.update_contract(contract.ContractID, _quantity_update(contract, line))
            self._contract_written(contract.ContractID)
            wrote = True
        if not recorded_this:
            self._record(contract.ContractID, line)
            wrote = True
        return AteraPushResult(
            psa_ref(contract.ContractID),
            wrote=wrote,
            previous_quantity=retainer.Quantity,
            contract_id=contract.ContractID,
        )

    def _record(self, contract_id: int, line: Line) -> None:
        self.client.set_contract_custom_value(contract_id, self.custom_field, record_text(line))

    def _contract_written(self, contract_id: int) -> None:
        if self.after_contract_write is not None:
            self.after_contract_write(contract_id)

    # -- finding the customer and the contract -----------------------------------------------------------------

    def _customer_id(self, line: Line) -> int:
        if line.psa_customer_id is not None:
            return line.psa_customer_id
        if self._customers is None:
            self._customers = list(self.client.customers())
        wanted = line.psa_customer.strip().casefold()
        found = [c for c in self._customers if c.CustomerName.strip().casefold() == wanted]
        if not found:
            raise ConfigError(
                f"Atera has no customer named {line.psa_customer!r}: check psa_customer (or set psa_customer_id)"
            )
        if len(found) > 1:
            ids = ", ".join(str(c.CustomerID) for c in found)
            raise ConfigError(
                f"Atera has {len(found)} customers named {line.psa_customer!r} (IDs {ids}): set psa_customer_id"
            )
        return found[0].CustomerID

    def _find_contract(self, line: Line, customer_id: int) -> ContractDto | None:
        where = f"Atera customer {line.psa_customer!r} ({customer_id})"
        if line.contract_id is not None:
            try:
                contract = self.client.contract(line.contract_id)
            except VendorError as error:
                if error.status_code != 404:
                    raise
                # The mapping names a contract Atera does not have: configuration to fix, not Atera failing.
                raise ConfigError(
                    f"Atera has no contract {line.contract_id} (for {where}): check contract_id, or remove it to "
                    "find the contract by name"
                ) from error
            if contract.CustomerID != customer_id:
                raise ConfigError(
                    f"Atera contract {line.contract_id} belongs to customer {contract.CustomerID}, not to {where}: "
                    "check contract_id"
                )
            return self._usable(contract, line)
        wanted = line.contract.strip().casefold()
        named = [c for c in self.client.contracts(customer_id) if (c.ContractName or "").strip().casefold() == wanted]
        if len(named) > 1:
            ids = ", ".join(str(c.ContractID) for c in named)
            raise ConfigError(
                f"{where} has {len(named)} contracts named {line.contract!r} (IDs {ids}): set contract_id"
            )
        if named:
            return self._usable(named[0], line)
        if not line.psa.get("create_if_missing"):
            raise ConfigError(
                f"{where} has no contract named {line.contract!r}: create a Retainer/flat-fee contract with that name, "
                "or set create_if_missing = true"
            )
        return None

    def _usable(self, contract: ContractDto, line: Line) -> ContractDto:
        what = f"Atera contract {contract.ContractName!r} ({contract.ContractID})"
        if contract.ContractType is not ContractType.RETAINER_FLAT_FEE or contract.RetainerFlatFeeContract is None:
            raise ConfigError(
                f"{what} is a {contract.ContractType} contract; the connector can only set the Quantity of a "
                "RetainerFlatFee contract"
            )
        if not contract.Active:
            # An inactive contract is not invoiced: pushing to it would bill nothing, silently.
            raise ConfigError(f"{what} is inactive: activate it in Atera or map the line to an active contract")
        return contract

    def _check_rate(self, contract: ContractDto, line: Line) -> None:
        retainer = contract.RetainerFlatFeeContract
        rate = retainer.Rate if retainer is not None else None
        if rate is None or not same_number(rate.Amount, line.rate):
            shown = "no rate" if rate is None else f"{rate.Amount} per unit"
            raise ConfigError(
                f"Atera contract {contract.ContractName!r} ({contract.ContractID}) bills {shown}, the mapping says "
                f"{line.rate}; Atera cannot change a contract's rate, so fix the mapping's rate or use a new contract"
            )

    def _check_record(self, recorded: tuple[LineIdentity, Decimal] | None, contract: ContractDto, line: Line) -> None:
        if recorded is None:
            return
        held, _ = recorded
        what = f"Atera contract {contract.ContractName!r} ({contract.ContractID})"
        if is_later(held.period_key, than=line.period_key):
            raise DataError(
                f"{what} already holds the quantity of period {held.period_key}; refusing to overwrite it with "
                f"the older period {line.period_key}"
            )
        if held.period_key == line.period_key and held.metric != line.metric:
            raise ConfigError(
                f"{what} already carries {held.metric} for {line.period_key}; one contract's Quantity can carry "
                f"one metric, so map {line.metric} to its own contract"
            )

    # -- creating what the mapping asks for --------------------------------------------------------------------

    def _rate_id(self, line: Line, events: PsaEvents) -> int:
        sku = _rate_sku(line)
        if sku is None:
            raise ConfigError(
                f"{line.psa_customer} / {line.contract}: create_if_missing needs rate_sku, the SKU of its rate product"
            )
        if self._rates is None:
            self._rates = list(self.client.rates())
        wanted = sku.strip().casefold()
        for rate in self._rates:
            if (rate.SKU or "").strip().casefold() == wanted:
                if not same_number(rate.Amount, line.rate):
                    raise ConfigError(
                        f"Atera rate product {rate.SKU!r} ({rate.RateID}) costs {rate.Amount}, the mapping says "
                        f"{line.rate}: change one of them"
                    )
                return rate.RateID
        request = CreateRateRequest(Description=line.contract, Amount=line.rate, SKU=sku, Category=self.rate_category)
        rate_id = self.client.create_rate(request)
        self._rates.append(RateDto(RateID=rate_id, Amount=line.rate, SKU=sku, Description=line.contract))
        _tell(events, "atera.rate_created", line, {"rate_id": rate_id, "sku": sku, "amount": str(line.rate)})
        return rate_id

    def _create_contract(self, line: Line, customer_id: int, events: PsaEvents) -> int:
        rate_id = self._rate_id(line, events)
        request = CreateContractDto(
            ContractName=line.contract,
            CustomerID=customer_id,
            ContractType=ContractType.RETAINER_FLAT_FEE,
            StartDate=_day(line.start_date or line.period_start),
            SLAId=self.sla_id,
            Notes=f"Created by the backup-billing connector for {line.metric}",
            RetainerFlatFeeContract=CreateRetainerFlatFeeContractDto(
                RateID=rate_id, Quantity=line.quantity, BillingPeriod=line.billing_period
            ),
        )
        contract_id = self.client.create_contract(request)
        _tell(events, "atera.contract_created", line, {"contract_id": contract_id, "rate_id": rate_id})
        self._contract_written(contract_id)
        return contract_id


def _unheard(event: str, details: dict[str, Any]) -> None:
    """No caller listens to this push's events (a test, a benchmark): the log line is all they leave."""


def _tell(events: PsaEvents, event: str, line: Line, details: dict[str, Any]) -> None:
    log.info("%s for %s / %s: %s", event, line.psa_customer, line.contract, details)
    events(event, details)
