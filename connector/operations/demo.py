"""`connector demo`: the whole job against every registered source's sandbox and one PSA's: dry run, push, and push
again."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console

import providers
from connector.core.config import Settings
from connector.core.errors import ParameterError, Status
from connector.core.logs import configure_logging
from connector.operations.run import sync_once
from connector.sync.report import RunReport
from connector.wiring import load_settings
from providers.spec import DemoKit, DemoPart

STORE_NAME = "connector-state.db"
CONFIG_NAME = "connector.toml"
REPORT_NAME = "report.json"
# The demo's customer mappings ship as package data beside the providers: they name each source's customers and
# the PSA's per-line options, which only the providers may know.
MAPPINGS_FILE = "demo_mappings.toml"

# Its own console, not the CLI's: the demo runs below the CLI and imports none of it.
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

# The console's person in the demo, and the secret file holding their password.
CONSOLE_PERSON = "demo"
CONSOLE_SECRET = "console-demo"

_HEAD = f"""# Written by `connector demo` for its sandbox vendors (their ports change at every run).
[store]
path = "{STORE_NAME}"

[log]
level = "WARNING"

[http]
max_attempts = 3
backoff_initial_seconds = 0.2
"""


def title(name: str) -> str:
    """A provider's registry name as the demo's texts name it (its title)."""
    provider = providers.REGISTRY.get(name)
    return provider.title if provider is not None else name.capitalize()


@dataclass(frozen=True)
class Sandboxes:
    """Every registered provider's demo part, running, by registry name; `psa` names the PSA's."""

    parts: dict[str, DemoPart[Any]]
    psa: str
    psa_writes: Callable[[], int]
    psa_contracts: Callable[[Settings], list[dict[str, Any]]]

    def __getitem__(self, name: str) -> Any:
        """A provider's sandbox server (tests inject faults through it)."""
        return self.parts[name].sandbox


@dataclass
class DemoStep:
    title: str
    report: RunReport
    psa_writes: int


@dataclass
class DemoResult:
    config_path: Path
    store_path: Path
    report_path: Path
    steps: list[DemoStep]
    psa: str
    contracts_title: str
    contracts: list[dict[str, Any]]

    @property
    def psa_title(self) -> str:
        return title(self.psa)

    @property
    def console_person(self) -> str:
        return CONSOLE_PERSON

    @property
    def console_secret(self) -> Path:
        """The file holding the console person's password (never printed)."""
        return self.config_path.parent / "secrets" / f"{CONSOLE_SECRET}.key"

    @property
    def status(self) -> Status:
        """The last sync's status; failed if a repeated sync wrote anything (something would be billed twice)."""
        if any(step.psa_writes for step in self.steps[2:]):
            return Status.FAILED
        return self.steps[-1].report.status

    def to_data(self) -> dict[str, Any]:
        writes = f"{self.psa}_writes"
        return {
            "config": str(self.config_path),
            "store": str(self.store_path),
            "steps": [{"title": s.title, writes: s.psa_writes, "report": s.report.to_data()} for s in self.steps],
            f"{self.psa}_contracts": self.contracts,
        }


@contextmanager
def running_sandboxes(directory: Path, month: str, psa_name: str | None = None) -> Iterator[Sandboxes]:
    """Each registered source's demo part and the PSA's (`psa_name`, else the first registered), started on
    127.0.0.1 (ephemeral ports) and stopped on exit; the secrets they are reached with are written under
    `directory`."""
    psa = providers.REGISTRY.get(psa_name) if psa_name is not None else providers.psa()
    if psa is None or psa.role != "psa" or psa.load().demo is None:
        known = ", ".join(p.name for p in providers.psas() if p.load().demo is not None)
        raise ParameterError(f"--psa {psa_name}: no such PSA has a demo (known: {known})")
    kit = DemoKit(month, lambda name, value: _secret_file(directory, name, value))
    with ExitStack() as stack:
        parts: dict[str, DemoPart[Any]] = {}
        for name, provider in [*((p.name, p) for p in providers.sources()), (psa.name, psa)]:
            demo = provider.load().demo
            if demo is not None:
                parts[name] = part = demo(kit)
                stack.callback(part.stop)
        held = parts[psa.name]
        # Without them the demo could not show that a repeated sync writes nothing.
        if held.writes is None or held.contracts is None:
            raise TypeError(f"the {psa.name} demo part must count its writes and list its contracts")
        yield Sandboxes(parts, psa.name, held.writes, held.contracts)


def _secret_file(directory: Path, name: str, value: str) -> Path:
    path = directory / "secrets" / f"{name}.key"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(value + "\n", encoding="utf-8")
    return path


def write_config(directory: Path, sandboxes: Sandboxes) -> Path:
    """An ordinary configuration pointing at the sandboxes; secrets live in files beside it, never in the TOML."""
    sections = "".join(f"\n{part.config}" for part in sandboxes.parts.values())
    mappings = resources.files(providers).joinpath(MAPPINGS_FILE).read_text(encoding="utf-8")
    path = directory / CONFIG_NAME
    path.write_text(f"{_HEAD}{sections}\n{mappings}", encoding="utf-8")
    return path


def _add_console_person(config_path: Path) -> None:
    """The console's person for the demo: `demo`, an approver, whose password is a new random one in a secret file
    (the demo prints where, never the password)."""
    password = _secret_file(config_path.parent, CONSOLE_SECRET, secrets.token_urlsafe(12))
    with config_path.open("a", encoding="utf-8") as config:
        config.write(
            f'\n[[console.users]]\nname = "{CONSOLE_PERSON}"\nrole = "approver"\npassword = {{ file = "{password}" }}\n'
        )


def run_demo(
    directory: Path,
    *,
    show: Callable[[DemoResult], None] = lambda result: None,
    keep_running: bool = False,
    verbose: bool = False,
    psa: str | None = None,
) -> DemoResult:
    """Start the sandboxes, write the configuration, then dry-run, sync, and sync again; `show` the result
    (before waiting for Ctrl-C, with `keep_running`). `psa` names the PSA to push into (default: the first
    registered)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    # Each demo starts from an empty store, so it shows a first push and then that nothing is pushed twice.
    for suffix in ("", "-wal", "-shm", ".lock"):
        (directory / (STORE_NAME + suffix)).unlink(missing_ok=True)
    with running_sandboxes(directory, datetime.now(UTC).strftime("%Y-%m"), psa) as sandboxes:
        config_path = write_config(directory, sandboxes)
        _add_console_person(config_path)
        settings = load_settings(config_path)
        configure_logging(settings.log.level, verbose=verbose)
        steps: list[DemoStep] = []

        def step(step_title: str, *, dry_run: bool = False) -> None:
            writes_before = sandboxes.psa_writes()
            report = sync_once(settings, dry_run=dry_run)
            steps.append(DemoStep(step_title, report, sandboxes.psa_writes() - writes_before))

        step("1. Dry run: fetch and compute, write nothing", dry_run=True)
        step(f"2. Sync: push every line into {title(sandboxes.psa)}")
        step("3. Sync again: nothing is billed twice")
        edit = sandboxes.parts[sandboxes.psa].hand_edit
        if keep_running and edit is not None:
            # Something for the console's Review: a person's figure in the PSA, held by the next sync.
            step(f"4. {edit()}: the next sync holds the line for review")
        result = DemoResult(
            config_path=config_path,
            store_path=settings.store.path,
            report_path=directory / REPORT_NAME,
            steps=steps,
            psa=sandboxes.psa,
            contracts_title=sandboxes.parts[sandboxes.psa].contracts_title,
            contracts=sandboxes.psa_contracts(settings),
        )
        show(result)
        if keep_running:
            running = ", ".join(f"{title(name)} {part.url}" for name, part in sandboxes.parts.items())
            stderr.print(f"Sandboxes keep running ({running}); press Ctrl-C to stop.", markup=False)
            with suppress(KeyboardInterrupt):
                threading.Event().wait()
    return result
