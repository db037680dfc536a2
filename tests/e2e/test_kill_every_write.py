"""Fault injection: `connector sync` SIGKILLed before and after every Atera write of a push, then rerun to the end."""

from __future__ import annotations

import copy
import io
import json
import os
import signal
import subprocess
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.operations.demo import STORE_NAME, Sandboxes, running_sandboxes, write_config
from connector.store import Store
from providers.atera.sandbox import AteraSandbox
from providers.axcient.generate import demo_dataset
from providers.sandbox import SandboxRequest, SandboxResponse
from tests.clock import MONTH, frozen_python

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
# `make test` deselects them (`-m 'not slow'` in pyproject.toml); `make test-slow` runs them.
SLOW = (pytest.mark.slow,)
KILLED = -signal.SIGKILL
# Far above a sync's second or so: only a hung process reaches it.
PROCESS_TIMEOUT = 60


@dataclass(frozen=True)
class Reference:
    """What an uninterrupted push leaves: Atera's account, the outbox, and the writes it took to get there."""

    atera: dict[str, Any]
    outbox: dict[tuple[str, ...], tuple[str, str | None, str | None]]
    writes: list[str]


@dataclass(frozen=True)
class World:
    """The three sandbox vendors and a connector configured against them, in one directory."""

    directory: Path
    sandboxes: Sandboxes
    config: Path

    @property
    def atera(self) -> AteraSandbox:
        sandbox: AteraSandbox = self.sandboxes["atera"]
        return sandbox

    def sync(self) -> tuple[int, dict[str, Any]]:
        """`connector sync` in this process, run to its end: the exit code and the JSON report."""
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["sync", "--config", str(self.config), "--format", "json"])
        assert out.getvalue().startswith("{"), err.getvalue()
        report: dict[str, Any] = json.loads(out.getvalue())
        return code, report


@contextmanager
def world(directory: Path, *, second_push: bool) -> Iterator[World]:
    """Fresh sandboxes and an empty store; for a second push, the first one done and the vendor data changed."""
    with running_sandboxes(directory, MONTH) as sandboxes:
        config = write_config(directory, sandboxes)
        # Retries should not make the tests wait.
        config.write_text(config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
        made = World(directory, sandboxes, config)
        if second_push:
            code, report = made.sync()
            assert code == 0, report
            grow_the_vendor_data(sandboxes)
        yield made


def grow_the_vendor_data(sandboxes: Sandboxes) -> None:
    """Between two syncs of the month, backups grow by a fifth and a suspended PC comes back: four lines change."""
    data = demo_dataset()
    for account in data["accounts"]:
        account["used_mb_compressed"] = account["used_mb_compressed"] * 6 // 5
        if account["computer_name"] == "CONTOSO-PC02":
            account["status"] = "active"
    sandboxes["axcient"].load(data)


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


def outbox_state(made: World) -> dict[tuple[str, ...], tuple[str, str | None, str | None]]:
    """Each line's status, the quantity the store says Atera holds, and the contract (by name) it went to."""
    with Store.open(made.directory / STORE_NAME) as store:
        return {
            tuple(stored.line.identity): (
                stored.status.value,
                None if stored.pushed_quantity is None else str(stored.pushed_quantity),
                contract_named(made.atera, stored.psa_ref),
            )
            for stored in store.outbox.lines()
        }


def contract_named(atera: AteraSandbox, psa_ref: str | None) -> str | None:
    """The contract a `contract/<ID>` reference points to, by name as `atera_state` keys it."""
    kind, _, number = (psa_ref or "").partition("/")
    contract = atera.contracts.get(int(number)) if kind == "contract" and number.isdigit() else None
    return f"{contract['CustomerName']} / {contract['ContractName']}" if contract else psa_ref


def described(request: SandboxRequest) -> str:
    """A write as the kill points name it: method and path."""
    return f"{request.method} {request.path}"


class KillAt:
    """The Atera sandbox's write hooks: SIGKILL the sync process at its `number`th write, before the write lands
    or after it landed and before the process hears back (then it can only learn of it by reading Atera)."""

    def __init__(self, number: int, *, landed: bool) -> None:
        self.number = number
        self.landed = landed
        self.seen = 0
        self.target: SandboxRequest | None = None
        self.process: subprocess.Popen[str] | None = None
        self.started = threading.Event()
        # The hook holds the response until the process is reaped, so the dead process cannot have read it.
        self.reaped = threading.Event()
        self._lock = threading.Lock()

    def before(self, request: SandboxRequest) -> SandboxResponse | None:
        with self._lock:
            self.seen += 1
            if self.seen != self.number:
                return None
            self.target = request
        if self.landed:
            return None
        self._kill()
        return SandboxResponse(503)  # instead of applying the write; nobody is left to read it

    def after(self, request: SandboxRequest, response: SandboxResponse) -> None:
        if self.landed and request is self.target:
            self._kill()

    def _kill(self) -> None:
        self.started.wait(PROCESS_TIMEOUT)
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.reaped.wait(PROCESS_TIMEOUT)


def sync_killed(made: World, number: int, *, landed: bool) -> str:
    """Run `connector sync` as its own process and SIGKILL it at the given write; returns which write that was."""
    killer = KillAt(number, landed=landed)
    made.atera.before_write, made.atera.after_write = killer.before, killer.after
    try:
        code, err = run_process(made, killer)
    finally:
        made.atera.before_write = made.atera.after_write = None
    assert killer.target is not None, f"the sync made {killer.seen} writes, not {number}, and exited {code}: {err}"
    assert code == KILLED, f"the sync exited {code}, not killed: {err}"
    return f"{'after' if landed else 'before'} write {number} ({described(killer.target)})"


def run_process(made: World, killer: KillAt) -> tuple[int, str]:
    """`python -m connector.cli sync` run to its end or its kill: the exit code and what it wrote to stderr."""
    command = frozen_python("-m", "connector.cli", "sync", "--config", str(made.config), "--format", "json")
    # Its report is not needed (the reruns say what happened); its stderr says why a sync was not killed.
    with subprocess.Popen(
        command, cwd=made.directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        killer.process = process
        killer.started.set()
        try:
            _, err = process.communicate(timeout=PROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            killer.reaped.set()
    return process.returncode, err


def assert_recovers(made: World, reference: Reference, killed_at: str) -> None:
    """Two reruns: the first ends the push, the second finds nothing to do; Atera and the store end as the
    reference's, with nothing created twice."""
    code, report = made.sync()
    outcomes = {line["outcome"] for line in report["lines"]}
    assert (code, report["status"]) == (0, "ok"), f"killed {killed_at}, the rerun: {report}"
    assert outcomes <= {"pushed", "unchanged"}, f"killed {killed_at}, the rerun: {report}"
    writes = len(made.atera.writes())
    code, report = made.sync()
    assert code == 0 and {line["outcome"] for line in report["lines"]} == {"unchanged"}, f"killed {killed_at}"
    assert len(made.atera.writes()) == writes, f"killed {killed_at}, a sync after the rerun still wrote to Atera"
    assert created_twice(made.atera) == [], f"killed {killed_at}"
    assert atera_state(made.atera) == reference.atera, f"killed {killed_at}, Atera differs from the reference"
    assert outbox_state(made) == reference.outbox, f"killed {killed_at}, the outbox differs from the reference"


def reference_for(directory: Path, *, second_push: bool) -> Reference:
    with world(directory, second_push=second_push) as made:
        before = len(made.atera.writes())
        code, report = made.sync()
        assert code == 0 and {line["outcome"] for line in report["lines"]} <= {"pushed", "unchanged"}, report
        writes = [described(request) for request in made.atera.writes()[before:]]
        return Reference(atera_state(made.atera), outbox_state(made), writes)


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reference]:
    """Uninterrupted first and second pushes, each from fresh sandboxes: the states every killed push must reach."""
    return {
        "first": reference_for(tmp_path_factory.mktemp("first"), second_push=False),
        "second": reference_for(tmp_path_factory.mktemp("second"), second_push=True),
    }


def kill_points(push: str, writes: int) -> list[Any]:
    return [
        pytest.param(
            number,
            landed,
            id=f"{'after' if landed else 'before'}-write-{number:02d}",
            marks=() if landed and (push, number) in FAST_POINTS else SLOW,
        )
        for number in range(1, writes + 1)
        for landed in (False, True)
    ]


def test_the_kill_points_cover_every_write_of_the_reference_pushes(references: dict[str, Reference]) -> None:
    # The kill points are counted here, not at collection: if the demo's data changes, change these counts.
    assert len(references["first"].writes) == FIRST_PUSH_WRITES, references["first"].writes
    assert len(references["second"].writes) == SECOND_PUSH_WRITES, references["second"].writes
    for reference in references.values():
        assert {status for status, _, _ in reference.outbox.values()} == {"pushed"}
    for (push, number), kind in FAST_POINTS.items():
        assert references[push].writes[number - 1].startswith(kind), (push, number, references[push].writes)


@pytest.mark.parametrize(("number", "landed"), kill_points("first", FIRST_PUSH_WRITES))
def test_a_first_push_killed_at_any_write_ends_in_the_reference_state(
    tmp_path: Path, references: dict[str, Reference], number: int, landed: bool
) -> None:
    with world(tmp_path, second_push=False) as made:
        killed_at = sync_killed(made, number, landed=landed)
        assert_recovers(made, references["first"], killed_at)


@pytest.mark.parametrize(("number", "landed"), kill_points("second", SECOND_PUSH_WRITES))
def test_a_second_push_after_the_vendor_data_changed_killed_at_any_write_ends_in_the_reference_state(
    tmp_path: Path, references: dict[str, Reference], number: int, landed: bool
) -> None:
    with world(tmp_path, second_push=True) as made:
        killed_at = sync_killed(made, number, landed=landed)
        assert_recovers(made, references["second"], killed_at)
