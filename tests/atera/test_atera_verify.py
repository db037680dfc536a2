"""Resolving each mapped contract against one list of Atera's customers and one of its contracts."""

from __future__ import annotations

from typing import Any

from mappings.truth import ContractRef, HeldContract, Missing
from providers.atera.models import ContractDto, CustomerDto
from providers.atera.verify import resolve

CUSTOMERS = [CustomerDto(CustomerID=1, CustomerName="Contoso Ltd"), CustomerDto(CustomerID=2, CustomerName="Fabrikam")]


def contract(contract_id: int, customer_id: int, name: str, **terms: Any) -> ContractDto:
    data: dict[str, Any] = {
        "ContractID": contract_id,
        "CustomerID": customer_id,
        "CustomerName": {1: "Contoso Ltd", 2: "Fabrikam"}[customer_id],
        "ContractName": name,
        "ContractType": "RetainerFlatFee",
        "Active": True,
        "EndDate": "2026-12-31T00:00:00",
        "RetainerFlatFeeContract": {"Quantity": 600, "Rate": {"RateID": 9, "Amount": 0.12}},
        **terms,
    }
    return ContractDto.model_validate(data)


CONTRACTS = [contract(10, 1, "Server backup"), contract(11, 2, "Server backup"), contract(12, 2, "Other")]


def ref(customer: str = "Contoso Ltd", name: str = "Server backup", **ids: int) -> ContractRef:
    return ContractRef(customer, ids.get("customer_id"), name, ids.get("contract_id"))


def test_a_contract_is_found_by_its_customer_and_name_whatever_the_case() -> None:
    held = resolve(ref("contoso ltd ", "SERVER BACKUP"), CUSTOMERS, CONTRACTS)
    assert isinstance(held, HeldContract)
    assert (held.ref, held.customer_matches, str(held.rate), str(held.quantity)) == ("contract/10", True, "0.12", "600")
    assert str(held.end_date) == "2026-12-31"


def test_a_contract_id_of_another_customer_is_held_as_not_matching() -> None:
    held = resolve(ref(contract_id=11), CUSTOMERS, CONTRACTS)
    assert isinstance(held, HeldContract) and not held.customer_matches and held.customer == "Fabrikam"


def test_what_atera_lacks_is_missing_with_what_to_set() -> None:
    cases = {
        ref("Northwind"): ("no customer named 'Northwind'", False),
        ref(name="Nothing"): ("no contract named 'Nothing'", True),
        ref(contract_id=99): ("no contract 99", False),
        ref(customer_id=7): ("no customer 7", False),
    }
    for wanted, (says, creatable) in cases.items():
        held = resolve(wanted, CUSTOMERS, CONTRACTS)
        assert isinstance(held, Missing) and says in held.reason and held.customer_found is creatable


def test_two_contracts_of_one_name_ask_for_the_id() -> None:
    held = resolve(ref(), CUSTOMERS, [*CONTRACTS, contract(13, 1, "server backup")])
    assert isinstance(held, Missing) and "(IDs 10, 13): set contract_id" in held.reason


def test_a_contract_s_dates_are_read_with_their_offset_in_the_msp_zone() -> None:
    # Midnight of 1 November and of 30 November in Berlin, as Atera may write them in UTC.
    dated = contract(10, 1, "Server backup", StartDate="2026-10-31T23:00:00Z", EndDate="2026-11-29T23:00:00Z")
    held = resolve(ref(), CUSTOMERS, [dated], zone="Europe/Berlin")
    assert isinstance(held, HeldContract)
    assert (str(held.start_date), str(held.end_date)) == ("2026-11-01", "2026-11-30")
    naive = resolve(ref(), CUSTOMERS, CONTRACTS, zone="Pacific/Kiritimati")  # no offset: the day as written
    assert isinstance(naive, HeldContract) and str(naive.end_date) == "2026-12-31"


def test_a_contract_missing_beside_a_close_name_is_not_creatable_and_says_did_you_mean() -> None:
    held = resolve(ref(name="Server backup per GB"), CUSTOMERS, CONTRACTS)
    assert isinstance(held, Missing) and held.customer_found is False
    assert "did you mean 'Server backup' (id 10)?" in held.reason
    # A name far from every contract of the customer stays creatable.
    far = resolve(ref(name="Workstation devices"), CUSTOMERS, CONTRACTS)
    assert isinstance(far, Missing) and far.customer_found is True
