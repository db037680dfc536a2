"""Benchmark: `connector users REPORT --format json` against pandas computing the same answer, on 1,000,000 rows.

The guard (issue 21): on a report of 1,000,000 rows in random customer order (real exports are not sorted),
`connector users` takes at most 2.5x pandas' wall time and at most 0.6x its peak memory (max RSS), measured side by
side in the same run. The pandas script applies the same rule and must give every customer the same billed users,
backed-up GB, rows and duplicate rows as the connector, or the benchmark stops. A plain `csv` loop (billed users
only, no checks) shows where pure Python starts from.

Each variant runs in its own process, in interleaved rounds (each round starts one variant later), so drifting load
from other work on the machine hits each alike; each figure is a median over the rounds, and each ratio the median
of the rounds' own ratios. Wall time, CPU time and max RSS come from the same run (`os.wait4`); the guard is on wall
time (CPU time is less disturbed by other work on a shared machine). pandas comes with the `bench` extra
(`.venv/bin/pip install -e '.[bench]'`); without it, the guard cannot be checked and only the connector and the csv
loop run. The report is written to benchmarks/data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from providers.altaro.counts import customer_key
from providers.altaro.sandbox import write_report

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
CONNECTOR = "connector users --format json"
PANDAS = "pandas, the same rule"
PANDAS_USERS = "pandas, billed users only"
CSV_LOOP = "stdlib csv loop, billed users only"
MAX_TIME, MAX_MEMORY = 2.5, 0.6  # the guard, against PANDAS
HAS_PANDAS = importlib.util.find_spec("pandas") is not None

# The billing rule as a pandas user writes it: a customer known by its name ignoring case, Unicode form and runs of
# whitespace; identical rows counted once; billed users the distinct object names (ignoring case and surrounding
# spaces) among rows of a billed type, a blank name no user; GB the sum of every counted row's size. The report has
# one Month value and no exclusions are configured, so neither appears here.
PANDAS_SCRIPT = """
import json, sys, unicodedata
import pandas as pd

def customer_key(name):
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())

types = {"mailbox", "n/a", "onedrive", "user teams chats"}
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
customers = frame["Customer Name"]
frame["Customer Name"] = customers.map({name: customer_key(name) for name in customers.unique()})
rows = frame.groupby("Customer Name").size()
frame = frame.drop_duplicates()
by_customer = frame.groupby("Customer Name")
counted = by_customer.size()
gb = pd.to_numeric(frame["Backed Up Size (GB)"], errors="coerce").groupby(frame["Customer Name"]).sum()
keys = frame["Object Name"].str.strip().str.casefold()
billed = frame["Object Type Backed Up"].str.strip().str.casefold().isin(types) & (keys != "")
users = keys[billed].groupby(frame["Customer Name"][billed]).nunique()
print(json.dumps({
    name: {
        "billed_users": int(users.get(name, 0)),
        "backup_gb": f"{gb[name]:.2f}",
        "rows": int(rows[name]),
        "duplicate_rows_ignored": int(rows[name] - counted[name]),
    }
    for name in rows.index
}))
"""

# What earlier tables of benchmarks/README.md measured pandas with: billed users only, by the customer's name as
# written, duplicates left in (`nunique` does not mind them).
PANDAS_USERS_SCRIPT = """
import json, sys
import pandas as pd

types = {"mailbox", "n/a", "onedrive", "user teams chats"}
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
frame = frame[frame["Object Type Backed Up"].str.strip().str.casefold().isin(types)]
keys = frame["Object Name"].str.strip().str.casefold()
users = keys.groupby(frame["Customer Name"]).nunique()
print(json.dumps({name: {"billed_users": int(count)} for name, count in users.items()}))
"""

# The billed users with the csv module and a dict of sets: the floor a pure-Python reader starts from.
CSV_SCRIPT = """
import csv, json, sys

types = {"mailbox", "n/a", "onedrive", "user teams chats"}
users = {}
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    rows = csv.reader(f)
    header = next(rows)
    customer, kind, name = (header.index(c) for c in ("Customer Name", "Object Type Backed Up", "Object Name"))
    for row in rows:
        if row[kind].strip().casefold() in types:
            users.setdefault(row[customer], set()).add(row[name].strip().casefold())
print(json.dumps({name: {"billed_users": len(names)} for name, names in users.items()}))
"""


def variants(report: Path) -> dict[str, list[str]]:
    found = {CONNECTOR: [sys.executable, "-m", "connector.cli", "users", str(report), "-f", "json"]}
    if HAS_PANDAS:
        found[PANDAS] = [sys.executable, "-c", PANDAS_SCRIPT, str(report)]
        found[PANDAS_USERS] = [sys.executable, "-c", PANDAS_USERS_SCRIPT, str(report)]
    found[CSV_LOOP] = [sys.executable, "-c", CSV_SCRIPT, str(report)]
    return found


def environment() -> dict[str, str]:
    # An empty working directory and no CONNECTOR_ variables, so `connector users` runs with the defaults.
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONNECTOR_")}
    return {**env, "PYTHONPATH": str(ROOT)}


def measure(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """One run of the command: its wall time, CPU time (user and system) and peak memory (max RSS: one process,
    so that is all of it)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        if process.returncode:
            errors.seek(0)
            raise SystemExit(f"{command[2:4]} failed: {errors.read().decode()[-2000:]}")
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss * 1024.0}


def answers(report: Path, env: dict[str, str], cwd: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """What each variant says per customer (by `customer_key`, as the connector finds customers)."""
    found = {}
    for name, command in variants(report).items():
        output = json.loads(subprocess.run(command, capture_output=True, env=env, cwd=cwd, check=True).stdout)
        if name == CONNECTOR:
            found[name] = {
                customer_key(entry["customer"]): {
                    "billed_users": entry["billed_users"],
                    "backup_gb": f"{float(entry['backup_gb']):.2f}",
                    "rows": entry["rows"],
                    "duplicate_rows_ignored": entry["duplicate_rows_ignored"],
                }
                for entry in output
            }
        else:
            found[name] = {customer_key(customer): fields for customer, fields in output.items()}
    return found


def agree(report: Path, env: dict[str, str], cwd: Path) -> int:
    """Exits unless every variant gives every customer what the connector gives, in each field the variant
    computes. Returns the number of customers."""
    found = answers(report, env, cwd)
    ours = found[CONNECTOR]
    for name, theirs in found.items():
        fields = next(iter(theirs.values())).keys()
        mine = {customer: {f: counts[f] for f in fields} for customer, counts in ours.items()}
        if theirs != mine:
            differ = [(k, mine.get(k), theirs.get(k)) for k in sorted(mine.keys() | theirs.keys())]
            raise SystemExit(f"{name} disagrees with the connector, e.g. {[d for d in differ if d[1] != d[2]][:3]}")
    return len(ours)


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


def prepare(rows: int, order: str, regenerate: bool) -> Path:
    """The report for this shape, written (and shuffled for random order) unless it exists."""
    report = DATA / f"altaro-users-{rows}-{order}.csv"
    if regenerate or not report.exists():
        print(f"writing {report} ...", flush=True)
        written = write_report(report, total_rows=rows, users_per_customer=400, seed=7)
        if order == "random":
            shuffle_rows(report)
        print(f"  {written.rows:,} rows, {len(written.billed_users):,} customers", flush=True)
    return report


def rounds(report: Path, repeat: int, env: dict[str, str], cwd: Path) -> list[dict[str, dict[str, float]]]:
    """`repeat` rounds of every variant, one after the other; each round starts one variant later than the last."""
    order = deque(variants(report).items())
    done = []
    for number in range(repeat):
        round_ = {name: measure(command, env, cwd) for name, command in order}
        done.append(round_)
        shown = ", ".join(f"{n}: {r['seconds']:.2f} s, {r['rss'] / 2**20:.0f} MiB" for n, r in round_.items())
        print(f"  round {number + 1}: {shown}", flush=True)
        order.rotate(-1)
    return done


def summary(done: list[dict[str, dict[str, float]]]) -> tuple[list[str], bool | None]:
    """The table of medians, the connector against each other variant (the median of each round's own ratio), and
    whether the guard is met (None without pandas)."""
    lines = ["| variant | wall time | CPU time | peak memory (max RSS) |", "|---|---|---|---|"]
    for name in done[0]:
        seconds, cpu, rss = (statistics.median(r[name][kind] for r in done) for kind in ("seconds", "cpu", "rss"))
        lines.append(f"| {name} | {seconds:.2f} s | {cpu:.2f} s | {rss / 2**20:.0f} MiB |")
    met = None
    for other in (name for name in done[0] if name != CONNECTOR):
        time_ratio, cpu_ratio, memory_ratio = (
            statistics.median(r[CONNECTOR][kind] / r[other][kind] for r in done) for kind in ("seconds", "cpu", "rss")
        )
        guard = ""
        if other == PANDAS:
            met = time_ratio <= MAX_TIME and memory_ratio <= MAX_MEMORY
            guard = f" (guard: time <= {MAX_TIME}x, memory <= {MAX_MEMORY}x: {'met' if met else 'MISSED'})"
        lines.append(
            f"connector / {other}: time {time_ratio:.2f}x (CPU {cpu_ratio:.2f}x), memory {memory_ratio:.2f}x{guard}"
        )
    return lines, met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds; medians are reported")
    parser.add_argument("--regenerate", action="store_true", help="write the report again even if it exists")
    parser.add_argument(
        "--order", choices=("random", "sorted"), default="random", help="rows in random order, or by customer"
    )
    args = parser.parse_args()
    report = prepare(args.rows, args.order, args.regenerate)
    with tempfile.TemporaryDirectory() as work:
        cwd, env = Path(work), environment()
        customers = agree(report, env, cwd)
        done = rounds(report, args.repeat, env, cwd)
    machine = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n{args.rows:,} rows ({args.order} order), {report.stat().st_size / 1e6:.0f} MB, {customers:,} customers")
    print(f"{machine}; {when}; median of {args.repeat} interleaved rounds\n")
    lines, met = summary(done)
    print("\n".join(lines))
    if met is None:
        print("\npandas is not installed (pip install -e '.[bench]'): the guard is not checked")
    elif not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
