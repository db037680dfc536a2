"""Benchmark: a large MSP end to end, the real CLI against the three sandboxes with latency and generated data.

A first sync, a re-sync and a dry run five times the size, each `connector sync` in its own process; per step the
requests each vendor's sandbox saw against the fewest its API allows, the wall time against the latency floor, the
process's peak memory and the store's size. `--scale 0.1` runs a tenth of it in a minute or so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from providers.altaro.sandbox import DEFAULT_API_KEY as ALTARO_KEY
from providers.altaro.sandbox import AltaroSandbox, generate_report_with_counts
from providers.atera.sandbox import DEFAULT_API_KEY as ATERA_KEY
from providers.atera.sandbox import AteraSandbox, default_data
from providers.atera.sandbox_account import retainer_contract
from providers.axcient.generate import generate_dataset
from providers.axcient.sandbox import DEFAULT_PASSWORD, AxcientSandbox

MONTH = datetime.now(UTC).strftime("%Y-%m")
USERS_PER_CUSTOMER = 130  # about 260,000 report rows for 2,000 customers
ACCOUNTS_PER_CUSTOMER = 10
AXCIENT_PER_PAGE = 1000
AXCIENT_CONCURRENCY = 4
ATERA_PAGE = 50
CONTRACTS = (
    ("M365 backup", "altaro.billed_users", 3.5, "M365-USER"),
    ("Server backup", "axcient.server_gb", 0.12, "BFF-GB"),
)


@dataclass
class World:
    """The three sandboxes with one MSP's data, and a configuration mapping every PSA customer to both vendors."""

    customers: int
    atera: AteraSandbox
    axcient: AxcientSandbox
    altaro: AltaroSandbox
    config: Path
    store: Path


def atera_account(customers: int) -> dict[str, Any]:
    """The demo account plus `customers` customers with one Retainer contract per mapped metric each."""
    data = default_data()
    rates = []
    for n, (name, _, amount, sku) in enumerate(CONTRACTS):
        rates.append({"RateID": 900 + n, "Amount": amount, "Description": name, "SKU": sku, "Category": "Backup"})
    data["rates"]["products"].extend(rates)
    for i in range(customers):
        customer_id, name = 100_000 + i, f"PSA customer {i:05d}"
        data["customers"].append({"CustomerID": customer_id, "CustomerName": name})
        for k, (contract, _, _, _) in enumerate(CONTRACTS):
            contract_id = 1_000_000 + len(CONTRACTS) * i + k
            data["contracts"].append(retainer_contract(customer_id, name, contract_id, contract, rates[k]))
    return data


def config_text(world: dict[str, Any], directory: Path, altaro_names: list[str], axcient_names: list[str]) -> str:
    secrets = directory / "secrets"
    secrets.mkdir(mode=0o700, exist_ok=True)
    for name, value in (("altaro", ALTARO_KEY), ("axcient", DEFAULT_PASSWORD), ("atera", ATERA_KEY)):
        (secrets / name).write_text(value + "\n", encoding="utf-8")
    head = f'''[store]
path = "{directory / "state.db"}"

[log]
level = "ERROR"

[altaro]
enabled = true

[[altaro.links]]
name = "all-customers"
url = "{world["altaro"].link_url}"
api_key = {{ file = "{secrets / "altaro"}" }}

[axcient]
enabled = true
base_url = "{world["axcient"].url}"
username = "{world["axcient"].username}"
password = {{ file = "{secrets / "axcient"}" }}
per_page = {AXCIENT_PER_PAGE}
concurrency = {AXCIENT_CONCURRENCY}

[atera]
enabled = true
base_url = "{world["atera"].api_url}"
api_key = {{ file = "{secrets / "atera"}" }}
# The sandbox has no rate limit: the benchmark counts requests and latency, not Atera's throttle.
max_requests = 1000000
window_seconds = 1
requests_per_run = 0
'''
    blocks = [head]
    for i, (altaro, axcient) in enumerate(zip(altaro_names, axcient_names, strict=True)):
        blocks.append(
            f'\n[[customers]]\npsa_customer = "PSA customer {i:05d}"\n'
            f"altaro = {{ customer = {json.dumps(altaro)} }}\naxcient = {{ customer = {json.dumps(axcient)} }}\n"
        )
        for contract, metric, amount, _ in CONTRACTS:
            blocks.append(f'\n[[customers.lines]]\nmetric = "{metric}"\ncontract = "{contract}"\nrate = "{amount}"\n')
    return "".join(blocks)


@contextmanager
def world(customers: int, latency_ms: float, directory: Path) -> Iterator[World]:
    portal = generate_dataset(customers, accounts=ACCOUNTS_PER_CUSTOMER * customers, seed=0)
    report, expected = generate_report_with_counts(
        customers=customers, users_per_customer=USERS_PER_CUSTOMER, seed=0, month=MONTH
    )
    altaro_names = list(expected.billed_users)
    axcient_names = [c["name"] for c in portal["customers"]]
    with ExitStack() as stack:
        running: dict[str, Any] = {
            "atera": stack.enter_context(AteraSandbox(atera_account(customers), latency_ms=latency_ms)),
            "axcient": stack.enter_context(AxcientSandbox(portal, password=DEFAULT_PASSWORD, latency_ms=latency_ms)),
            # The 5-minute rule holds across the steps: the re-sync uses the report the first sync fetched.
            "altaro": stack.enter_context(AltaroSandbox(report, latency_ms=latency_ms)),
        }
        config = directory / "connector.toml"
        config.write_text(config_text(running, directory, altaro_names, axcient_names), encoding="utf-8")
        yield World(customers, running["atera"], running["axcient"], running["altaro"], config, directory / "state.db")


def pages(items: int, size: int) -> int:
    return max(1, -(-items // size))


def atera_minimum(world: World, requests: list[Any], pushed: int) -> int:
    """The list pages the run read, at 50 a page, plus per pushed line the writes it had to make: two (the contract's
    Quantity and the record, which Atera takes on its own endpoint only) when the quantity changed, one (the record)
    when the contract held it already; a line pushed by an earlier run needs nothing."""
    listed = {r.path for r in requests if r.method == "GET" and not r.path.startswith("/api/v3/customvalues/")}
    sizes = {"/api/v3/customers": len(world.atera.customers), "/api/v3/contracts": len(world.atera.contracts)}
    reads = sum(pages(sizes.get(path, 0), ATERA_PAGE) for path in listed if path in sizes)
    reads += sum(1 for path in listed if path not in sizes)  # other lists (invoices): one page, they are empty
    changed = sum(1 for r in requests if r.method == "PUT" and r.path.startswith("/api/v3/contracts/"))
    return reads + 2 * changed + max(0, pushed - changed)


def axcient_minimum(world: World) -> int:
    return 1 + pages(world.customers, AXCIENT_PER_PAGE) + world.customers


def run_sync(world: World, dry_run: bool) -> tuple[float, int, dict[str, Any]]:
    """`connector sync` as its own process: wall time, its peak memory (max RSS, KiB) and its JSON report."""
    command = [sys.executable, "-m", "connector.cli", "sync", "--config", str(world.config), "--format", "json"]
    if dry_run:
        command.append("--dry-run")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        # wait4, not wait: the child's own resource usage, not the maximum over every child so far.
        _, _, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = 0  # reaped above
        out.seek(0)
        err.seek(0)
        text = out.read()
        if not text.startswith(b"{"):
            raise SystemExit(f"connector sync failed: {err.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss, json.loads(text)


def step(world: World, label: str, *, dry_run: bool, latency: float) -> None:
    seen = {name: len(getattr(world, name).requests) for name in ("altaro", "axcient", "atera")}
    elapsed, peak, report = run_sync(world, dry_run)
    new = {name: getattr(world, name).requests[seen[name] :] for name in seen}
    lines = len(report["lines"])
    atera_writes = sum(1 for r in new["atera"] if r.method in {"PUT", "POST"})
    atera_lists = sum(1 for r in new["atera"] if r.method == "GET" and not r.path.startswith("/api/v3/customvalues/"))
    minimum = {
        "altaro": min(1, len(new["altaro"])),
        "axcient": axcient_minimum(world),
        "atera": atera_minimum(world, new["atera"], report["totals"]["pushed"]),
    }
    concurrency = {"altaro": 1, "axcient": AXCIENT_CONCURRENCY, "atera": 1}
    floor = sum(len(new[name]) * latency / concurrency[name] for name in new)
    total, least = sum(len(r) for r in new.values()), sum(minimum.values())
    store_mib = sum(p.stat().st_size for p in world.store.parent.glob("state.db*")) / 2**20
    totals = ", ".join(f"{n:,} {outcome}" for outcome, n in report["totals"].items() if n)
    print(f"\n{label}: {world.customers:,} PSA customers, {lines:,} lines ({totals}), status {report['status']}")
    for name in new:
        print(f"  {name:8} {len(new[name]):>7,} requests, minimum {minimum[name]:>7,}")
    print(f"  {'all':8} {total:>7,} requests, minimum {least:>7,}: {total / max(least, 1):.2f}x the minimum")
    print(
        f"  Atera writes {atera_writes:,}, Atera list pages {atera_lists:,}, per-line Atera reads "
        f"{len(new['atera']) - atera_writes - atera_lists:,}"
    )
    print(f"  wall {elapsed:.1f} s, latency floor {floor:.1f} s: {elapsed / max(floor, 1e-9):.2f}x the floor")
    print(f"  peak memory (max RSS of the sync) {peak / 1024:.0f} MiB, store {store_mib:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the large MSP (2,000 customers)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added by each sandbox to every answer")
    args = parser.parse_args()
    customers = max(1, round(2000 * args.scale))
    latency = args.latency_ms / 1000
    python = sys.version.split()[0]
    print(f"large MSP: {customers:,} customers, {args.latency_ms:g} ms per request, {os.cpu_count()} CPUs, {python}")
    with tempfile.TemporaryDirectory(prefix="large-msp-") as tmp, world(customers, args.latency_ms, Path(tmp)) as made:
        step(made, "first sync", dry_run=False, latency=latency)
        step(made, "re-sync (nothing changed)", dry_run=False, latency=latency)
    with (
        tempfile.TemporaryDirectory(prefix="large-msp-dry-") as tmp,
        world(5 * customers, args.latency_ms, Path(tmp)) as made,
    ):
        step(made, "dry run, five times the customers", dry_run=True, latency=latency)


if __name__ == "__main__":
    main()
