"""Atera onboarding against the sandbox: plans from what the account holds, creates exactly that, as the API allows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connector.core.errors import ConfigError
from providers.atera.client import AteraClient
from providers.atera.onboard import AteraOnboarder
from providers.atera.sandbox import AteraSandbox
from providers.onboarding import ContractWanted, NewCustomer, VendorContact

START = date(2026, 11, 1)


def contract(name: str, sku: str | None, rate: str | None = "0.10") -> ContractWanted:
    options = {"rate_sku": sku} if sku is not None else {}
    return ContractWanted(
        name, "axcient.total_gb", Decimal(rate) if rate else None, "Monthly", START, "2026-11", options
    )


def new(
    name: str = "Tailspin Toys", *contracts: ContractWanted, email: str | None = "dev@tailspin.example"
) -> NewCustomer:
    contact = VendorContact("axcient", "4", name, "Dev van Diaz", email)
    return NewCustomer(name, (("axcient", name, "4"),), contact, contracts or (contract("Online backup", "BFF-GB"),))


@pytest.fixture
def onboarder(client: AteraClient) -> AteraOnboarder:
    return AteraOnboarder(client, rate_category="Backup", sla_id=None)


def steps(plan: Any) -> list[tuple[str, str, bool]]:
    return [(s.kind, s.name, s.creates) for s in plan.steps]


def test_a_new_customer_needs_everything_and_gets_exactly_that(
    onboarder: AteraOnboarder, sandbox: AteraSandbox, openapi: Any
) -> None:
    [plan] = onboarder.plan([new()])
    assert steps(plan) == [
        ("customer", "Tailspin Toys", True),
        ("contact", "Dev van Diaz <dev@tailspin.example>", True),
        ("rate", "BFF-GB", True),
        ("contract", "Online backup", True),
    ]
    assert sandbox.writes() == []
    told: list[tuple[str, dict[str, Any]]] = []
    created = onboarder.create(plan, lambda event, details: told.append((event, details)))
    assert [kind for kind, _, _ in created.made] == ["customer", "contact", "rate", "contract"]
    assert [event for event, _ in told] == [
        "atera.customer_created",
        "atera.contact_created",
        "atera.rate_created",
        "atera.contract_created",
    ]
    assert len(sandbox.writes()) == 4
    contact = sandbox.contacts[-1]
    assert (contact["Firstname"], contact["Lastname"], contact["IsContactPerson"]) == ("Dev", "van Diaz", True)
    held = sandbox.contracts[created.made[-1][2]]
    assert held["CustomerID"] == created.customer_id and held["Active"] is True
    assert held["RetainerFlatFeeContract"]["Rate"]["SKU"] == "BFF-GB"
    assert held["StartDate"] == "2026-11-01T00:00:00"
    for request in sandbox.requests:
        openapi.check_request(request.path, request.method, request.query, request.body)


def test_what_atera_holds_is_found_not_created(onboarder: AteraOnboarder, sandbox: AteraSandbox) -> None:
    # Contoso Ltd, Ada's e-mail and the Server backup contract at rate BFF-SERVER-GB all exist in the sandbox.
    held = new("Contoso Ltd", contract("Server backup (per GB)", "BFF-SERVER-GB", "0.12"), email="ada@contoso.example")
    [plan] = onboarder.plan([held])
    assert [s.creates for s in plan.steps] == [False, False, False]
    assert plan.creates == []
    onboarder.create(plan, lambda *_: None)
    assert sandbox.writes() == []


def test_a_rate_product_two_customers_need_is_created_once(onboarder: AteraOnboarder, sandbox: AteraSandbox) -> None:
    plans = onboarder.plan([new("Tailspin Toys"), new("Wingtip Toys", email=None)])
    assert [s.name for s in plans[1].steps] == ["Wingtip Toys", "Online backup"]
    assert "no contact" in plans[1].notes[0]
    for plan in plans:
        onboarder.create(plan, lambda *_: None)
    assert [r["SKU"] for r in sandbox.rates["products"].values()].count("BFF-GB") == 1
    made = [c["CustomerName"] for c in sandbox.contracts.values() if c["ContractName"] == "Online backup"]
    assert sorted(made) == ["Northwind Traders", "Tailspin Toys", "Wingtip Toys"]  # Northwind's was there


@pytest.mark.parametrize(
    ("wanted", "problem"),
    [
        (contract("Online backup", None), "give atera = { rate_sku"),
        (contract("Online backup", "NEW-SKU", None), "Atera has no rate product 'NEW-SKU' and the template gives"),
        (contract("Server", "BFF-SERVER-GB", "0.13"), "Atera rate product 'BFF-SERVER-GB' costs 0.12"),
    ],
)
def test_a_contract_that_cannot_be_created_is_a_problem_and_nothing_is_written(
    onboarder: AteraOnboarder, sandbox: AteraSandbox, wanted: ContractWanted, problem: str
) -> None:
    [plan] = onboarder.plan([new("Tailspin Toys", wanted)])
    assert problem in plan.problems[0]
    with pytest.raises(ConfigError):
        onboarder.create(plan, lambda *_: None)
    assert sandbox.writes() == []


def test_two_customers_of_the_name_ask_for_the_id(onboarder: AteraOnboarder, sandbox: AteraSandbox) -> None:
    sandbox.customers[77] = {**sandbox.customers[1], "CustomerID": 77}
    [plan] = onboarder.plan([new("Contoso Ltd")])
    assert plan.steps == () and "psa_customer_id" in plan.problems[0]


def test_a_customer_made_since_the_plan_is_not_made_twice(onboarder: AteraOnboarder, sandbox: AteraSandbox) -> None:
    [plan] = onboarder.plan([new()])
    sandbox.customers[88] = {"CustomerID": 88, "CustomerName": "Tailspin Toys"}
    with pytest.raises(ConfigError, match="since the plan was made"):
        onboarder.create(plan, lambda *_: None)
    assert sandbox.writes() == []
