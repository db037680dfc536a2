"""Fault injection: `connector sync` SIGKILLed before and after every ConnectWise write of a push, then rerun to the
end (the machinery is `killing.py`'s, shared with the Atera suite).

ConnectWise takes one write per changed line: a PATCH that sets an addition's quantity and the connector's record
together, or a POST that adds the addition (record included) a mapping asks for with `create_if_missing`. Contoso's
"""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from providers.connectwise.sandbox import API_PREFIX, ConnectWiseSandbox
from providers.connectwise.verify import parse_ref

from .killing import Psa, Reference, assert_recovers, kill_points, reference_for, sync_killed, world

AGREEMENTS = f"{API_PREFIX}/finance/agreements"
# The demo's first push: 4 quantities set (one PATCH each) and 3 additions created (one POST each).
FIRST_PUSH_WRITES = 7
# After `grow_the_vendor_data`: the quantities that change, a PATCH each.
SECOND_PUSH_WRITES = 4
# One kill point per kind of write, each killed after the write landed and before the answer came back; they run by
# default (a few seconds). The others run with `pytest -m slow`.
FAST_POINTS = {
    ("first", 1): f"PATCH {AGREEMENTS}/501/additions/601",  # a quantity and its record set (Contoso's users)
    ("first", 3): f"POST {AGREEMENTS}/501/additions",  # an addition created with its record (Contoso's PCs)
    ("second", 1): f"PATCH {AGREEMENTS}/501/additions/602",  # a changed quantity over a record naming the old one
}
# What the sandbox stamps on every record it writes (when, by whom): a rerun writes at another instant.
STAMPED = {"_info"}


def connectwise_state(sandbox: ConnectWiseSandbox) -> dict[str, list[Any]]:
    """The whole account by names, not IDs (a rerun may create in another order); something created twice is a list
    of two. An addition is named by its company, agreement and product, its record (custom field) beside it."""
    state: dict[str, list[Any]] = defaultdict(list)
    for agreement_id, additions in sandbox.additions.items():
        for addition_id, addition in additions.items():
            name = addition_named(sandbox, agreement_id, addition_id)
            state[f"addition {name}"].append(unstamped(addition, {"id"}))
            state[f"record on {name}"].append(sandbox.custom_value(addition_id))
    for item in sandbox.catalog.values():
        state[f"catalog {item['identifier']}"].append(unstamped(item, {"id"}))
    for kind, records in (
        ("agreements", sandbox.agreements),
        ("companies", sandbox.companies),
        ("contacts", sandbox.contacts),
        ("invoices", sandbox.invoices),
    ):
        state[kind].append({number: unstamped(record) for number, record in records.items()})
    return dict(state)


def unstamped(record: dict[str, Any], ids: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """A record less its write stamp and the `ids` the server gave it."""
    return {key: copy.deepcopy(value) for key, value in record.items() if key not in STAMPED | ids}


def addition_named(sandbox: ConnectWiseSandbox, agreement_id: int, addition_id: int) -> str:
    agreement = sandbox.agreements[agreement_id]
    product = sandbox.additions[agreement_id][addition_id]["product"]["identifier"]
    return f"{agreement['company']['name']} / {agreement['name']} / {product}"


def created_twice(sandbox: ConnectWiseSandbox) -> list[str]:
    """Additions (per agreement and product) and catalog items (per identifier) ConnectWise holds more than once."""
    additions = Counter(
        addition_named(sandbox, agreement_id, addition_id)
        for agreement_id, found in sandbox.additions.items()
        for addition_id in found
    )
    items = Counter(item["identifier"] for item in sandbox.catalog.values())
    return [f"addition {name} x{n}" for name, n in additions.items() if n > 1] + [
        f"catalog item {identifier} x{n}" for identifier, n in items.items() if n > 1
    ]


def addition_ref_named(sandbox: ConnectWiseSandbox, psa_ref: str | None) -> str | None:
    """The addition an `agreement <ID>, addition <ID>` reference points to, by name as `connectwise_state` keys it."""
    ids = parse_ref(psa_ref or "")
    if ids is None or ids[1] not in sandbox.additions.get(ids[0], {}):
        return psa_ref
    return addition_named(sandbox, *ids)


CONNECTWISE = Psa("connectwise", connectwise_state, created_twice, addition_ref_named)


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reference]:
    """Uninterrupted first and second pushes, each from fresh sandboxes: the states every killed push must reach."""
    return {
        "first": reference_for(tmp_path_factory.mktemp("cw-first"), CONNECTWISE, second_push=False),
        "second": reference_for(tmp_path_factory.mktemp("cw-second"), CONNECTWISE, second_push=True),
    }


def test_the_kill_points_cover_every_write_of_the_reference_pushes(references: dict[str, Reference]) -> None:
    # The kill points are counted here, not at collection: if the demo's data changes, change these counts.
    first, second = references["first"], references["second"]
    assert len(first.writes) == FIRST_PUSH_WRITES, first.writes
    assert len(second.writes) == SECOND_PUSH_WRITES, second.writes
    assert sorted(w.split()[0] for w in first.writes) == ["PATCH"] * 4 + ["POST"] * 3, first.writes
    assert {w.split()[0] for w in second.writes} == {"PATCH"}, second.writes
    for (push, number), kind in FAST_POINTS.items():
        assert references[push].writes[number - 1].startswith(kind), (push, number, references[push].writes)
    for reference in (first, second):
        statuses = {status for status, _, _ in reference.outbox.values()}
        assert statuses == {"pushed"}, reference.outbox
    # Each created addition is there once, with its record.
    for product in ("BKP-WS-PC", "BKP-WS-GB", "BKP-ONLINE-GB"):
        named = [key for key in first.psa if key.startswith("addition ") and key.endswith(f" / {product}")]
        assert len(named) == 1 and len(first.psa[named[0]]) == 1, named
        assert first.psa[named[0].replace("addition ", "record on ", 1)][0] is not None


@pytest.mark.parametrize(("number", "landed"), kill_points("first", FIRST_PUSH_WRITES, FAST_POINTS))
def test_a_first_push_killed_at_any_write_ends_in_the_reference_state(
    tmp_path: Path, references: dict[str, Reference], number: int, landed: bool
) -> None:
    with world(tmp_path, CONNECTWISE, second_push=False) as made:
        killed_at = sync_killed(made, number, landed=landed)
        assert_recovers(made, references["first"], killed_at)


@pytest.mark.parametrize(("number", "landed"), kill_points("second", SECOND_PUSH_WRITES, FAST_POINTS))
def test_a_second_push_after_the_vendor_data_changed_killed_at_any_write_ends_in_the_reference_state(
    tmp_path: Path, references: dict[str, Reference], number: int, landed: bool
) -> None:
    with world(tmp_path, CONNECTWISE, second_push=True) as made:
        killed_at = sync_killed(made, number, landed=landed)
        assert_recovers(made, references["second"], killed_at)
