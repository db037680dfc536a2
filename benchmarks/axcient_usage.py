"""Benchmark: `connector usage axcient --format json` against a generated sandbox portal (wall time, requests)."""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from providers.axcient.generate import generate_dataset
from providers.axcient.sandbox import DEFAULT_PASSWORD, DEFAULT_USERNAME, AxcientSandbox

REPO = Path(__file__).resolve().parents[1]
PASSWORD_ENV = "AXCIENT_BENCH_PASSWORD"


def minimum_requests(customers: int, per_customer: list[int], per_page: int, all_at_once: bool) -> int:
    """One login, the customer pages, and the account pages (at least one per list, even an empty one)."""
    customer_pages = max(1, math.ceil(customers / per_page))
    if all_at_once:
        return 1 + customer_pages + max(1, math.ceil(sum(per_customer) / per_page))
    return 1 + customer_pages + sum(max(1, math.ceil(n / per_page)) for n in per_customer)


def run(
    sandbox: AxcientSandbox, directory: Path, per_page: int, all_at_once: bool, concurrency: int
) -> tuple[float, int, int]:
    config = directory / f"bench-{per_page}-{all_at_once}-{concurrency}.toml"
    config.write_text(
        f"""
[store]
path = "{directory / "state.db"}"

[axcient]
enabled = true
base_url = "{sandbox.url}"
username = "{DEFAULT_USERNAME}"
password = {{ env = "{PASSWORD_ENV}" }}
per_page = {per_page}
list_all_accounts = {"true" if all_at_once else "false"}
concurrency = {concurrency}
""",
        encoding="utf-8",
    )
    sandbox.requests.clear()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "connector.cli", "usage", "axcient", "--format", "json", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, PASSWORD_ENV: DEFAULT_PASSWORD},
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"connector usage axcient exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed, len(sandbox.requests), len(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0, help="added by the sandbox to every answer")
    args = parser.parse_args()
    data = generate_dataset(args.customers, accounts=args.accounts, seed=args.seed)
    owners = Counter(a["customer_id"] for a in data["accounts"])
    per_customer = [owners.get(c["id"], 0) for c in data["customers"]]
    print(f"portal: {len(data['customers'])} customers, {len(data['accounts'])} accounts")
    print(f"latency {args.latency_ms:g} ms per request")
    print("| accounts listed | per_page | concurrency | wall time | latency floor | requests | minimum | customers |")
    print("|---|---|---|---|---|---|---|---|")
    variants = ((100, False, 4), (1000, False, 1), (1000, False, 4), (1000, True, 4))
    with AxcientSandbox(data, latency_ms=args.latency_ms) as sandbox, tempfile.TemporaryDirectory() as temp:
        assert isinstance(sandbox, AxcientSandbox)
        for per_page, all_at_once, concurrency in variants:
            elapsed, requests, printed = run(sandbox, Path(temp), per_page, all_at_once, concurrency)
            least = minimum_requests(len(data["customers"]), per_customer, per_page, all_at_once)
            mode = "all at once" if all_at_once else "per customer"
            # The login and the customer pages go one at a time; only the account lists run concurrently.
            lists = least - 1 - max(1, math.ceil(len(data["customers"]) / per_page))
            floor = (least - lists + lists / (1 if all_at_once else concurrency)) * args.latency_ms / 1000
            print(
                f"| {mode} | {per_page} | {concurrency} | {elapsed:.2f} s | {floor:.2f} s | {requests} | {least} "
                f"| {printed} |"
            )


if __name__ == "__main__":
    main()
