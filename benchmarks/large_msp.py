"""Benchmark: a large MSP end to end, the real CLI against the three sandboxes with latency and generated data.

A first sync, a re-sync and a dry run five times the size, each `connector sync` in its own process; per step the
requests each vendor's sandbox saw against the fewest its API allows, the wall time against the latency floor, the
process's peak memory and the store's size. `--scale 0.1` runs a tenth of it in a minute or so.

`--psa connectwise` pushes to the ConnectWise sandbox instead of Atera's (one agreement per customer holding one
addition per mapped metric), and adds a sync after some customers' server usage grew (`--changed`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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
from providers.connectwise.sandbox import DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, ConnectWiseSandbox

MONTH = datetime.now(UTC).strftime("%Y-%m")
USERS_PER_CUSTOMER = 130  # about 260,000 report rows for 2,000 customers
ACCOUNTS_PER_CUSTOMER = 10
AXCIENT_PER_PAGE = 1000
AXCIENT_CONCURRENCY = 4
ATERA_PAGE = 50
CONNECTWISE_PAGE = 1000  # the connector's default page_size, ConnectWise's maximum
# Atera contract, metric, rate, Atera rate SKU, ConnectWise catalog item (both items are in the demo's catalog).
CONTRACTS = (
    ("M365 backup", "altaro.billed_users", 3.5, "M365-USER", "BKP-M365-USER"),
    ("Server backup", "axcient.server_gb", 0.12, "BFF-GB", "BKP-SERVER-GB"),
)
AGREEMENT = "Managed Backup"  # each ConnectWise customer's one agreement, with an addition per contract above
# What every contract and addition holds before the first sync, as if typed by hand: not 0, since any rise from 0 in
# what the PSA holds is held for review (`[review]` below takes the change percent out of the way).
SEEDED_QUANTITY = 1
GROWTH = 1.1  # a changed customer's server accounts grow by a tenth: within [review] max_change_percent


@dataclass
class World:
    """The three sandboxes with one MSP's data, and a configuration mapping every PSA customer to both vendors."""

    customers: int
    psa: str  # "atera" or "connectwise"
    sandboxes: dict[str, Any]  # altaro, axcient and the PSA's, by name
    portal: dict[str, Any]  # the Axcient portal's data, which `grow_servers` changes
    config: Path
    store: Path


def atera_account(customers: int) -> dict[str, Any]:
    """The demo account plus `customers` customers with one Retainer contract per mapped metric each, of quantity 1."""
    data = default_data()
    rates = []
    for n, (name, _, amount, sku, _) in enumerate(CONTRACTS):
        rates.append({"RateID": 900 + n, "Amount": amount, "Description": name, "SKU": sku, "Category": "Backup"})
    data["rates"]["products"].extend(rates)
    for i in range(customers):
        customer_id, name = 100_000 + i, f"PSA customer {i:05d}"
        data["customers"].append({"CustomerID": customer_id, "CustomerName": name})
        for k, (contract, _, _, _, _) in enumerate(CONTRACTS):
            contract_id = 1_000_000 + len(CONTRACTS) * i + k
            data["contracts"].append(retainer_contract(customer_id, name, contract_id, contract, rates[k]))
            data["contracts"][-1]["RetainerFlatFeeContract"]["Quantity"] = SEEDED_QUANTITY
    return data


def connectwise_sandbox(customers: int, latency_ms: float) -> ConnectWiseSandbox:
    """The demo's ConnectWise plus `customers` companies with one agreement each, holding an addition per mapped
    metric at the catalog's price (the record's custom field is the sandbox's default)."""
    sandbox = ConnectWiseSandbox(latency_ms=latency_ms)
    for i in range(customers):
        company = sandbox.add_company(f"PSA customer {i:05d}", f"PSAcustomer{i:05d}")
        agreement = sandbox.add_agreement(company["id"], AGREEMENT)
        for _, _, amount, _, product in CONTRACTS:
            sandbox.add_addition(agreement["id"], product, SEEDED_QUANTITY, amount)
    return sandbox


def secret(directory: Path, name: str, value: str) -> Path:
    secrets = directory / "secrets"
    secrets.mkdir(mode=0o700, exist_ok=True)
    (secrets / name).write_text(value + "\n", encoding="utf-8")
    return secrets / name


def atera_section(sandbox: AteraSandbox, directory: Path) -> str:
    return f'''
[atera]
enabled = true
base_url = "{sandbox.api_url}"
api_key = {{ file = "{secret(directory, "atera", ATERA_KEY)}" }}
# The sandbox has no rate limit: the benchmark counts requests and latency, not Atera's throttle.
max_requests = 1000000
window_seconds = 1
requests_per_run = 0
'''


def connectwise_section(sandbox: ConnectWiseSandbox, directory: Path) -> str:
    return f'''
[connectwise]
enabled = true
base_url = "{sandbox.api_url}"
company_id = "{sandbox.company_id}"
public_key = {{ file = "{secret(directory, "connectwise-public", DEFAULT_PUBLIC_KEY)}" }}
private_key = {{ file = "{secret(directory, "connectwise-private", DEFAULT_PRIVATE_KEY)}" }}
client_id = "{sandbox.client_id}"
page_size = {CONNECTWISE_PAGE}
'''


def line_text(psa: str, contract: tuple[str, str, float, str, str]) -> str:
    """A mapped line; with ConnectWise, the contract's name stays the line's own (one metric per contract) and the
    agreement and product say which addition holds it."""
    name, metric, amount, _, product = contract
    text = f'\n[[customers.lines]]\nmetric = "{metric}"\ncontract = "{name}"\nrate = "{amount}"\n'
    if psa == "connectwise":
        text += f'connectwise = {{ agreement = "{AGREEMENT}", product = "{product}" }}\n'
    return text


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
    section = atera_section if psa == "atera" else connectwise_section
    blocks = [head, section(world[psa], directory)]
    for i, (altaro, axcient) in enumerate(zip(altaro_names, axcient_names, strict=True)):
        blocks.append(
            f'\n[[customers]]\npsa_customer = "PSA customer {i:05d}"\n'
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
    if psa == "atera":
        psa_sandbox: Any = AteraSandbox(atera_account(customers), latency_ms=latency_ms)
    else:
        psa_sandbox = connectwise_sandbox(customers, latency_ms)
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


def pages(items: int, size: int) -> int:
    return max(1, -(-items // size))


def atera_minimum(sandbox: AteraSandbox, requests: list[Any], pushed: int) -> int:
    """The list pages the run read, at 50 a page, plus per pushed line what it had to send: when the quantity changed,
    the read of the contract just before its write (the design reads before it writes, and Atera's PUT sends back the
    header as Atera holds it) and two writes (the Quantity, and the record, which Atera takes on its own endpoint
    only); one write (the record) when the contract held the quantity already; a line pushed before needs nothing."""
    listed = {r.path for r in requests if atera_is_list(r)}
    sizes = {"/api/v3/customers": len(sandbox.customers), "/api/v3/contracts": len(sandbox.contracts)}
    reads = sum(pages(sizes.get(path, 0), ATERA_PAGE) for path in listed if path in sizes)
    reads += sum(1 for path in listed if path not in sizes)  # other lists (invoices): one page, they are empty
    changed = sum(1 for r in requests if r.method == "PUT" and r.path.startswith("/api/v3/contracts/"))
    return reads + 3 * changed + max(0, pushed - changed)


# A GET of one record (`.../{id}`): the sink's re-read of a contract or an addition just before it writes it.
RECORD = re.compile(r"/\d+$")


def atera_is_list(request: Any) -> bool:
    return request.method == "GET" and not RECORD.search(request.path) and "/customvalues/" not in request.path


def connectwise_is_list(request: Any) -> bool:
    return request.method == "GET" and not RECORD.search(request.path)


def connectwise_minimum(sandbox: ConnectWiseSandbox, requests: list[Any], pushed: int) -> int:
    """The pages of every company and every agreement (1,000 a page, no condition: fewer than the mapped companies'
    agreements read in conditions of at most 1,000 characters), one additions list per mapped agreement (the API
    lists additions per agreement only), one page of any other list the run read (invoices, catalog), and per pushed
    line the read of the addition just before its write (the design reads before it writes: a person may have
    changed it since the run's lists, minutes before at this size) and one PATCH (quantity and record together)."""
    mapped = [n for n, a in sandbox.agreements.items() if a["company"]["name"].startswith("PSA customer")]
    additions = re.compile(r"^/v4_6_release/apis/3\.0/finance/agreements/\d+/additions$")
    listed = {r.path for r in requests if connectwise_is_list(r)}
    reads = pages(len(sandbox.companies), CONNECTWISE_PAGE) + pages(len(sandbox.agreements), CONNECTWISE_PAGE)
    reads += sum(pages(len(sandbox.additions[n]), CONNECTWISE_PAGE) for n in mapped)
    reads += sum(1 for path in listed if not additions.match(path) and not path.endswith(("/companies", "/agreements")))
    return reads + 2 * pushed


@dataclass(frozen=True)
class Psa:
    """What the benchmark needs to know of a PSA: its title, which of its requests are writes and list pages, and
    the fewest requests its API allows for a run (sandbox, the run's requests, the lines it pushed)."""

    title: str
    writes: frozenset[str]
    is_list: Callable[[Any], bool]
    minimum: Callable[[Any, list[Any], int], int]


PSAS = {
    "atera": Psa("Atera", frozenset({"PUT", "POST"}), atera_is_list, atera_minimum),
    "connectwise": Psa("ConnectWise", frozenset({"PATCH", "PUT", "POST"}), connectwise_is_list, connectwise_minimum),
}


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
    seen = {name: len(sandbox.requests) for name, sandbox in world.sandboxes.items()}
    elapsed, peak, report = run_sync(world, dry_run)
    new = {name: sandbox.requests[seen[name] :] for name, sandbox in world.sandboxes.items()}
    lines = len(report["lines"])
    psa = PSAS[world.psa]
    psa_writes = sum(1 for r in new[world.psa] if r.method in psa.writes)
    psa_lists = sum(1 for r in new[world.psa] if psa.is_list(r))
    minimum = {
        "altaro": min(1, len(new["altaro"])),
        "axcient": axcient_minimum(world),
        world.psa: psa.minimum(world.sandboxes[world.psa], new[world.psa], report["totals"]["pushed"]),
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
        help="customers whose server usage grows before a third sync (default: 20 with ConnectWise, none with Atera)",
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
        first = step(made, "first sync", dry_run=False, latency=latency)
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
