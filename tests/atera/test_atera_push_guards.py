"""What a push may change in Atera: the Quantity of a contract that is current now (not when the run listed it), and
a contract created only where no close one exists."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connector.interfaces.psa import PushRefused
from mappings.lines import Line, Outcome
from mappings.truth import ContractRef
from providers.atera.client import AteraClient
from providers.atera.sandbox import AteraSandbox
from providers.atera.sink import AteraSink

FIELD = "Billing connector"
SERVER = ContractRef("Contoso Ltd", None, "Server backup (per GB)", None)


def server_gb(quantity: str = "600", **changes: Any) -> Line:
    line = Line(
        psa_customer="Contoso Ltd",
        contract="Server backup (per GB)",
        period_key="2026-11",
        metric="axcient.server_gb",
        quantity=Decimal(quantity),
        unit="GB",
        rate=Decimal("0.12"),
        amount=Decimal(quantity) * Decimal("0.12"),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        psa={"rate_sku": "BFF-SERVER-GB"},
    )
    return dataclasses.replace(line, **changes)


@pytest.fixture
def sink(make_client: Callable[..., AteraClient]) -> AteraSink:
    return AteraSink(make_client, custom_field=FIELD)


def contract_writes(sandbox: AteraSandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sandbox.writes() if r.path.startswith("/api/v3/contracts")]


# -- the header sent is the one Atera holds at the write -----------------------------------------------------------


def test_a_contract_deactivated_after_the_listing_is_not_written_nor_reactivated(
    sink: AteraSink, sandbox: AteraSandbox
) -> None:
    sink.snapshot([SERVER])
    held = sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"]
    # Someone ends the contract in Atera after the run listed it, before its push.
    sandbox.contracts[101].update(Active=False, EndDate="2026-10-31T00:00:00")
    with pytest.raises(PushRefused, match="is inactive") as caught:
        sink.push(server_gb())
    assert caught.value.outcome is Outcome.CONTRACT_INACTIVE
    assert contract_writes(sandbox) == []
    assert (sandbox.contracts[101]["Active"], sandbox.contracts[101]["EndDate"]) == (False, "2026-10-31T00:00:00")
    assert sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] == held


def test_a_contract_ended_after_the_listing_is_not_written(sink: AteraSink, sandbox: AteraSandbox) -> None:
    sink.snapshot([SERVER])
    sandbox.contracts[101]["EndDate"] = "2026-10-31T00:00:00"
    with pytest.raises(PushRefused, match="ended 2026-10-31") as caught:
        sink.push(server_gb())
    assert caught.value.outcome is Outcome.CONTRACT_ENDED
    assert contract_writes(sandbox) == []
    assert sandbox.contracts[101]["EndDate"] == "2026-10-31T00:00:00"


def test_a_header_edited_after_the_listing_is_kept_by_the_quantity_write(
    sink: AteraSink, sandbox: AteraSandbox
) -> None:
    sink.snapshot([SERVER])
    sandbox.contracts[101].update(Taxable=True, Default=True, EndDate="2027-12-31T00:00:00")
    sink.push(server_gb())
    after = sandbox.contracts[101]
    assert (after["Taxable"], after["Default"], after["EndDate"]) == (True, True, "2027-12-31T00:00:00")
    assert after["RetainerFlatFeeContract"]["Quantity"] == 600
    # The header went out as read just before the write.
    (put,) = [r for r in sandbox.writes() if r.method == "PUT" and r.path == "/api/v3/contracts/101"]
    assert put.json()["Taxable"] is True and put.json()["EndDate"] == "2027-12-31T00:00:00"


# -- create_if_missing never creates a contract beside the one meant ----------------------------------------------


def creatable(contract: str, rate_sku: str = "BFF-SERVER-GB", **changes: Any) -> Line:
    return server_gb(contract=contract, psa={"rate_sku": rate_sku, "create_if_missing": True}, **changes)


def test_a_typo_in_a_creatable_contract_name_holds_with_did_you_mean_and_creates_nothing(
    sink: AteraSink, sandbox: AteraSandbox
) -> None:
    with pytest.raises(PushRefused, match=r"did you mean 'Server backup \(per GB\)' \(id 101\)") as caught:
        sink.push(creatable("Server backup per GB"))
    assert caught.value.outcome is Outcome.CONTRACT_MISSING
    assert sandbox.writes() == []


def test_a_creatable_contract_on_a_rate_product_the_customer_has_a_contract_on_is_held(
    sink: AteraSink, sandbox: AteraSandbox
) -> None:
    with pytest.raises(PushRefused, match=r"'Server backup \(per GB\)' \(id 101\).*same rate product BFF-SERVER-GB"):
        sink.push(creatable("Offsite copies"))
    assert sandbox.writes() == []


def test_a_contract_far_from_every_other_is_created(sink: AteraSink, sandbox: AteraSandbox) -> None:
    result = sink.push(creatable("Workstation backup (per PC)", rate_sku="BFF-PC", rate=Decimal("4.00")))
    assert sandbox.contracts[result.contract_id]["ContractName"] == "Workstation backup (per PC)"
