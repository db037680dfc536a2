"""The PSA sink: sets a Retainer/flat-fee contract's Quantity for one planned line, reading before any write."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from connector.errors import ConfigError, DataError
from connector.http import HttpSettings
from connector.plan import PlannedLine, PushResult
from connector.store import Store
from mappings.enums import ContractType
from providers.atera.client import AteraClient, build_atera_client
from providers.atera.models import (
    ContractDto,
    CreateContractDto,
    CreateRateRequest,
    CreateRetainerFlatFeeContractDto,
    CustomerDto,
    RateDto,
    UpdateContractDto,
    UpdateRetainerFlatFeeContractDto,
)
from providers.atera.record import LineRecord
from providers.atera.settings import AteraSettings

__all__ = ["AteraPushResult", "AteraSink", "PlannedLine", "PushResult"]

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


def _quantity_update(contract: ContractDto, line: PlannedLine) -> UpdateContractDto:
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
    """Pushes planned lines into Atera. A push the contract already reflects writes nothing.

    Customers and rates are read once per sink (one sync run); contracts are read on every push, because the
    read-before-write is what makes a rerun after a crash harmless.
    """

    def __init__(
        self,
        client: AteraClient,
        *,
        custom_field: str,
        rate_category: str | None = "Backup",
        sla_id: int | None = None,
        store: Store | None = None,
        after_contract_write: ContractWritten | None = None,
    ) -> None:
        self.client = client
        self.custom_field = custom_field
        self.rate_category = rate_category
        self.sla_id = sla_id
        self.store = store
        # Tests hook in here to simulate a crash between the contract write and anything after it.
        self.after_contract_write = after_contract_write
        self._customers: list[CustomerDto] | None = None
        self._rates: list[RateDto] | None = None

    @classmethod
    def from_settings(
        cls, settings: AteraSettings, http: HttpSettings, store: Store | None = None, **client_options: Any
    ) -> AteraSink:
        return cls(
            build_atera_client(settings, http, **client_options),
            custom_field=settings.custom_field,
            rate_category=settings.rate_category,
            sla_id=settings.sla_id,
            store=store,
        )

    def close(self) -> None:
        self.client.close()

    # -- the push ----------------------------------------------------------------------------------------------

    def push(self, line: PlannedLine) -> AteraPushResult:
        customer_id = self._customer_id(line)
        contract = self._find_contract(line, customer_id)
        if contract is None:
            contract_id = self._create_contract(line, customer_id)
            self._record(contract_id, line)
            return AteraPushResult(psa_ref(contract_id), wrote=True, previous_quantity=None, contract_id=contract_id)
        retainer = contract.RetainerFlatFeeContract
        assert retainer is not None
        self._check_rate(contract, line)
        recorded = LineRecord.parse(self.client.contract_custom_value(contract.ContractID, self.custom_field))
        self._check_record(recorded, contract, line)
        wrote = False
        if retainer.Quantity is None or retainer.Quantity != line.quantity:
            if recorded is not None and recorded.matches(LineRecord.of(line)):
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
        wanted = LineRecord.of(line)
        if recorded is None or not recorded.matches(wanted):
            self._record(contract.ContractID, line)
            wrote = True
        return AteraPushResult(
            psa_ref(contract.ContractID),
            wrote=wrote,
            previous_quantity=retainer.Quantity,
            contract_id=contract.ContractID,
        )

    def _record(self, contract_id: int, line: PlannedLine) -> None:
        self.client.set_contract_custom_value(contract_id, self.custom_field, LineRecord.of(line).to_text())

    def _contract_written(self, contract_id: int) -> None:
        if self.after_contract_write is not None:
            self.after_contract_write(contract_id)

    # -- finding the customer and the contract -----------------------------------------------------------------

    def _customer_id(self, line: PlannedLine) -> int:
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

    def _find_contract(self, line: PlannedLine, customer_id: int) -> ContractDto | None:
        where = f"Atera customer {line.psa_customer!r} ({customer_id})"
        if line.contract_id is not None:
            contract = self.client.contract(line.contract_id)
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
        if not line.create_if_missing:
            raise ConfigError(
                f"{where} has no contract named {line.contract!r}: create a Retainer/flat-fee contract with that name, "
                "or set create_if_missing = true"
            )
        return None

    def _usable(self, contract: ContractDto, line: PlannedLine) -> ContractDto:
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

    def _check_rate(self, contract: ContractDto, line: PlannedLine) -> None:
        retainer = contract.RetainerFlatFeeContract
        rate = retainer.Rate if retainer is not None else None
        if rate is None or rate.Amount != line.rate:
            shown = "no rate" if rate is None else f"{rate.Amount} per unit"
            raise ConfigError(
                f"Atera contract {contract.ContractName!r} ({contract.ContractID}) bills {shown}, the mapping says "
                f"{line.rate}; Atera cannot change a contract's rate, so fix the mapping's rate or use a new contract"
            )

    def _check_record(self, recorded: LineRecord | None, contract: ContractDto, line: PlannedLine) -> None:
        if recorded is None:
            return
        what = f"Atera contract {contract.ContractName!r} ({contract.ContractID})"
        if recorded.is_later_than(line.period_key):
            raise DataError(
                f"{what} already holds the quantity of period {recorded.period_key}; refusing to overwrite it with "
                f"the older period {line.period_key}"
            )
        if recorded.period_key == line.period_key and recorded.metric != line.metric:
            raise ConfigError(
                f"{what} already carries {recorded.metric} for {line.period_key}; one contract's Quantity can carry "
                f"one metric, so map {line.metric} to its own contract"
            )

    # -- creating what the mapping asks for --------------------------------------------------------------------

    def _rate_id(self, line: PlannedLine) -> int:
        if not line.rate_sku:
            raise ConfigError(
                f"{line.psa_customer} / {line.contract}: create_if_missing needs rate_sku, the SKU of its rate product"
            )
        if self._rates is None:
            self._rates = list(self.client.rates())
        wanted = line.rate_sku.strip().casefold()
        for rate in self._rates:
            if (rate.SKU or "").strip().casefold() == wanted:
                if rate.Amount != line.rate:
                    raise ConfigError(
                        f"Atera rate product {rate.SKU!r} ({rate.RateID}) costs {rate.Amount}, the mapping says "
                        f"{line.rate}: change one of them"
                    )
                return rate.RateID
        request = CreateRateRequest(
            Description=line.contract, Amount=line.rate, SKU=line.rate_sku, Category=self.rate_category
        )
        rate_id = self.client.create_rate(request)
        self._rates.append(RateDto(RateID=rate_id, Amount=line.rate, SKU=line.rate_sku, Description=line.contract))
        self._audit("atera.rate_created", line, {"rate_id": rate_id, "sku": line.rate_sku, "amount": str(line.rate)})
        return rate_id

    def _create_contract(self, line: PlannedLine, customer_id: int) -> int:
        rate_id = self._rate_id(line)
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
        self._audit("atera.contract_created", line, {"contract_id": contract_id, "rate_id": rate_id})
        self._contract_written(contract_id)
        return contract_id

    def _audit(self, event: str, line: PlannedLine, details: dict[str, Any]) -> None:
        log.info("%s for %s / %s: %s", event, line.psa_customer, line.contract, details)
        if self.store is not None:
            self.store.runs.audit(event, line.psa_customer, {"identity": list(line.identity), **details})
