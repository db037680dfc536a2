"""`check --online`'s resolution: each mapped customer and contract against Atera's lists, with a did-you-mean."""

from __future__ import annotations

from typing import Any

from connector.core.errors import ConfigError, Status, VendorAuthError, VendorError
from connector.operations.check import online_status
from mappings.customer import CustomerMapping
from mappings.enums import ContractType
from providers.atera.models import ContractDto, CustomerDto
from providers.atera.resolve import did_you_mean, resolve_names
from providers.spec import Finding

CUSTOMERS = [
    CustomerDto(CustomerID=1, CustomerName="Contoso Ltd"),
    CustomerDto(CustomerID=3, CustomerName="Northwind Traders"),
]
CONTRACTS = [
    ContractDto(
        CustomerID=1, ContractID=101, ContractName="Server backup (per GB)", ContractType=ContractType.RETAINER_FLAT_FEE
    ),
    ContractDto(
        CustomerID=3, ContractID=301, ContractName="Online backup (per GB)", ContractType=ContractType.RETAINER_FLAT_FEE
    ),
]


def mapping(customer: str, *lines: dict[str, Any], **extra: Any) -> CustomerMapping:
    return CustomerMapping.model_validate({"psa_customer": customer, "lines": list(lines), **extra})


def line(contract: str, **extra: Any) -> dict[str, Any]:
    return {"metric": "axcient.server_gb", "contract": contract, "rate": "0.12", **extra}


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def test_names_atera_knows_resolve_ok_whatever_the_case() -> None:
    found = resolve_names([mapping(" contoso ltd", line("server backup (PER GB)"))], CUSTOMERS, CONTRACTS)
    assert [f.status for f in found] == [Status.OK, Status.OK]
    assert online_status(found) is Status.OK


def test_a_misspelled_customer_is_named_with_the_nearest_atera_customer_and_its_lines_are_not_verified() -> None:
    found = by_check(resolve_names([mapping("Northwind Trader", line("Online backup (per GB)"))], CUSTOMERS, CONTRACTS))
    customer = found["customer 'Northwind Trader'"]
    assert customer.status is Status.INVALID
    assert customer.suggestion == "did you mean 'Northwind Traders' (id 3)?"
    assert "psa_customer" in (customer.problem or "") and "did you mean 'Northwind Traders' (id 3)?" in (
        customer.problem or ""
    )
    contract = found["contract 'Northwind Trader' / 'Online backup (per GB)'"]
    assert contract.status is Status.INCOMPLETE
    assert online_status(list(found.values())) is Status.INVALID


def test_a_misspelled_contract_is_named_with_the_nearest_contract_of_that_customer() -> None:
    found = resolve_names([mapping("Contoso Ltd", line("Server backup per GB"))], CUSTOMERS, CONTRACTS)
    contract = by_check(found)["contract 'Contoso Ltd' / 'Server backup per GB'"]
    assert contract.status is Status.INVALID
    assert contract.suggestion == "did you mean 'Server backup (per GB)' (id 101)?"
    assert "create_if_missing" in (contract.problem or "")


def test_a_contract_the_mapping_may_create_is_not_a_mismatch() -> None:
    created = line("Brand new", atera={"rate_sku": "X", "create_if_missing": True})
    found = resolve_names([mapping("Contoso Ltd", created)], CUSTOMERS, CONTRACTS)
    assert found[1].status is Status.OK and "create_if_missing" in (found[1].note or "")


def test_ids_win_and_a_contract_of_another_customer_is_named() -> None:
    found = resolve_names(
        [mapping("Contoso", line("Server backup (per GB)", contract_id=301), psa_customer_id=1)], CUSTOMERS, CONTRACTS
    )
    assert found[0].status is Status.OK
    assert found[1].status is Status.INVALID and "belongs to customer 3" in (found[1].problem or "")
    unknown = resolve_names([mapping("Contoso Ltd", psa_customer_id=9)], CUSTOMERS, CONTRACTS)
    assert unknown[0].status is Status.INVALID and unknown[0].suggestion == "did you mean 'Contoso Ltd' (id 1)?"


def test_two_atera_customers_of_one_name_ask_for_the_id() -> None:
    twins = [*CUSTOMERS, CustomerDto(CustomerID=7, CustomerName="contoso ltd")]
    found = resolve_names([mapping("Contoso Ltd")], twins, CONTRACTS)
    assert found[0].status is Status.INVALID and "IDs 1, 7" in (found[0].problem or "")


def test_nothing_close_suggests_nothing() -> None:
    assert did_you_mean("Zebra Logistics", [(1, "Contoso Ltd"), (3, "Northwind Traders")]) is None


def test_a_refused_key_is_configuration_and_a_vendor_down_cannot_verify() -> None:
    refused = Finding.failed("atera credentials", VendorAuthError("atera", "API key rejected (401)"))
    down = Finding.failed("axcient credentials", VendorError("axcient", "503 after retries"))
    assert refused.status is Status.INVALID and down.status is Status.INCOMPLETE
    assert Finding.failed("x", ConfigError("missing")).status is Status.INVALID
    assert online_status([down]) is Status.INCOMPLETE
    assert online_status([down, refused]) is Status.INVALID


def test_what_would_be_created_is_listed_and_a_close_one_is_flagged() -> None:
    new = line("Workstation backup (per PC)", atera={"rate_sku": "BFF-PC", "create_if_missing": True})
    typo = line("Server backup per GB", atera={"rate_sku": "BFF-SERVER-GB", "create_if_missing": True})
    found = by_check(resolve_names([mapping("Contoso Ltd", new, typo)], CUSTOMERS, CONTRACTS))
    created = found["contract 'Contoso Ltd' / 'Workstation backup (per PC)'"]
    assert created.status is Status.OK
    assert created.note == "would be created at the first push (create_if_missing), on rate product BFF-PC"
    held = found["contract 'Contoso Ltd' / 'Server backup per GB'"]
    assert held.status is Status.INVALID
    assert held.suggestion == "did you mean 'Server backup (per GB)' (id 101)?"
    assert "create_if_missing" in (held.problem or "")
