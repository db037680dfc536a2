"""`connector demo`: the whole job against local sandbox vendors: fetch, compute, dry run, push, and push again.

The three sandboxes (Altaro report link, Axcient portal, Atera) run in this process on 127.0.0.1 with ephemeral
ports. The demo writes an ordinary configuration for them (secrets in files, as in production) and runs the same
sync the `connector sync` command runs, so what it shows is what the connector does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from connector.config import Settings, load_settings
from connector.errors import Status
from connector.logs import configure_logging
from connector.report import RunReport
from connector.sync import sync_once
from providers.altaro.demo import demo_report
from providers.altaro.sandbox import AltaroSandbox
from providers.atera.sandbox import AteraSandbox
from providers.atera.source import AteraReader
from providers.axcient.generate import demo_dataset
from providers.axcient.sandbox import AxcientSandbox

STORE_NAME = "connector-state.db"
CONFIG_NAME = "connector.toml"
REPORT_NAME = "report.json"

# Its own console, not the CLI's: the demo runs below the CLI and imports none of it.
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

# The demo's customer mappings. Contracts that exist in the sandbox Atera are used as they are; the others are
# created on the first push (create_if_missing), reusing the rate product when its SKU exists.
_MAPPINGS = """
[[customers]]
psa_customer = "Contoso Ltd"
altaro = { customer = "Contoso Ltd" }
axcient = { customer = "Contoso" }

[[customers.lines]]
metric = "altaro.billed_users"
contract = "Microsoft 365 backup (per user)"
rate = "3.50"
atera = { rate_sku = "M365-BACKUP-USER", create_if_missing = true }

[[customers.lines]]
metric = "axcient.server_gb"
contract = "Server backup (per GB)"
rate = "0.12"

[[customers.lines]]
metric = "axcient.pc_devices"
contract = "Workstation backup (per PC)"
rate = "4.00"
atera = { rate_sku = "BFF-PC", create_if_missing = true }

[[customers]]
psa_customer = "Fabrikam Inc"
altaro = { customer = "Fabrikam" }
axcient = { customer = "Fabrikam Inc" }

[[customers.lines]]
metric = "altaro.billed_users"
contract = "Microsoft 365 backup (per user)"
rate = "3.50"

[[customers.lines]]
metric = "axcient.pc_gb"
contract = "Workstation backup (per GB)"
rate = "0.15"
atera = { rate_sku = "BFF-PC-GB", create_if_missing = true }

[[customers]]
psa_customer = "Northwind Traders"
altaro = { customer = "Northwind Traders" }
axcient = { customer = "Northwind Traders" }

[[customers.lines]]
metric = "altaro.billed_users"
contract = "Microsoft 365 backup (per user)"
rate = "3.50"
atera = { rate_sku = "M365-BACKUP-USER", create_if_missing = true }

[[customers.lines]]
metric = "axcient.total_gb"
contract = "Online backup (per GB)"
rate = "0.10"
atera = { rate_sku = "BFF-GB", create_if_missing = true }

[[ignored_customers]]
source = "altaro"
customer = "Example MSP (internal)"
reason = "our own tenant"

[[ignored_customers]]
source = "axcient"
customer = "Tailspin Toys"
reason = "a prospect on a trial plan"
"""


@dataclass
class Sandboxes:
    altaro: AltaroSandbox
    axcient: AxcientSandbox
    atera: AteraSandbox


@dataclass
class DemoStep:
    title: str
    report: RunReport
    atera_writes: int


@dataclass
class DemoResult:
    config_path: Path
    store_path: Path
    report_path: Path
    steps: list[DemoStep]
    contracts: list[dict[str, Any]]

    @property
    def status(self) -> Status:
        """The last sync's status; failed if a repeated sync wrote anything (something would be billed twice)."""
        if any(step.atera_writes for step in self.steps[2:]):
            return Status.FAILED
        return self.steps[-1].report.status

    def to_data(self) -> dict[str, Any]:
        return {
            "config": str(self.config_path),
            "store": str(self.store_path),
            "steps": [
                {"title": s.title, "atera_writes": s.atera_writes, "report": s.report.to_data()} for s in self.steps
            ],
            "atera_contracts": self.contracts,
        }


@contextmanager
def running_sandboxes(month: str) -> Iterator[Sandboxes]:
    """The three sandbox vendors, started on ephemeral ports and stopped on exit."""
    with ExitStack() as stack:
        altaro = AltaroSandbox(demo_report(month)).start()
        stack.callback(altaro.stop)
        axcient = AxcientSandbox(demo_dataset()).start()
        stack.callback(axcient.stop)
        atera = AteraSandbox().start()
        stack.callback(atera.stop)
        yield Sandboxes(altaro, axcient, atera)


def _secret_file(directory: Path, name: str, value: str) -> Path:
    path = directory / "secrets" / f"{name}.key"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(value + "\n", encoding="utf-8")
    return path


def write_config(directory: Path, sandboxes: Sandboxes) -> Path:
    """An ordinary configuration pointing at the sandboxes; secrets live in files beside it, never in the TOML."""
    altaro_key = _secret_file(directory, "altaro", sandboxes.altaro.api_key)
    axcient_password = _secret_file(directory, "axcient", sandboxes.axcient.password)
    atera_key = _secret_file(directory, "atera", sandboxes.atera.api_key)
    text = f'''# Written by `connector demo` for its sandbox vendors (their ports change at every run).
[store]
path = "{STORE_NAME}"

[log]
level = "WARNING"

[http]
max_attempts = 3
backoff_initial_seconds = 0.2

[altaro]
enabled = true

[[altaro.links]]
name = "all-customers"
url = "{sandboxes.altaro.link_url}"
api_key = {{ file = "{altaro_key}" }}

[[altaro.exclusions]]
customer = "*"
pattern = "test-*"
reason = "test mailboxes are not billed"

[[altaro.exclusions]]
customer = "Contoso Ltd"
pattern = "shared-*"
reason = "shared mailboxes are in Contoso's flat fee"

[axcient]
enabled = true
base_url = "{sandboxes.axcient.url}"
username = "{sandboxes.axcient.username}"
password = {{ file = "{axcient_password}" }}

[atera]
enabled = true
base_url = "{sandboxes.atera.api_url}"
api_key = {{ file = "{atera_key}" }}
# The sandbox allows more than Atera does; keep the default (200 per 300 s) against the real Atera.
max_requests = 1000
window_seconds = 60
{_MAPPINGS}'''
    path = directory / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def _fresh_store(directory: Path) -> None:
    # Each demo starts from an empty store, so it shows a first push and then that nothing is pushed twice.
    for suffix in ("", "-wal", "-shm", ".lock"):
        with suppress(FileNotFoundError):
            (directory / (STORE_NAME + suffix)).unlink()


def _contracts(settings: Settings) -> list[dict[str, Any]]:
    """What Atera holds after the pushes, read back through the connector's own Atera client."""
    reader = AteraReader.from_settings(settings.section("atera"), settings.http)
    try:
        found = reader.contract_dtos()
    finally:
        reader.close()
    rows = []
    for contract in found:
        retainer = contract.RetainerFlatFeeContract
        if retainer is None:
            continue
        rows.append(
            {
                "customer": contract.CustomerName,
                "contract_id": contract.ContractID,
                "contract": contract.ContractName,
                "quantity": retainer.Quantity,
                "rate": retainer.Rate.Amount if retainer.Rate is not None else None,
            }
        )
    return sorted(rows, key=lambda row: (row["customer"] or "", row["contract"] or ""))


def run_demo(
    directory: Path,
    *,
    show: Callable[[DemoResult], None] = lambda result: None,
    keep_running: bool = False,
    verbose: bool = False,
) -> DemoResult:
    """Start the sandboxes, write the configuration, then dry-run, sync, and sync again; `show` the result
    (before waiting for Ctrl-C, with `keep_running`)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    _fresh_store(directory)
    month = datetime.now(UTC).strftime("%Y-%m")
    with running_sandboxes(month) as sandboxes:
        config_path = write_config(directory, sandboxes)
        settings = load_settings(config_path)
        configure_logging(settings.log.level, verbose=verbose)
        steps = []
        for title, dry_run in (
            ("1. Dry run: fetch and compute, write nothing", True),
            ("2. Sync: push every line into Atera", False),
            ("3. Sync again: nothing is billed twice", False),
        ):
            writes_before = len(sandboxes.atera.writes())
            report = sync_once(settings, dry_run=dry_run)
            steps.append(DemoStep(title, report, len(sandboxes.atera.writes()) - writes_before))
        result = DemoResult(
            config_path=config_path,
            store_path=settings.store.path,
            report_path=directory / REPORT_NAME,
            steps=steps,
            contracts=_contracts(settings),
        )
        show(result)
        if keep_running:
            _wait_for_interrupt(sandboxes)
    return result


def _wait_for_interrupt(sandboxes: Sandboxes) -> None:
    stderr.print(
        f"Sandboxes keep running (Altaro {sandboxes.altaro.url}, Axcient {sandboxes.axcient.url}, "
        f"Atera {sandboxes.atera.url}); press Ctrl-C to stop.",
        markup=False,
    )
    with suppress(KeyboardInterrupt):
        threading.Event().wait()
