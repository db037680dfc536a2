"""Atera's lists are verified before anything is decided from them, and a contract is created only when a fresh read
of its customer's contracts shows it absent: a list that shifts between pages never creates a second contract."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from connector.core.errors import DataError
from mappings.lines import Line
from mappings.truth import ContractRef
from providers.atera.client import AteraClient
from providers.atera.sandbox import AteraSandbox
from providers.atera.sandbox_account import retainer_contract
from providers.atera.sink import AteraSink
from providers.sandbox import SandboxRequest

FIELD = "Billing connector"


def m365(psa_customer: str = "Fabrikam Inc", **changes: Any) -> Line:
    """Fabrikam's Microsoft 365 line (its contract 103 is the first of page 2 at two contracts a page), creatable."""
    line = Line(
        psa_customer=psa_customer,
        contract="Microsoft 365 backup (per user)",
        period_key="2026-11",
        metric="altaro.billed_users",
        quantity=Decimal(12),
        unit="user",
        rate=Decimal("3.50"),
        amount=Decimal("42.00"),
        psa={"rate_sku": "M365-BACKUP-USER", "create_if_missing": True},
    )
    return dataclasses.replace(line, **changes)


def on_page(path: str, number: int, change: Callable[[], object]) -> Callable[[SandboxRequest], None]:
    """A hook that changes the account once, just before page `number` of `path` is served."""
    done: list[bool] = []

    def hook(request: SandboxRequest) -> None:
        if request.path == f"/api/v3{path}" and request.param("page") == str(number) and not done:
            done.append(True)
            change()

    return hook


@pytest.fixture
def small_pages(make_client: Callable[..., AteraClient]) -> Callable[[], AteraSink]:
    """A sink reading two items a page, so the demo account's six contracts and three customers span pages."""
    return lambda: AteraSink(lambda: make_client(items_in_page=2), custom_field=FIELD)


def posts(sandbox: AteraSandbox) -> list[str]:
    return [r.path for r in sandbox.writes() if r.method == "POST"]


def test_a_contract_deleted_between_pages_stops_the_push_instead_of_creating_a_second_one(
    small_pages: Callable[[], AteraSink], sandbox: AteraSandbox
) -> None:
    # Contract 102 deleted while page 1 ([101, 102]) is read: 103 moves onto page 1, and page 2 no longer has it.
    sandbox.before_read = on_page("/contracts", 2, lambda: sandbox.contracts.pop(102))
    with pytest.raises(DataError, match=r"atera: GET /contracts: the listing is inconsistent"):
        small_pages().push(m365())
    assert posts(sandbox) == []
    assert [c["ContractID"] for c in sandbox.contracts.values() if c["CustomerID"] == 2] == [103, 104]


def test_a_snapshot_of_a_list_that_shifted_says_so(small_pages: Callable[[], AteraSink], sandbox: AteraSandbox) -> None:
    sandbox.before_read = on_page("/contracts", 2, lambda: sandbox.contracts.pop(102))
    with pytest.raises(DataError, match="the listing is inconsistent"):
        small_pages().snapshot([ContractRef("Fabrikam Inc", None, "Microsoft 365 backup (per user)", None)])


def test_a_customer_deleted_between_pages_is_an_inconsistent_listing_not_a_wrong_psa_customer(
    small_pages: Callable[[], AteraSink], sandbox: AteraSandbox
) -> None:
    # Customers [1, 2] on page 1; Contoso deleted meanwhile, so Northwind (3) moves onto page 1 and is never seen.
    sandbox.before_read = on_page("/customers", 2, lambda: sandbox.customers.pop(1))
    line = m365("Northwind Traders", contract="Server backup (per GB)", psa={})
    with pytest.raises(DataError, match=r"atera: GET /customers: the listing is inconsistent") as caught:
        small_pages().push(line)
    assert "psa_customer" not in str(caught.value)


def test_a_customer_seen_on_two_pages_is_an_inconsistent_listing_not_two_customers(
    small_pages: Callable[[], AteraSink], sandbox: AteraSandbox
) -> None:
    def insert_first() -> None:
        # A customer created meanwhile and listed first: Fabrikam (2) moves onto page 2 after page 1 showed it.
        others = dict(sandbox.customers)
        sandbox.customers.clear()
        sandbox.customers[1500] = {"CustomerID": 1500, "CustomerName": "Adatum"}
        sandbox.customers.update(others)

    sandbox.before_read = on_page("/customers", 2, insert_first)
    with pytest.raises(DataError, match="the listing is inconsistent") as caught:
        small_pages().push(m365(contract="Server backup (per GB)", psa={}))
    assert "customers named" not in str(caught.value)


def test_a_server_that_ignores_the_page_number_is_read_twice_not_for_hours(
    make_client: Callable[..., AteraClient], sandbox: AteraSandbox
) -> None:
    sandbox.ignore_page = True
    client = make_client(items_in_page=2)
    with pytest.raises(DataError, match=r"atera: GET /customers: .*ignores the page number"):
        list(client.customers())
    assert [r.param("page") for r in sandbox.requests] == ["1", "2"]


def test_a_contract_is_created_only_when_its_customer_s_contracts_read_just_before_show_it_absent(
    small_pages: Callable[[], AteraSink], sandbox: AteraSandbox
) -> None:
    sink = small_pages()
    northwind = m365("Northwind Traders")
    sink.snapshot([ContractRef(northwind.psa_customer, None, northwind.contract, None)])
    # Someone creates the contract in Atera after the run listed the contracts, before its push.
    rate = sandbox.rates["products"][13]
    sandbox.contracts[7000] = retainer_contract(3, "Northwind Traders", 7000, northwind.contract, rate)
    result = sink.push(northwind)
    assert posts(sandbox) == []
    assert result.contract_id == 7000
    assert sandbox.contracts[7000]["RetainerFlatFeeContract"]["Quantity"] == 12
