"""The run's one read of Autotask: every company, the service catalogue, the mapped companies' contracts, those
contracts' services, and the units of the mapped services from the period before this one on, each list read once
and kept current with the run's own writes.

A list is one query per 500 ids (`in` filters), so a run costs the companies' and catalogue's pages, then a few
queries per 500 mapped companies, contracts and services, whatever the number of lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta

from mappings.enums import BillingPeriod
from mappings.periods import period_containing
from mappings.truth import ContractRef, Missing
from providers.autotask import filters as f
from providers.autotask.client import AutotaskClient
from providers.autotask.models import Company, Contract, ContractService, ContractServiceUnit, Service
from providers.autotask.verify import Companies, Located, Target, company_of, contract_of, locate, units_in

# Ids an `in` filter names at most (Autotask refuses longer lists).
IN_LIMIT = 500


def chunks(values: Iterable[int], size: int = IN_LIMIT) -> Iterator[list[int]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def window_start(today: date) -> date:
    """The first day whose units the run's read covers: the first of the month before today's, so the period a
    contract still carries after a month ends (not invoiced yet) is read with the rest."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


class Listing:
    """What the run read of Autotask (see the module's notes); `read` reads only what it has not read yet."""

    def __init__(self, client: AutotaskClient, today: date) -> None:
        self.client = client
        self.since = window_start(today)
        # The last day the run's read covers: the end of the month under way (later records are future periods,
        # which no line bills yet: 12 of them a service, were they read).
        self.until = period_containing(BillingPeriod.MONTHLY, today).end
        self._companies: Companies | None = None
        self._services: list[Service] | None = None
        self.contracts: dict[int, Contract] = {}
        # company id -> its contracts read, kept with `contracts` (`_keep`): each line's lookup reads its company's.
        self.by_company: dict[int, list[Contract]] = {}
        self._listed_companies: set[int] = set()
        # contract id -> contract service id -> contract service, for every contract whose services were listed.
        self.contract_services: dict[int, dict[int, ContractService]] = {}
        # contract service id -> units records from `since` on (and any earlier period read on demand).
        self.units: dict[int, dict[int, ContractServiceUnit]] = {}
        self._units_read: set[int] = set()

    def companies(self) -> Companies:
        if self._companies is None:
            self._companies = Companies(self.client.companies())
        return self._companies

    def services(self) -> list[Service]:
        if self._services is None:
            self._services = list(self.client.services())
        return self._services

    def read(self, refs: Iterable[ContractRef]) -> None:
        """Everything the references need that the run has not read yet (nothing, once it has)."""
        refs = list(refs)
        companies = self.companies()
        self.services()
        owners: dict[ContractRef, Company] = {}
        by_id: set[int] = set()
        for ref in refs:
            company, target = company_of(ref, companies), Target.of(ref)
            if isinstance(company, Company) and isinstance(target, Target):
                owners[ref] = company
                if target.contract_id is not None:
                    by_id.add(target.contract_id)
        unlisted = {c.id for c in owners.values()} - self._listed_companies
        self._contracts("companyID", unlisted)
        self._listed_companies |= unlisted
        # A contract named by id may be another company's: read too, so the comparison can say whose it is.
        self._contracts("id", by_id - set(self.contracts))
        wanted: set[int] = set()
        for ref, company in owners.items():
            target = Target.of(ref)
            assert isinstance(target, Target)
            contract = contract_of(target, company, self.contracts, self.by_company)
            if isinstance(contract, Contract) and contract.id not in self.contract_services:
                wanted.add(contract.id)
        self._services_of(wanted)
        located = [found for ref in refs if isinstance(found := self.locate(ref), Located)]
        self._units_of({found.contract_service.id for found in located if found.contract_service is not None})

    def _contracts(self, field: str, values: set[int]) -> None:
        for ids in chunks(values):
            self._keep(self.client.contracts([f.in_(field, ids)]))

    def _services_of(self, contract_ids: set[int]) -> None:
        for contract_id in contract_ids:
            self.contract_services.setdefault(contract_id, {})
        for ids in chunks(contract_ids):
            for service in self.client.contract_services([f.in_("contractID", ids)]):
                self.contract_services.setdefault(service.contractID or 0, {})[service.id] = service

    def _units_of(self, contract_service_ids: set[int]) -> None:
        todo = contract_service_ids - self._units_read
        for ids in chunks(todo):
            within = [f.in_("contractServiceID", ids), f.gte("endDate", self.since), f.lte("startDate", self.until)]
            for record in self.client.contract_service_units(within):
                self.units.setdefault(record.contractServiceID or 0, {})[record.id] = record
        self._units_read |= todo

    def reread_services(self, contract_id: int) -> None:
        """The contract's services as Autotask holds them now, in place of what the run read of them."""
        found = self.client.contract_services([f.eq("contractID", contract_id)])
        self.contract_services[contract_id] = {s.id: s for s in found}

    def units_in(
        self, contract_service_id: int, start: date, end: date, *, fresh: bool = False
    ) -> list[ContractServiceUnit]:
        """The service's units records overlapping [start, end]: from the run's read, or read now when the run's
        read does not reach back to `start` or when `fresh` (just before a write, and just after it)."""
        if fresh or start < self.since or end > self.until or contract_service_id not in self._units_read:
            within = [
                f.eq("contractServiceID", contract_service_id),
                f.lte("startDate", end),
                f.gte("endDate", start),
            ]
            held = self.units.setdefault(contract_service_id, {})
            read = list(self.client.contract_service_units(within))
            # What the read covers replaces what was kept of those days: a record an adjustment split is gone.
            for number, record in list(held.items()):
                if units_in([record], start, end):
                    del held[number]
            held.update((r.id, r) for r in read)
        return units_in(self.units.get(contract_service_id, {}).values(), start, end)

    def locate(self, ref: ContractRef) -> Located | Missing:
        """The company, contract and contract service of a reference, from what was read (`read` it first)."""
        listed = _Listed(self.contract_services)
        return locate(ref, self.companies(), self.contracts, self.services(), listed, self.by_company)

    def _keep(self, contracts: Iterable[Contract]) -> None:
        """Contracts read, into `contracts` and `by_company` (one read again replaces what was kept of it)."""
        for contract in contracts:
            kept = self.contracts.get(contract.id)
            if kept is not None:
                owner = kept.companyID or 0
                self.by_company[owner] = [c for c in self.by_company.get(owner, []) if c.id != contract.id]
            self.by_company.setdefault(contract.companyID or 0, []).append(contract)
            self.contracts[contract.id] = contract


class _Listed(Mapping[int, Sequence[ContractService]]):
    """The contract services read, by contract, as `locate` takes them: only the contract it asks for becomes a list
    (copying every contract's for each line would make a run's lookups grow with lines times contracts)."""

    def __init__(self, found: Mapping[int, Mapping[int, ContractService]]) -> None:
        self.found = found

    def __getitem__(self, contract_id: int) -> Sequence[ContractService]:
        return list(self.found[contract_id].values())

    def __iter__(self) -> Iterator[int]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)
