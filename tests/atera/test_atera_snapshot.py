"""The sink's snapshot: every mapped contract read in a handful of list pages, however many lines are mapped."""

from __future__ import annotations

import math
from collections.abc import Callable

from mappings.truth import ContractRef, HeldContract, Missing
from providers.atera.client import AteraClient
from providers.atera.sandbox import AteraSandbox
from providers.atera.sink import AteraSink


def add_contracts(sandbox: AteraSandbox, count: int) -> list[ContractRef]:
    """`count` Retainer contracts across the sandbox's customers, and the refs a mapping would give them."""
    customers = list(sandbox.customers.values())
    refs = []
    for number in range(count):
        customer = customers[number % len(customers)]
        contract_id = 900_000 + number
        sandbox.contracts[contract_id] = {
            "CustomerID": customer["CustomerID"],
            "CustomerName": customer["CustomerName"],
            "ContractID": contract_id,
            "ContractName": f"Backup {number}",
            "ContractType": "RetainerFlatFee",
            "Active": True,
            "RetainerFlatFeeContract": {"Quantity": number, "Rate": {"RateID": 1, "Amount": 0.12}},
        }
        refs.append(ContractRef(customer["CustomerName"], None, f"Backup {number}", None))
    return refs


def test_a_snapshot_of_many_contracts_reads_full_list_pages_only(
    sandbox: AteraSandbox, make_client: Callable[..., AteraClient]
) -> None:
    refs = add_contracts(sandbox, 120)
    sink = AteraSink(make_client, custom_field="Billing connector")
    try:
        before = len(sandbox.requests)
        held = sink.snapshot([*refs, ContractRef("Nobody at all", None, "Backup 1", None)])
    finally:
        sink.close()
    requests = sandbox.requests[before:]
    pages = math.ceil(len(sandbox.customers) / 50) + math.ceil(len(sandbox.contracts) / 50)
    assert len(requests) == pages and {r.method for r in requests} == {"GET"}
    assert {r.path for r in requests} == {"/api/v3/customers", "/api/v3/contracts"}
    assert all(r.param("itemsInPage") == "50" for r in requests)
    found = held[refs[7]]
    assert isinstance(found, HeldContract) and found.quantity == 7 and found.ref == "contract/900007"
    assert isinstance(held[ContractRef("Nobody at all", None, "Backup 1", None)], Missing)


def test_no_mapped_line_reads_nothing(sandbox: AteraSandbox, make_client: Callable[..., AteraClient]) -> None:
    sink = AteraSink(make_client, custom_field="Billing connector")
    before = len(sandbox.requests)
    assert sink.snapshot([]) == {}
    sink.close()
    assert sandbox.requests[before:] == []
