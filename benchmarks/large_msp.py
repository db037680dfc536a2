"""Benchmark: a large MSP end to end, the real CLI against the three sandboxes with latency and generated data.

A first sync, a re-sync and a dry run five times the size, each `connector sync` in its own process; per step the
requests each vendor's sandbox saw against the fewest its API allows, the wall time against the latency floor, the
process's peak memory and the store's size. `--scale 0.1` runs a tenth of it in a minute or so.

`--psa connectwise` pushes to the ConnectWise sandbox instead of Atera's (one agreement per customer holding one
addition per mapped metric), `--psa autotask` to the Autotask sandbox (one Recurring Service contract per customer
holding one contract service per mapped metric); both add a sync after some customers' server usage grew
(`--changed`). Each step is a new hour to Autotask (its hourly request count starts again): a first push the
connector's share of Autotask's threshold (`stop_pushes_at`) defers in part goes on over the following cycles, each
its own step, until no line waits. The worlds are in `psa_worlds.py`."""

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

from psa_worlds import CONTRACTS, PSAS, customer_name, line_text, pages, secret

from providers.altaro.sandbox import DEFAULT_API_KEY as ALTARO_KEY
from providers.altaro.sandbox import AltaroSandbox, generate_report_with_counts
from providers.axcient.generate import generate_dataset
from providers.axcient.sandbox import DEFAULT_PASSWORD, AxcientSandbox

MONTH = datetime.now(UTC).strftime("%Y-%m")
USERS_PER_CUSTOMER = 130  # about 260,000 report rows for 2,000 customers
ACCOUNTS_PER_CUSTOMER = 10
AXCIENT_PER_PAGE = 1000
AXCIENT_CONCURRENCY = 4
GROWTH = 1.1  # a changed customer's server accounts grow by a tenth: within [review] max_change_percent
MAX_CYCLES = 6  # syncs the first push may take (lines deferred to the next hour by the PSA's request budget)


@dataclass
class World:
    """The three sandboxes with one MSP's data, and a configuration mapping every PSA customer to both vendors."""

    customers: int
    psa: str  # a key of PSAS: "atera", "connectwise" or "autotask"
    sandboxes: dict[str, Any]  # altaro, axcient and the PSA's, by name
    portal: dict[str, Any]  # the Axcient portal's data, which `grow_servers` changes
    config: Path
    store: Path


def config_text(
    psa: str, world: dict[str, Any], directory: Path, altaro_names: list[str], axcient_names: list[str]
) -> str:
    head = f'''[store]
path = "{directory / "state.db"}"

[log]
level = "ERROR"

[review]
# The benchmark counts requests: no line is held for how far it moved from the PSA's seeded quantity.
max_change_percent = 1000000000

[altaro]
enabled = true

[[altaro.links]]
name = "all-customers"
url = "{world["altaro"].link_url}"
api_key = {{ file = "{secret(directory, "altaro", ALTARO_KEY)}" }}

[axcient]
enabled = true
base_url = "{world["axcient"].url}"
username = "{world["axcient"].username}"
password = {{ file = "{secret(directory, "axcient", DEFAULT_PASSWORD)}" }}
per_page = {AXCIENT_PER_PAGE}
concurrency = {AXCIENT_CONCURRENCY}
'''
    blocks = [head, PSAS[psa].section(world[psa], directory)]
    for i, (altaro, axcient) in enumerate(zip(altaro_names, axcient_names, strict=True)):
        blocks.append(
            f'\n[[customers]]\npsa_customer = "{customer_name(i)}"\n'
            f"altaro = {{ customer = {json.dumps(altaro)} }}\naxcient = {{ customer = {json.dumps(axcient)} }}\n"
        )
        blocks.extend(line_text(psa, contract) for contract in CONTRACTS)
    return "".join(blocks)


@contextmanager
def world(psa: str, customers: int, latency_ms: float, directory: Path) -> Iterator[World]:
    portal = generate_dataset(customers, accounts=ACCOUNTS_PER_CUSTOMER * customers, seed=0)
    report, expected = generate_report_with_counts(
        customers=customers, users_per_customer=USERS_PER_CUSTOMER, seed=0, month=MONTH
    )
    altaro_names = list(expected.billed_users)
    axcient_names = [c["name"] for c in portal["customers"]]
    psa_sandbox = PSAS[psa].sandbox(customers, latency_ms)
    with ExitStack() as stack:
        running: dict[str, Any] = {
            # The 5-minute rule holds across the steps: the re-sync uses the report the first sync fetched.
            "altaro": stack.enter_context(AltaroSandbox(report, latency_ms=latency_ms)),
            "axcient": stack.enter_context(AxcientSandbox(portal, password=DEFAULT_PASSWORD, latency_ms=latency_ms)),
            psa: stack.enter_context(psa_sandbox),
        }
        config = directory / "connector.toml"
        config.write_text(config_text(psa, running, directory, altaro_names, axcient_names), encoding="utf-8")
        yield World(customers, psa, running, portal, config, directory / "state.db")


def axcient_minimum(world: World) -> int:
    return 1 + pages(world.customers, AXCIENT_PER_PAGE) + world.customers


def grow_servers(world: World, report: dict[str, Any], count: int) -> int:
    """The server accounts of the first `count` customers whose server backup line was pushed grow by a tenth, as
    the portal will report them from now on; how many customers changed."""
    pushed = [
        line["psa_customer"]
        for line in report["lines"]
        if line["metric"] == "axcient.server_gb" and line["outcome"] == "pushed"
    ][:count]
    changed = {world.portal["customers"][int(name.split()[-1])]["id"] for name in pushed}
    for account in world.portal["accounts"]:
        if account["customer_id"] in changed and account["device_type"] == "server":
            account["used_mb_compressed"] = round(account["used_mb_compressed"] * GROWTH)
            account["used_mb_uncompressed"] = round(account["used_mb_uncompressed"] * GROWTH)
    world.sandboxes["axcient"].load(world.portal)
    return len(changed)


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


def step(world: World, label: str, *, dry_run: bool, latency: float) -> dict[str, Any]:
    """One `connector sync` and what it cost, printed; its report."""
    psa, sandbox = PSAS[world.psa], world.sandboxes[world.psa]
    psa.new_hour(sandbox)
    seen = {name: len(sandbox.requests) for name, sandbox in world.sandboxes.items()}
    elapsed, peak, report = run_sync(world, dry_run)
    new = {name: sandbox.requests[seen[name] :] for name, sandbox in world.sandboxes.items()}
    lines = len(report["lines"])
    psa_writes = sum(1 for r in new[world.psa] if sandbox.is_write(r))
    psa_lists = sum(1 for r in new[world.psa] if psa.is_list(sandbox, r))
    minimum = {
        "altaro": min(1, len(new["altaro"])),
        "axcient": axcient_minimum(world),
        world.psa: psa.minimum(sandbox, new[world.psa], report["totals"]["pushed"]),
    }
    concurrency = {"altaro": 1, "axcient": AXCIENT_CONCURRENCY, world.psa: 1}
    floor = sum(len(new[name]) * latency / concurrency[name] for name in new)
    total, least = sum(len(r) for r in new.values()), sum(minimum.values())
    store_mib = sum(p.stat().st_size for p in world.store.parent.glob("state.db*")) / 2**20
    totals = ", ".join(f"{n:,} {outcome}" for outcome, n in report["totals"].items() if n)
    print(f"\n{label}: {world.customers:,} PSA customers, {lines:,} lines ({totals}), status {report['status']}")
    width = max(8, len(world.psa))
    for name in new:
        print(f"  {name:{width}} {len(new[name]):>7,} requests, minimum {minimum[name]:>7,}")
    print(f"  {'all':{width}} {total:>7,} requests, minimum {least:>7,}: {total / max(least, 1):.2f}x the minimum")
    print(
        f"  {psa.title} writes {psa_writes:,}, {psa.title} list pages {psa_lists:,}, per-line {psa.title} reads "
        f"{len(new[world.psa]) - psa_writes - psa_lists:,}"
    )
    print(f"  wall {elapsed:.1f} s, latency floor {floor:.1f} s: {elapsed / max(floor, 1e-9):.2f}x the floor")
    print(f"  peak memory (max RSS of the sync) {peak / 1024:.0f} MiB, store {store_mib:.1f} MiB")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the large MSP (2,000 customers)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added by each sandbox to every answer")
    parser.add_argument("--psa", choices=sorted(PSAS), default="atera", help="the PSA pushed to")
    parser.add_argument(
        "--changed",
        type=int,
        help="customers whose server usage grows before a last sync (default: 20, none with Atera)",
    )
    parser.add_argument("--skip-dry-run", action="store_true", help="leave out the dry run five times the size")
    args = parser.parse_args()
    changed = args.changed if args.changed is not None else (0 if args.psa == "atera" else 20)
    customers = max(1, round(2000 * args.scale))
    latency = args.latency_ms / 1000
    python = sys.version.split()[0]
    pushing = "" if args.psa == "atera" else f", pushing to {PSAS[args.psa].title}"
    print(
        f"large MSP: {customers:,} customers, {args.latency_ms:g} ms per request, {os.cpu_count()} CPUs, "
        f"{python}{pushing}"
    )
    with (
        tempfile.TemporaryDirectory(prefix="large-msp-") as tmp,
        world(args.psa, customers, args.latency_ms, Path(tmp)) as made,
    ):
        first = report = step(made, "first sync", dry_run=False, latency=latency)
        for cycle in range(2, MAX_CYCLES + 1):
            if not report["totals"].get("pending"):
                break
            report = step(made, f"first push, cycle {cycle} (the lines deferred)", dry_run=False, latency=latency)
        step(made, "re-sync (nothing changed)", dry_run=False, latency=latency)
        if changed:
            grown = grow_servers(made, first, changed)
            step(made, f"sync after {grown} customers' servers grew", dry_run=False, latency=latency)
    if args.skip_dry_run:
        return
    with (
        tempfile.TemporaryDirectory(prefix="large-msp-dry-") as tmp,
        world(args.psa, 5 * customers, args.latency_ms, Path(tmp)) as made,
    ):
        step(made, "dry run, five times the customers", dry_run=True, latency=latency)


if __name__ == "__main__":
    main()
