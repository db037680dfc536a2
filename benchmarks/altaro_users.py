"""Benchmark: `connector users REPORT --format json` against a plain pandas script on a 1,000,000-row report.

Each variant runs in its own subprocess, several times; wall time is measured around the process and peak memory
is the process's maximum resident set size (read by a small wrapper process through RUSAGE_CHILDREN, so each
figure belongs to one run only). Both variants must agree on every customer's billed users.
Without pandas (`pip install pandas`, the `bench` extra) only the connector side runs, checked against a plain csv
script instead. The report is written to benchmarks/data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from providers.altaro.sandbox import write_report

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"

PANDAS_SCRIPT = """
import json, sys
import pandas as pd

types = {"mailbox", "n/a", "onedrive", "user teams chats"}
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
frame = frame[frame["Object Type Backed Up"].str.strip().str.casefold().isin(types)]
frame = frame.assign(key=frame["Object Name"].str.strip().str.casefold())
users = frame.drop_duplicates(["Customer Name", "key"]).groupby("Customer Name").size()
print(json.dumps({name: int(count) for name, count in users.items()}))
"""

# The same count with the csv module only: the reference when pandas is not installed (not timed).
CSV_SCRIPT = """
import csv, json, sys

types = {"mailbox", "n/a", "onedrive", "user teams chats"}
users = {}
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    for row in csv.DictReader(f):
        if row["Object Type Backed Up"].strip().casefold() in types:
            users.setdefault(row["Customer Name"], set()).add(row["Object Name"].strip().casefold())
print(json.dumps({name: len(names) for name, names in users.items()}))
"""
HAS_PANDAS = importlib.util.find_spec("pandas") is not None

# Runs the command given as arguments and reports its wall time and peak RSS (its own child, so nothing else counts).
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - started
if done.returncode:
    sys.exit(done.stderr.decode()[-2000:])
print(json.dumps({"seconds": elapsed, "max_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def variants(report: Path) -> dict[str, list[str]]:
    connector = [sys.executable, "-m", "connector.cli", "users", str(report), "-f", "json"]
    found = {"connector users --format json": connector}
    if HAS_PANDAS:
        pandas = [sys.executable, "-c", PANDAS_SCRIPT, str(report)]
        found["pandas read_csv + filter + drop_duplicates + groupby"] = pandas
    return found


def environment() -> dict[str, str]:
    # An empty working directory, so `connector users` finds no connector.toml and runs with the defaults.
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOR_CONFIG"}
    return {**env, "PYTHONPATH": str(ROOT)}


def measure(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    if done.returncode:
        raise SystemExit(f"{command[2:4]} failed: {done.stderr}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def agree(report: Path, env: dict[str, str], cwd: Path) -> int:
    """Both variants' billed users per customer; exits if they differ. Returns the number of customers."""
    commands = list(variants(report).values())
    if not HAS_PANDAS:
        commands.append([sys.executable, "-c", CSV_SCRIPT, str(report)])
    outputs = [subprocess.run(c, capture_output=True, text=True, env=env, cwd=cwd, check=True).stdout for c in commands]
    connector = {entry["customer"]: entry["billed_users"] for entry in json.loads(outputs[0])}
    pandas = json.loads(outputs[1])
    if connector != pandas:
        differ = sorted(k for k in connector.keys() | pandas.keys() if connector.get(k) != pandas.get(k))[:5]
        raise SystemExit(f"the variants disagree, e.g. on {differ}")
    return len(connector)


def shuffle_rows(report: Path, seed: int = 7) -> None:
    """Put a report's rows in random order (header first): real exports are not sorted by customer, and a sorted
    report hides what switching customer on every row costs."""
    with report.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        rows = list(reader)
    random.Random(seed).shuffle(rows)
    with report.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the median is reported")
    parser.add_argument("--regenerate", action="store_true", help="write the report again even if it exists")
    parser.add_argument(
        "--order", choices=("random", "sorted"), default="random", help="rows in random order, or by customer"
    )
    args = parser.parse_args()

    report = DATA / f"altaro-users-{args.rows}-{args.order}.csv"
    if args.regenerate or not report.exists():
        print(f"writing {report} ...", flush=True)
        written = write_report(report, total_rows=args.rows, users_per_customer=400, seed=7)
        if args.order == "random":
            shuffle_rows(report)
        print(f"  {written.rows:,} rows, {len(written.billed_users):,} customers", flush=True)
    size_mb = report.stat().st_size / 1e6

    with tempfile.TemporaryDirectory() as work:
        cwd = Path(work)
        env = environment()
        customers = agree(report, env, cwd)
        results: dict[str, list[dict[str, float]]] = {}
        for _ in range(args.repeat):  # interleaved, so drifting machine load hits both alike
            for name, command in variants(report).items():
                results.setdefault(name, []).append(measure(command, env, cwd))

    shape = f"{args.rows:,} rows ({args.order} order), {size_mb:.0f} MB, {customers:,} customers"
    print(f"\n{shape}; median of {args.repeat} runs\n")
    print("| variant | wall time | peak memory (max RSS) |")
    print("|---|---|---|")
    medians = {}
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rss_mib = statistics.median(r["max_rss_kib"] for r in runs) / 1024
        medians[name] = (seconds, rss_mib)
        print(f"| {name} | {seconds:.2f} s | {rss_mib:.0f} MiB |")
    if not HAS_PANDAS:
        print("\npandas is not installed: the connector side only (its counts checked against a plain csv script)")
        return
    (ours_s, ours_m), (pandas_s, pandas_m) = medians.values()
    print(
        f"\nconnector / pandas: time {ours_s / pandas_s:.2f}x (target <= 2x), "
        f"memory {ours_m / pandas_m:.2f}x (target < 1x)"
    )


if __name__ == "__main__":
    main()
