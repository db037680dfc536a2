"""What the kill-point suites share: `connector sync` run as its own process and SIGKILLed just before or just after
one write to a sandbox PSA, then rerun to the end, and the PSA and the outbox compared with an uninterrupted push.

Each suite names its PSA with a `Psa`: how its sandbox's state is read by names (a rerun may create in another
order, so IDs differ) and what it holds twice.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.operations.demo import STORE_NAME, Sandboxes, running_sandboxes, write_config
from connector.store import Store
from providers.axcient.generate import demo_dataset
from providers.sandbox import SandboxRequest, SandboxResponse
from tests.clock import MONTH, frozen_python

# `make test` deselects them (`-m 'not slow'` in pyproject.toml); `make test-slow` runs them.
SLOW = (pytest.mark.slow,)
KILLED = -signal.SIGKILL
# Far above a sync's second or so: only a hung process reaches it.
PROCESS_TIMEOUT = 60

Outbox = dict[tuple[str, ...], tuple[str, str | None, str | None]]


@dataclass(frozen=True)
class Psa:
    """The PSA a suite kills writes to, by its registry name, and how its sandbox is compared.

    `state` is the sandbox's whole account by names, `created_twice` what it holds more than once, and `ref_named`
    a line's PSA reference as `state` names its target. A finished push leaves every line pushed or unchanged.
    """

    name: str
    state: Callable[[Any], dict[str, list[Any]]]
    created_twice: Callable[[Any], list[str]]
    ref_named: Callable[[Any, str | None], str | None]


@dataclass(frozen=True)
class Reference:
    """What an uninterrupted push leaves: the PSA's account, the outbox, and the writes it took to get there."""

    psa: dict[str, Any]
    outbox: Outbox
    writes: list[str]


@dataclass(frozen=True)
class World:
    """The sandbox vendors and PSA and a connector configured against them, in one directory."""

    directory: Path
    sandboxes: Sandboxes
    config: Path
    psa: Psa

    @property
    def sandbox(self) -> Any:
        """The PSA's sandbox server."""
        return self.sandboxes[self.psa.name]

    def sync(self) -> tuple[int, dict[str, Any]]:
        """`connector sync` in this process, run to its end: the exit code and the JSON report."""
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["sync", "--config", str(self.config), "--format", "json"])
        assert out.getvalue().startswith("{"), err.getvalue()
        report: dict[str, Any] = json.loads(out.getvalue())
        return code, report

    def settled(self, code: int, report: dict[str, Any]) -> bool:
        """Whether a sync ended as a finished push does: exit 0, every line pushed or unchanged."""
        outcomes = {line["outcome"] for line in report["lines"]}
        return outcomes <= {"pushed", "unchanged"} and (code, report["status"]) == (0, "ok")


@contextmanager
def world(directory: Path, psa: Psa, *, second_push: bool) -> Iterator[World]:
    """Fresh sandboxes and an empty store; for a second push, the first one done and the vendor data changed."""
    with running_sandboxes(directory, MONTH, psa.name) as sandboxes:
        config = write_config(directory, sandboxes)
        # Retries should not make the tests wait.
        config.write_text(config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
        made = World(directory, sandboxes, config, psa)
        if second_push:
            code, report = made.sync()
            assert made.settled(code, report), report
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


def outbox_state(made: World) -> Outbox:
    """Each line's status, the quantity the store says the PSA holds, and where it went (by name)."""
    with Store.open(made.directory / STORE_NAME) as store:
        return {
            tuple(stored.line.identity): (
                stored.status.value,
                None if stored.pushed_quantity is None else str(stored.pushed_quantity),
                made.psa.ref_named(made.sandbox, stored.psa_ref),
            )
            for stored in store.outbox.lines()
        }


def described(request: SandboxRequest) -> str:
    """A write as the kill points name it: method and path."""
    return f"{request.method} {request.path}"


class KillAt:
    """The PSA sandbox's write hooks: SIGKILL the sync process at its `number`th write, before the write lands
    or after it landed and before the process hears back (then it can only learn of it by reading the PSA)."""

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
    sandbox = made.sandbox
    sandbox.before_write, sandbox.after_write = killer.before, killer.after
    try:
        code, err = run_process(made, killer)
    finally:
        sandbox.before_write = sandbox.after_write = None
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
    """Two reruns: the first ends the push, the second finds nothing to do; the PSA and the store end as the
    reference's, with nothing created twice."""
    psa, sandbox = made.psa, made.sandbox
    code, report = made.sync()
    assert made.settled(code, report), f"killed {killed_at}, the rerun: {report}"
    writes = len(sandbox.writes())
    code, report = made.sync()
    outcomes = {line["outcome"] for line in report["lines"]}
    assert made.settled(code, report) and outcomes == {"unchanged"}, f"killed {killed_at}: {report}"
    assert len(sandbox.writes()) == writes, f"killed {killed_at}, a sync after the rerun still wrote to {psa.name}"
    assert psa.created_twice(sandbox) == [], f"killed {killed_at}"
    assert psa.state(sandbox) == reference.psa, f"killed {killed_at}, {psa.name} differs from the reference"
    assert outbox_state(made) == reference.outbox, f"killed {killed_at}, the outbox differs from the reference"


def reference_for(directory: Path, psa: Psa, *, second_push: bool) -> Reference:
    """An uninterrupted push from fresh sandboxes (after a first push and grown vendor data, for a second one)."""
    with world(directory, psa, second_push=second_push) as made:
        before = len(made.sandbox.writes())
        code, report = made.sync()
        assert made.settled(code, report), report
        writes = [described(request) for request in made.sandbox.writes()[before:]]
        return Reference(psa.state(made.sandbox), outbox_state(made), writes)


def kill_points(push: str, writes: int, fast: dict[tuple[str, int], str]) -> list[Any]:
    """Before and after each of a push's writes; only the `fast` ones killed after their write run by default."""
    return [
        pytest.param(
            number,
            landed,
            id=f"{'after' if landed else 'before'}-write-{number:02d}",
            marks=() if landed and (push, number) in fast else SLOW,
        )
        for number in range(1, writes + 1)
        for landed in (False, True)
    ]
