"""Fault injection: `connector sync` SIGKILLed before and after every Autotask write of a push, then rerun to the
end (the machinery is `killing.py`'s, shared with the other PSAs' suites).

Autotask takes a create-only adjustment per changed line (a signed change of units from the period's first day,
never read back, changed or removed) and a POST per contract service a mapping adds with `create_if_missing`. An
adjustment sent twice would bill twice for good, so each kill must end, after the rerun, with every service's units
exactly the reference push's in every period: never above, never below, and the adjustments Autotask took the same.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from providers.autotask.sandbox import API_PREFIX, AutotaskSandbox
from providers.autotask.verify import parse_ref
from tests.clock import MONTH

from .killing import Psa, Reference, assert_recovers, kill_points, reference_for, sync_killed, world

CONTRACTS = f"{API_PREFIX}/V1.0/Contracts"
# The demo's first push: 7 adjustments (one per line) and 3 contract services added (`create_if_missing`).
FIRST_PUSH_WRITES = 10
# After `grow_the_vendor_data`: the lines whose whole units change, an adjustment each.
SECOND_PUSH_WRITES = 4
# One kill point per kind of write, each killed after the write landed and before the answer came back; they run by
# default (a few seconds). The others run with `pytest -m slow`.
FAST_POINTS = {
    ("first", 1): f"POST {CONTRACTS}/501/ServiceAdjustments",  # Contoso's users: units changed
    ("first", 3): f"POST {CONTRACTS}/501/Services",  # Contoso's PCs: the service added, before its adjustment
    ("second", 1): f"POST {CONTRACTS}/501/ServiceAdjustments",  # a changed quantity over the connector's own
}


def service_named(sandbox: AutotaskSandbox, contract_service_id: int) -> str:
    held = sandbox.contract_services[contract_service_id]
    contract = sandbox.contracts[held["contractID"]]
    company = sandbox.companies[contract["companyID"]]["companyName"]
    sku = sandbox.services[held["serviceID"]]["sku"]
    return f"{company} / {contract['contractName']} / {sku}"


def autotask_state(sandbox: AutotaskSandbox) -> dict[str, list[Any]]:
    """The whole database by names, not IDs: per contract service its price, the adjustments it took (date and
    change: the API can never read them, the sandbox can) and its units on the first day of this month and the
    next; something created twice is a list of two."""
    first = date.fromisoformat(f"{MONTH}-01")
    following = (first + timedelta(days=32)).replace(day=1)
    changes: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for adjustment in sandbox.adjustments:
        changes[adjustment["contractServiceID"]].append((adjustment["effectiveDate"], adjustment["unitChange"]))
    state: dict[str, list[Any]] = defaultdict(list)
    for number, held in sandbox.contract_services.items():
        name = service_named(sandbox, number)
        units = [sandbox.units_on(number, day) for day in (first, following)]
        state[f"service {name}"].append(
            {"unitPrice": held.get("unitPrice"), "adjustments": sorted(changes[number]), "units": units}
        )
    for kind, records in (("contracts", sandbox.contracts), ("companies", sandbox.companies)):
        state[kind].append(dict(records))
    state["invoices"].append(dict(sandbox.invoices))
    return dict(state)


def created_twice(sandbox: AutotaskSandbox) -> list[str]:
    """Contract services (per company, contract and service) Autotask holds more than once."""
    named = Counter(service_named(sandbox, number) for number in sandbox.contract_services)
    return [f"contract service {name} x{n}" for name, n in named.items() if n > 1]


def service_ref_named(sandbox: AutotaskSandbox, psa_ref: str | None) -> str | None:
    """The contract service a `contract <ID>, service <ID>` reference points to, as `autotask_state` keys it."""
    ids = parse_ref(psa_ref or "")
    if ids is None or ids[1] not in sandbox.contract_services:
        return psa_ref
    return service_named(sandbox, ids[1])


AUTOTASK = Psa("autotask", autotask_state, created_twice, service_ref_named)


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reference]:
    """Uninterrupted first and second pushes, each from fresh sandboxes: the states every killed push must reach."""
    return {
        "first": reference_for(tmp_path_factory.mktemp("at-first"), AUTOTASK, second_push=False),
        "second": reference_for(tmp_path_factory.mktemp("at-second"), AUTOTASK, second_push=True),
    }


def test_the_kill_points_cover_every_write_of_the_reference_pushes(references: dict[str, Reference]) -> None:
    # The kill points are counted here, not at collection: if the demo's data changes, change these counts.
    first, second = references["first"], references["second"]
    assert len(first.writes) == FIRST_PUSH_WRITES, first.writes
    assert len(second.writes) == SECOND_PUSH_WRITES, second.writes
    adjustments = [w for w in first.writes if w.endswith("/ServiceAdjustments")]
    services = [w for w in first.writes if w.endswith("/Services")]
    assert (len(adjustments), len(services)) == (7, 3), first.writes
    assert all(w.endswith("/ServiceAdjustments") for w in second.writes), second.writes
    for (push, number), kind in FAST_POINTS.items():
        assert references[push].writes[number - 1].startswith(kind), (push, number, references[push].writes)
    for reference in (first, second):
        statuses = {status for status, _, _ in reference.outbox.values()}
        assert statuses == {"pushed"}, reference.outbox
    # Each added service is there once, and each service took at most one adjustment of this month per push.
    for sku in ("BKP-WS-PC", "BKP-WS-GB", "BKP-ONLINE-GB"):
        named = [key for key in first.psa if key.startswith("service ") and key.endswith(f" / {sku}")]
        assert len(named) == 1 and len(first.psa[named[0]]) == 1, named


@pytest.mark.parametrize(("number", "landed"), kill_points("first", FIRST_PUSH_WRITES, FAST_POINTS))
def test_a_first_push_killed_at_any_write_ends_in_the_reference_state(
    tmp_path: Path, references: dict[str, Reference], number: int, landed: bool
) -> None:
    with world(tmp_path, AUTOTASK, second_push=False) as made:
        killed_at = sync_killed(made, number, landed=landed)
        assert_recovers(made, references["first"], killed_at)


@pytest.mark.parametrize(("number", "landed"), kill_points("second", SECOND_PUSH_WRITES, FAST_POINTS))
def test_a_second_push_after_the_vendor_data_changed_killed_at_any_write_ends_in_the_reference_state(
    tmp_path: Path, references: dict[str, Reference], number: int, landed: bool
) -> None:
    with world(tmp_path, AUTOTASK, second_push=True) as made:
        killed_at = sync_killed(made, number, landed=landed)
        assert_recovers(made, references["second"], killed_at)
