"""What Autotask holds for a mapped line, from lists read once (the sandbox's demo data as models here, no server):
the company, contract and catalogue service found by name, SKU or id (or what is missing, with a "did you mean"),
ambiguities that ask for an id, and the contract service as the comparison sees it for a period."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mappings.lines import Outcome
from mappings.truth import ContractRef, HeldContract, Missing, compare, psa_options
from providers.autotask.models import Company, Contract, ContractService, ContractServiceUnit, Service
from providers.autotask.sandbox_account import demo_data
from providers.autotask.verify import (
    ADDED_MARK,
    Companies,
    Located,
    Target,
    held,
    locate,
    parse_ref,
    psa_ref,
    units_in,
)

from .support import MONTH

START, END = MONTH.start, MONTH.end


def ref(
    customer: str = "Contoso Ltd",
    line_contract: str = "Managed Backup",
    *,
    customer_id: int | None = None,
    line_contract_id: int | None = None,
    **options: Any,
) -> ContractRef:
    """A line's reference: its customer and contract (name, or ids), and its Autotask `options`."""
    options = options or {"service": "BKP-SERVER-GB"}
    return ContractRef(customer, customer_id, line_contract, line_contract_id, psa_options(options))


class Lists:
    """The demo's lists as the run reads them, each changeable before `locate`."""

    def __init__(self) -> None:
        data = demo_data()
        self.companies = [Company.model_validate(c) for c in data["companies"]]
        self.contracts = {c["id"]: Contract.model_validate(c) for c in data["contracts"]}
        self.services = [Service.model_validate(s) for s in data["services"]]
        self.contract_services: dict[int, list[ContractService]] = {}
        for found in data["contract_services"]:
            service = ContractService.model_validate(found)
            self.contract_services.setdefault(service.contractID or 0, []).append(service)

    def locate(self, reference: ContractRef) -> Located | Missing:
        return locate(reference, Companies(self.companies), self.contracts, self.services, self.contract_services)

    def add_company(self, number: int, name: str, **fields: Any) -> None:
        self.companies.append(Company(id=number, companyName=name, **fields))

    def add_contract(self, number: int, company: int, name: str = "Managed Backup", **fields: Any) -> None:
        values: dict[str, Any] = {"contractType": 7, "status": 1, "startDate": "2024-01-01T00:00:00"}
        self.contracts[number] = Contract.model_validate(
            {"id": number, "companyID": company, "contractName": name, **values, **fields}
        )

    def add_service(self, number: int, name: str, sku: str, **fields: Any) -> None:
        self.services.append(Service(id=number, name=name, sku=sku, **fields))

    def bill(self, contract: int, number: int, service: int, unit_price: str | None = "0.12", **fields: Any) -> None:
        price = Decimal(unit_price) if unit_price is not None else None
        billed = ContractService(id=number, contractID=contract, serviceID=service, unitPrice=price, **fields)
        self.contract_services.setdefault(contract, []).append(billed)


@pytest.fixture
def lists() -> Lists:
    return Lists()


def located(lists: Lists, reference: ContractRef | None = None) -> Located:
    found = lists.locate(reference or ref())
    assert isinstance(found, Located), found
    return found


def missing(lists: Lists, reference: ContractRef) -> str:
    found = lists.locate(reference)
    assert isinstance(found, Missing), found
    return found.reason


def record(number: int, units: int, start: date, end: date) -> ContractServiceUnit:
    return ContractServiceUnit.model_validate(
        {
            "id": number,
            "contractID": 501,
            "contractServiceID": 602,
            "serviceID": 402,
            "units": units,
            "startDate": f"{start.isoformat()}T00:00:00",
            "endDate": f"{end.isoformat()}T00:00:00",
        }
    )


def view(found: Located, *records: ContractServiceUnit) -> HeldContract:
    assert found.contract_service is not None
    return held(found, found.contract_service, list(records), START, END)


# -- the company ------------------------------------------------------------------------------------------------------


def test_the_contract_service_is_found_by_company_contract_and_sku_whatever_the_case(lists: Lists) -> None:
    found = located(lists, ref(" contoso ltd ", "MANAGED backup", service="bkp-server-gb"))
    assert (found.company.id, found.contract.id, found.service and found.service.id) == (251, 501, 402)
    assert found.contract_service is not None and found.contract_service.id == 602


def test_the_service_is_found_by_its_catalogue_name(lists: Lists) -> None:
    found = located(lists, ref(service="Microsoft 365 backup (per user)"))
    assert found.contract_service is not None and found.contract_service.id == 601


def test_the_company_is_found_by_id_whatever_its_name(lists: Lists) -> None:
    found = located(lists, ref("Contoso (renamed)", customer_id=251))
    assert found.company.companyName == "Contoso Ltd"
    assert "has no company 999: check psa_customer_id" in missing(lists, ref(customer_id=999))


def test_a_company_autotask_lacks_says_the_nearest_name(lists: Lists) -> None:
    reason = missing(lists, ref("Contoso Limited"))
    assert "has no company named 'Contoso Limited' (did you mean 'Contoso Ltd' (id 251)?)" in reason
    assert "check psa_customer (or set psa_customer_id)" in reason
    assert "did you mean" not in missing(lists, ref("Tailspin Toys"))


def test_two_companies_of_a_name_ask_for_the_id_unless_one_is_inactive(lists: Lists) -> None:
    lists.add_company(260, "Contoso Ltd", isActive=True)
    reason = missing(lists, ref())
    assert "has 2 companies named 'Contoso Ltd' (IDs 251, 260): set psa_customer_id" in reason
    lists.companies[-1] = Company(id=260, companyName="Contoso Ltd", isActive=False)
    assert located(lists).company.id == 251


# -- the contract -----------------------------------------------------------------------------------------------------


def test_the_line_s_contract_is_the_autotask_contract_unless_an_option_names_one(lists: Lists) -> None:
    lists.add_contract(510, 251, "Backup 2027")
    lists.bill(510, 610, 402)
    assert located(lists).contract.id == 501
    assert located(lists, ref("Contoso Ltd", "Backup 2027")).contract.id == 510
    assert located(lists, ref(service="BKP-SERVER-GB", contract="Backup 2027")).contract.id == 510
    assert located(lists, ref(service="BKP-SERVER-GB", contract_id="510")).contract.id == 510
    assert located(lists, ref(line_contract_id=510)).contract.id == 510  # the line's own contract_id


def test_a_contract_autotask_lacks_says_the_nearest_name(lists: Lists) -> None:
    reason = missing(lists, ref("Contoso Ltd", "Managed Backups"))
    assert "company 'Contoso Ltd' (251) has no contract named 'Managed Backups'" in reason
    assert "(did you mean 'Managed Backup' (id 501)?)" in reason
    assert "create a Recurring Service contract in Autotask" in reason
    assert "has no contract 999 (for Autotask company 'Contoso Ltd' (251)): check contract_id" in missing(
        lists, ref(service="BKP-SERVER-GB", contract_id="999")
    )


def test_another_company_s_contract_of_the_name_is_not_found_by_name(lists: Lists) -> None:
    reason = missing(lists, ref("Northwind Traders", "Support Block Hours"))
    assert "has no contract named 'Support Block Hours'" in reason


def test_a_renewed_contract_of_the_same_name_is_the_active_one(lists: Lists) -> None:
    lists.add_contract(511, 251, status=0)  # last year's, inactive
    assert located(lists).contract.id == 501
    lists.add_contract(512, 251)  # two active ones: which is meant cannot be told
    reason = missing(lists, ref())
    assert "has 2 contracts named 'Managed Backup' (IDs 501, 512): set contract_id" in reason


def test_a_contract_named_by_id_of_another_company_does_not_match_the_customer(lists: Lists) -> None:
    found = located(lists, ref(service="BKP-M365-USER", contract_id="502"))
    assert (found.company.id, found.contract.companyID) == (251, 252)
    seen = view(found)
    assert seen.customer_matches is False and seen.customer == "company 252"
    finding = compare(seen, psa="Autotask", period_start=START, period_end=END, rate=Decimal("3.5"), pushed=None)
    assert finding is not None and finding.outcome is Outcome.CONTRACT_MISSING
    assert "belongs to 'company 252', not to the mapped customer: fix contract_id" in finding.reason


def test_a_contract_that_is_not_a_recurring_service_one_is_missing(lists: Lists) -> None:
    reason = missing(lists, ref("Contoso Ltd", "Support Block Hours"))
    assert "contract 'Support Block Hours' (504) is a type 4 contract" in reason
    assert "map the line to a Recurring Service contract" in reason
    # Never one to add the service to, whatever the mapping allows.
    created = lists.locate(ref("Contoso Ltd", "Support Block Hours", service="BKP-SERVER-GB", create_if_missing="true"))
    assert isinstance(created, Missing) and not created.customer_found


# -- the service ------------------------------------------------------------------------------------------------------


def test_a_catalogue_service_autotask_lacks_says_the_nearest_name(lists: Lists) -> None:
    reason = missing(lists, ref(service="Server backup (per TB)"))
    assert "catalogue has no service named 'Server backup (per TB)'" in reason
    assert "did you mean 'Server backup (per GB)' (id 402)" in reason
    assert "check service in [customers.lines.autotask]" in reason
    assert "has no service 999 in its catalogue: check service_id" in missing(lists, ref(service_id="999"))


def test_two_catalogue_services_of_a_name_ask_for_the_id_unless_one_is_inactive(lists: Lists) -> None:
    lists.add_service(410, "Server backup (per GB)", "BKP-SERVER-GB-2")
    reason = missing(lists, ref(service="Server backup (per GB)"))
    assert "catalogue has 2 services named 'Server backup (per GB)' (IDs 402, 410): set service_id" in reason
    lists.services[-1] = Service(id=410, name="Server backup (per GB)", sku="BKP-SERVER-GB-2", isActive=False)
    assert located(lists, ref(service="Server backup (per GB)")).service.id == 402  # type: ignore[union-attr]


def test_a_service_is_found_by_its_catalogue_id_or_the_contract_service_s(lists: Lists) -> None:
    found = located(lists, ref(service_id="401"))
    assert found.contract_service is not None and found.contract_service.id == 601
    by_own = located(lists, ref(contract_service_id="602"))
    assert by_own.contract_service is not None and by_own.contract_service.id == 602
    assert by_own.service is not None and by_own.service.name == "Server backup (per GB)"
    reason = missing(lists, ref(contract_service_id="699"))
    assert "contract 'Managed Backup' (501) has no contract service 699: check contract_service_id" in reason


def test_a_service_the_contract_lacks_may_be_added(lists: Lists) -> None:
    found = located(lists, ref(service="BKP-ONLINE-GB"))
    assert found.contract_service is None and found.absent is not None and found.absent.customer_found
    assert "does not bill service 'Online backup (per GB)'" in found.absent.reason
    assert "or set create_if_missing = true" in found.absent.reason
    assert found.service is not None and found.service.id == 405


def test_a_service_the_contract_bills_twice_asks_for_the_contract_service(lists: Lists) -> None:
    lists.bill(501, 605, 402)
    reason = missing(lists, ref())
    assert "bills service 'Server backup (per GB)' 2 times (contract services 602, 605): set contract_service_id" in (
        reason
    )
    assert located(lists, ref(contract_service_id="605")).contract_service.id == 605  # type: ignore[union-attr]


def test_create_if_missing_adds_no_service_beside_one_of_a_close_name(lists: Lists) -> None:
    lists.add_service(406, "Server backups (per GB)", "BKP-SERVERS-GB")
    reason = missing(lists, ref(service="BKP-SERVERS-GB", create_if_missing="true"))
    assert "does not bill service 'Server backups (per GB)'; did you mean 'Server backup (per GB)' (contract " in reason
    assert "service 602)? create_if_missing adds no service beside one of a close name" in reason
    # Without create_if_missing the hint is the usual one, and the contract may still get the service by hand.
    plain = located(lists, ref(service="BKP-SERVERS-GB")).absent
    assert plain is not None and "did you mean 'Server backup (per GB)' (id 602)?" in plain.reason


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"contract": "Managed Backup"}, "names no service: set service"),
        ({"service": "BKP-SERVER-GB", "service_id": "four"}, "'four' is not an id"),
        ({"service": "BKP-SERVER-GB", "contract_id": "x1"}, "'x1' is not an id"),
    ],
)
def test_options_that_name_no_target_say_so(lists: Lists, options: dict[str, Any], said: str) -> None:
    assert said in missing(lists, ref(**options))


def test_the_target_of_a_reference() -> None:
    target = Target.of(ref(service="BKP-SERVER-GB", contract_id="510", create_if_missing="True"))
    assert isinstance(target, Target)
    assert (target.contract_id, target.contract, target.service, target.create_if_missing) == (
        510,
        "Managed Backup",
        "BKP-SERVER-GB",
        True,
    )
    own = Target.of(ref(line_contract_id=501, service_id="402", create_if_missing="no"))
    assert isinstance(own, Target) and (own.contract_id, own.service_id, own.create_if_missing) == (501, 402, False)


# -- what the comparison sees ----------------------------------------------------------------------------------------


def test_a_contract_service_holds_its_period_s_units_price_and_terms(lists: Lists) -> None:
    seen = view(located(lists), record(9, 560, START, END))
    assert seen.ref == "contract 501, service 602" and seen.name == "Managed Backup / Server backup (per GB)"
    assert (seen.quantity, seen.rate, seen.flat_fee, seen.active, seen.customer_matches) == (
        Decimal(560),
        Decimal("0.12"),
        True,
        True,
        True,
    )
    assert (seen.start_date, seen.end_date, seen.kind, seen.billing_kind) == (
        date(2024, 1, 1),
        None,
        "Recurring Service",
        "Recurring Service",
    )
    assert seen.rate_problem is None and seen.created_by_connector is False
    assert view(located(lists)).quantity == Decimal(0)  # never adjusted


def test_units_that_change_inside_the_period_are_a_rate_problem(lists: Lists) -> None:
    middle = START.replace(day=15)
    seen = view(located(lists), record(9, 560, START, middle.replace(day=14)), record(10, 600, middle, END))
    assert seen.quantity == Decimal(600)
    assert seen.rate_problem is not None
    assert f"(560 from {START}, 600 from {middle})" in seen.rate_problem
    finding = compare(seen, psa="Autotask", period_start=START, period_end=END, rate=Decimal("0.12"), pushed=None)
    assert finding is not None and finding.outcome is Outcome.RATE_DIFFERS


def test_records_of_one_figure_cut_inside_the_period_are_no_problem(lists: Lists) -> None:
    middle = START.replace(day=15)
    seen = view(located(lists), record(9, 560, START, middle.replace(day=14)), record(10, 560, middle, END))
    assert seen.rate_problem is None and seen.quantity == Decimal(560)


def test_the_price_is_the_catalogue_s_when_the_contract_service_has_none(lists: Lists) -> None:
    lists.contract_services[501] = [ContractService(id=602, contractID=501, serviceID=402, unitPrice=None)]
    assert view(located(lists)).rate == Decimal("0.12")


def test_an_inactive_contract_and_one_the_connector_added(lists: Lists) -> None:
    lists.add_contract(510, 251, "Backup 2027", status=0, endDate="2026-01-31T00:00:00")
    lists.bill(510, 610, 402, internalDescription=f"{ADDED_MARK} for Backup 2027 (axcient.server_gb)")
    seen = view(located(lists, ref("Contoso Ltd", "Backup 2027")))
    assert (seen.active, seen.created_by_connector, seen.end_date) == (False, True, date(2026, 1, 31))
    assert seen.inactive_reason == "is not active (its status is not Active)"


def test_units_in_keeps_the_records_overlapping_the_days_oldest_first() -> None:
    middle = START.replace(day=15)
    before = record(1, 5, START - timedelta(days=30), START - timedelta(days=1))
    first, second = record(2, 6, START, middle - timedelta(days=1)), record(3, 7, middle, END)
    after = record(4, 8, END + timedelta(days=1), END + timedelta(days=30))
    across = record(5, 9, START - timedelta(days=3), START)  # ends on the period's first day
    found = units_in([after, second, before, first, across], START, END)
    assert [r.id for r in found] == [5, 2, 3]


def test_a_psa_ref_is_read_back() -> None:
    assert parse_ref(psa_ref(501, 602)) == (501, 602)
    assert parse_ref("agreement 501, addition 602") is None
    assert parse_ref("contract x, service 602") is None
