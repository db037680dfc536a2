"""The PSA sink: sets a Retainer/flat-fee contract's Quantity for one computed line, reading before any write."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connector.core.errors import ConfigError, DataError
from connector.interfaces.deferral import PushDeferred
from connector.interfaces.psa import PsaEvents, PushRefused, PushResult
from mappings.enums import ContractType
from mappings.lines import Line, LineIdentity, Outcome
from mappings.truth import ContractRef, Held, compare
from providers.atera.client import AteraClient
from providers.atera.models import (
    ContractDto,
    CreateContractDto,
    CreateRateRequest,
    CreateRetainerFlatFeeContractDto,
    CustomerDto,
    RateDto,
    RetainerFlatFeeContractDto,
    same_number,
)
from providers.atera.requests import day, quantity_update, rate_sku, refuse_unsendable
from providers.atera.verify import PSA, creation_held, key, psa_ref, resolve
from providers.atera.verify import held as held_contract
from providers.record import is_later, parse_record, record_text

__all__ = ["AteraPushResult", "AteraSink", "PushResult"]

log = logging.getLogger(__name__)

ContractWritten = Callable[[int], None]


@dataclass(frozen=True)
class AteraPushResult(PushResult):
    """The engine's PushResult plus the Atera contract that holds the line."""

    contract_id: int = 0


class AteraSink:
    """Pushes computed lines into Atera. A push the contract already reflects writes nothing.

    Customers, contracts and rates are listed once per sink (one sync run), in full pages: a push finds its contract
    in that listing, kept current with the sink's own writes, instead of reading it again. The record on the contract
    is read only when the contract already holds the line's quantity (then the read can save a write); a changed
    quantity costs exactly its two writes, the contract's and the record's. What a push creates besides the Quantity
    (a rate product, a contract) is told to the caller's `events`, which keeps the audit trail.
    """

    def __init__(
        self,
        open_client: Callable[[], AteraClient],
        *,
        custom_field: str,
        rate_category: str | None = "Backup",
        sla_id: int | None = None,
        after_contract_write: ContractWritten | None = None,
        timezone: str = "UTC",
    ) -> None:
        # Opened now and kept until `close()`: one client per push run, so Atera's throttle spans the whole run,
        # and a key that cannot be read stops the sync before any vendor is called (as it always has).
        self.client = open_client()
        self.custom_field = custom_field
        self.rate_category = rate_category
        self.sla_id = sla_id
        # The MSP's billing zone: Atera's dates are read as its days before any comparison with a period.
        self.timezone = timezone
        # Tests hook in here to simulate a crash between the contract write and anything after it.
        self.after_contract_write = after_contract_write or (lambda contract_id: None)
        self._customers: list[CustomerDto] | None = None
        self._contracts: dict[int, ContractDto] | None = None
        self._rates: list[RateDto] | None = None
        # What each contract's record says, as this run wrote or read it: the guards against an older period and a
        # second metric on one contract work from it without a read per line.
        self._recorded: dict[int, tuple[LineIdentity, Decimal]] = {}

    psa_title = PSA

    def close(self) -> None:
        self.client.close()

    def snapshot(self, refs: Sequence[ContractRef]) -> dict[ContractRef, Held]:
        """What Atera holds for every mapped contract: one paged list of customers and one of contracts, whatever
        the number of lines (a read per line would not scale to a large MSP, nor stay under Atera's limits). The
        pushes of the run that follow use the same listing."""
        if not refs:
            return {}
        customers = self._customer_list()
        self._contracts = {c.ContractID: c for c in self.client.contracts()}
        contracts = list(self._contracts.values())
        return {ref: resolve(ref, customers, contracts, self.timezone) for ref in refs}

    def _customer_list(self) -> list[CustomerDto]:
        if self._customers is None:
            self._customers = list(self.client.customers())
        return self._customers

    def _contract_list(self) -> dict[int, ContractDto]:
        if self._contracts is None:
            self._contracts = {c.ContractID: c for c in self.client.contracts()}
        return self._contracts

    def _reread_contracts(self, customer_id: int) -> None:
        """The customer's contracts as Atera holds them now, in place of the run's listing of them."""
        fresh = {c.ContractID: c for c in self.client.contracts(customer_id)}
        listing = self._contract_list()
        for contract_id in [i for i, c in listing.items() if c.CustomerID == customer_id and i not in fresh]:
            del listing[contract_id]
        listing.update(fresh)

    # -- the push ----------------------------------------------------------------------------------------------

    def push(self, line: Line, events: PsaEvents | None = None) -> AteraPushResult:
        told = events or _unheard
        refuse_unsendable(line)
        if self.client.budget_spent:
            raise PushDeferred(
                f"Atera: this run has sent the {self.client.request_budget:,} requests [atera] requests_per_run allows"
            )
        customer_id = self._customer_id(line)
        contract = self._find_contract(line, customer_id)
        if contract is None:
            # Created only on positive evidence that it is absent: the run's listing may be older than a contract
            # someone made since, so the customer's own contracts are read again just before the POST.
            self._reread_contracts(customer_id)
            contract = self._find_contract(line, customer_id)
        if contract is None:
            contract_id = self._create_contract(line, customer_id, told)
            self._record(contract_id, line)
            return AteraPushResult(psa_ref(contract_id), wrote=True, previous_quantity=None, contract_id=contract_id)
        retainer = contract.RetainerFlatFeeContract
        assert retainer is not None
        self._check_rate(contract, line)
        holds = retainer.Quantity is not None and same_number(retainer.Quantity, line.quantity)
        recorded = self._recorded.get(contract.ContractID)
        if recorded is None and holds:
            # Atera holds the quantity already: the record decides whether anything is written at all.
            recorded = parse_record(self.client.contract_custom_value(contract.ContractID, self.custom_field))
            if recorded is not None:
                self._recorded[contract.ContractID] = recorded
        self._check_record(recorded, contract, line)
        # Decimal equality, so a record of "42" matches a line of 42.00.
        recorded_this = recorded == (line.identity, line.quantity)
        if not holds:
            self._set_quantity(contract, line, recorded_this)
        if not recorded_this:
            self._record(contract.ContractID, line)
        wrote = not holds or not recorded_this
        return AteraPushResult(psa_ref(contract.ContractID), wrote, retainer.Quantity, contract.ContractID)

    def _set_quantity(self, listed: ContractDto, line: Line, recorded_this: bool) -> None:
        # Atera's PUT takes the header with the Quantity: the header sent is the one Atera holds now, never the
        # run's listing of it (sent back, a contract deactivated since would be active again, and billed).
        contract = self._current(listed, line)
        retainer = contract.RetainerFlatFeeContract
        assert retainer is not None
        if retainer.Quantity is not None and same_number(retainer.Quantity, line.quantity):
            return  # set since the listing (a rerun after a crash, a person): nothing to write
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
        self.client.update_contract(contract.ContractID, quantity_update(contract, line))
        # The run's listing now says what Atera holds, for any later push of this contract in the run.
        held = retainer.model_copy(update={"Quantity": line.quantity})
        self._contract_list()[contract.ContractID] = contract.model_copy(update={"RetainerFlatFeeContract": held})
        self.after_contract_write(contract.ContractID)

    def _current(self, listed: ContractDto, line: Line) -> ContractDto:
        """The contract as Atera holds it just before a write, into the run's listing; PushRefused when it would now
        invoice other money than computed (deactivated, ended, moved): then nothing is written."""
        contract = self.client.contract(listed.ContractID)
        self._contract_list()[contract.ContractID] = contract
        if line.period_start is None or line.period_end is None:
            self._usable(contract, line)  # a line staged before it carried its period: at least active
            return contract
        finding = compare(
            held_contract(contract, listed.CustomerID, self.timezone),
            psa=PSA,
            period_start=line.period_start,
            period_end=line.period_end,
            rate=line.rate,
            pushed=None,
        )
        if finding is not None:
            raise PushRefused(finding.outcome, f"{finding.reason}; it changed since this run read it, nothing was sent")
        return contract

    def _record(self, contract_id: int, line: Line) -> None:
        self.client.set_contract_custom_value(contract_id, self.custom_field, record_text(line))
        self._recorded[contract_id] = (line.identity, line.quantity)

    # -- finding the customer and the contract -----------------------------------------------------------------

    def _customer_id(self, line: Line) -> int:
        if line.psa_customer_id is not None:
            return line.psa_customer_id
        found = [c for c in self._customer_list() if key(c.CustomerName) == key(line.psa_customer)]
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
        contracts = self._contract_list()
        if line.contract_id is not None:
            contract = contracts.get(line.contract_id)
            if contract is None:
                # The mapping names a contract Atera does not have: configuration to fix, not Atera failing.
                raise ConfigError(
                    f"Atera has no contract {line.contract_id} (for {where}): check contract_id, or remove it to "
                    "find the contract by name"
                )
            if contract.CustomerID != customer_id:
                raise ConfigError(
                    f"Atera contract {line.contract_id} belongs to customer {contract.CustomerID}, not to {where}: "
                    "check contract_id"
                )
            return self._usable(contract, line)
        named = [
            c for c in contracts.values() if c.CustomerID == customer_id and key(c.ContractName) == key(line.contract)
        ]
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
            raise PushRefused(
                Outcome.CONTRACT_INACTIVE, f"{what} is inactive: activate it in Atera or map the line to an active one"
            )
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
        sku = rate_sku(line)
        if sku is None:
            raise ConfigError(
                f"{line.psa_customer} / {line.contract}: create_if_missing needs rate_sku, the SKU of its rate product"
            )
        if self._rates is None:
            self._rates = list(self.client.rates())
        for rate in self._rates:
            if key(rate.SKU) == key(sku):
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
        # A close name is a typo of a contract the customer has, and a second contract on its rate product would
        # bill the usage twice: held with a "did you mean", nothing created (not even the rate product).
        own = [c for c in self._contract_list().values() if c.CustomerID == customer_id]
        where = f"Atera customer {line.psa_customer!r} ({customer_id})"
        held_back = creation_held(where, line.contract, rate_sku(line), own)
        if held_back is not None:
            raise PushRefused(Outcome.CONTRACT_MISSING, held_back)
        rate_id = self._rate_id(line, events)
        request = CreateContractDto(
            ContractName=line.contract,
            CustomerID=customer_id,
            ContractType=ContractType.RETAINER_FLAT_FEE,
            StartDate=day(line.start_date or line.period_start),
            SLAId=self.sla_id,
            Notes=f"Created by the backup-billing connector for {line.metric}",
            RetainerFlatFeeContract=CreateRetainerFlatFeeContractDto(
                RateID=rate_id, Quantity=line.quantity, BillingPeriod=line.billing_period
            ),
        )
        contract_id = self.client.create_contract(request)
        _tell(
            events,
            "atera.contract_created",
            line,
            {"contract_id": contract_id, "rate_id": rate_id, "psa_ref": psa_ref(contract_id)},
        )
        # Into the run's listing as Atera now holds it, so a later line of the run finds it without a read.
        self._contract_list()[contract_id] = ContractDto(
            CustomerID=customer_id,
            ContractID=contract_id,
            ContractName=line.contract,
            ContractType=ContractType.RETAINER_FLAT_FEE,
            Active=True,
            StartDate=request.StartDate,
            RetainerFlatFeeContract=RetainerFlatFeeContractDto(
                BillingPeriod=line.billing_period,
                Quantity=line.quantity,
                Rate=RateDto(RateID=rate_id, Amount=line.rate, SKU=rate_sku(line)),
            ),
        )
        self.after_contract_write(contract_id)
        return contract_id


def _unheard(event: str, details: dict[str, Any]) -> None:
    """No caller listens to this push's events (a test, a benchmark): the log line is all they leave."""


def _tell(events: PsaEvents, event: str, line: Line, details: dict[str, Any]) -> None:
    log.info("%s for %s / %s: %s", event, line.psa_customer, line.contract, details)
    events(event, details)
