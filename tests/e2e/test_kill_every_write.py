"""Fault injection: `connector sync` SIGKILLed before and after every Atera write of a push, then rerun to the end."""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from providers.atera.sandbox import AteraSandbox

from .killing import Psa, Reference, assert_recovers, kill_points, reference_for, sync_killed, world

# The demo's first push: 3 rate products and 5 contracts created, 2 contracts updated, 7 records written.
FIRST_PUSH_WRITES = 17
# After `grow_the_vendor_data`: 4 quantities change, each a contract update and its record.
SECOND_PUSH_WRITES = 8
# One kill point per kind of write, each killed after the write landed and before the answer came back; they run by
# default. The other kill points take over a minute together and run with `pytest -m slow`.
FAST_POINTS = {
    ("first", 3): "PUT /api/v3/contracts/",  # a quantity set
    ("first", 4): "PUT /api/v3/customvalues/",  # the connector's record written
    ("first", 5): "POST /api/v3/rates/products",  # a rate product created
    ("first", 6): "POST /api/v3/contracts",  # a contract created
    ("second", 1): "PUT /api/v3/contracts/",  # a changed quantity set while the record still names the old one
}


def atera_state(atera: AteraSandbox) -> dict[str, list[Any]]:
    """The whole account by names, not IDs (a rerun may create in another order); something created twice is a list
    of two."""
    names = {contract_id: f"{c['CustomerName']} / {c['ContractName']}" for contract_id, c in atera.contracts.items()}
    state: dict[str, list[Any]] = defaultdict(list)
    for contract_id, contract in atera.contracts.items():
        state[f"contract {names[contract_id]}"].append(without_ids(contract))
    for kind, rates in atera.rates.items():
        for rate in rates.values():
            state[f"rate {kind} {rate.get('SKU')}"].append(without_ids(rate))
    for (kind, item, field), value in atera.custom_values.items():
        state[f"{field} on {kind} {names.get(item, item) if kind == 'contract' else item}"].append(value)
    state["customers"].append(copy.deepcopy(atera.customers))
    state["invoices"].append(copy.deepcopy(atera.invoices))
    return dict(state)


def without_ids(item: dict[str, Any]) -> dict[str, Any]:
    """A contract or rate as Atera shows it, less the IDs Atera gave it and the rates inside it."""
    return {
        key: without_ids(value) if isinstance(value, dict) else copy.deepcopy(value)
        for key, value in item.items()
        if key not in {"ContractID", "RateID"}
    }


def created_twice(atera: AteraSandbox) -> list[str]:
    """Contracts (per customer and name) and rate products (per SKU) Atera holds more than once."""
    contracts = Counter((c["CustomerName"], c["ContractName"]) for c in atera.contracts.values())
    rates = Counter(rate.get("SKU") for rate in atera.rates["products"].values())
    return [f"contract {key} x{n}" for key, n in contracts.items() if n > 1] + [
        f"rate product {sku} x{n}" for sku, n in rates.items() if n > 1
    ]


def contract_named(atera: AteraSandbox, psa_ref: str | None) -> str | None:
    """The contract a `contract/<ID>` reference points to, by name as `atera_state` keys it."""
    kind, _, number = (psa_ref or "").partition("/")
    contract = atera.contracts.get(int(number)) if kind == "contract" and number.isdigit() else None
    return f"{contract['CustomerName']} / {contract['ContractName']}" if contract else psa_ref


ATERA = Psa("atera", atera_state, created_twice, contract_named)


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reference]:
    """Uninterrupted first and second pushes, each from fresh sandboxes: the states every killed push must reach."""
    return {
        "first": reference_for(tmp_path_factory.mktemp("first"), ATERA, second_push=False),
        "second": reference_for(tmp_path_factory.mktemp("second"), ATERA, second_push=True),
    }


def test_the_kill_points_cover_every_write_of_the_reference_pushes(references: dict[str, Reference]) -> None:
    # The kill points are counted here, not at collection: if the demo's data changes, change these counts.
    assert len(references["first"].writes) == FIRST_PUSH_WRITES, references["first"].writes
    assert len(references["second"].writes) == SECOND_PUSH_WRITES, references["second"].writes
    for reference in references.values():
        assert {status for status, _, _ in reference.outbox.values()} == {"pushed"}
    for (push, number), kind in FAST_POINTS.items():
        assert references[push].writes[number - 1].startswith(kind), (push, number, references[push].writes)


@pytest.mark.parametrize(("number", "landed"), kill_points("first", FIRST_PUSH_WRITES, FAST_POINTS))
def test_a_first_push_killed_at_any_write_ends_in_the_reference_state(
    tmp_path: Path, references: dict[str, Reference], number: int, landed: bool
) -> None:
    with world(tmp_path, ATERA, second_push=False) as made:
        killed_at = sync_killed(made, number, landed=landed)
        assert_recovers(made, references["first"], killed_at)


@pytest.mark.parametrize(("number", "landed"), kill_points("second", SECOND_PUSH_WRITES, FAST_POINTS))
def test_a_second_push_after_the_vendor_data_changed_killed_at_any_write_ends_in_the_reference_state(
    tmp_path: Path, references: dict[str, Reference], number: int, landed: bool
) -> None:
    with world(tmp_path, ATERA, second_push=True) as made:
        killed_at = sync_killed(made, number, landed=landed)
        assert_recovers(made, references["second"], killed_at)
