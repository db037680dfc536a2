"""Benchmark: `connector users REPORT --format json` against pandas and a plain csv loop on a 1,000,000-row report.

The report's customers are in random order (real exports are not sorted). Each variant runs in its own subprocess;
the variants run in interleaved rounds (connector, pandas, csv, then again, the first moved to the end each round),
so drifting load from other work on the machine hits each alike, and each figure is a median over the rounds. Wall
time is measured around the process; peak memory is sampled over the process and any it starts by a small wrapper
process (see MEASURE), so each figure belongs to one run only. Every variant must give
every customer the same billed users. pandas comes with the `bench` extra (`pip install -e '.[bench]'`); without it
the pandas variant is left out. The report is written to benchmarks/data/ (git-ignored).
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
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from providers.altaro.sandbox import write_report

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
CONNECTOR = "connector users --format json"
PANDAS = "pandas read_csv + groupby nunique"
CSV_LOOP = "stdlib csv loop"

# The billing rule as a pandas user writes it: billed types and names compared ignoring case and surrounding spaces,
# distinct names per customer (`nunique`).
PANDAS_SCRIPT = """
import json, sys
import pandas as pd

types = {"mailbox", "n/a", "onedrive", "user teams chats"}
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
frame = frame[frame["Object Type Backed Up"].str.strip().str.casefold().isin(types)]
keys = frame["Object Name"].str.strip().str.casefold()
users = keys.groupby(frame["Customer Name"]).nunique()
print(json.dumps({name: int(count) for name, count in users.items()}))
"""

# The same rule with the csv module and a dict of sets: the floor a pure-Python reader starts from.
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
print(json.dumps({name: len(names) for name, names in users.items()}))
"""
HAS_PANDAS = importlib.util.find_spec("pandas") is not None

# Runs the command given as arguments (after "time" or "memory") and reports its wall time, or its peak memory
# sampled every 10 ms over the command and every process it starts (`connector users` forks a worker per CPU): the
# peak of their resident sets summed, which counts memory a forked worker shares with its parent twice (an upper
# bound), and the peak of their proportional set sizes (PSS: shared pages split between the processes sharing them),
# the fair figure for a process tree. A single process's peak is at least its own maximum RSS, taken when larger (a
# peak between two samples). Sampling reads /proc/*/smaps_rollup, which costs the kernel enough to slow the command,
# so the timed runs are not sampled.
MEASURE = """
import json, os, resource, subprocess, sys, tempfile, time

PAGE = os.sysconf("SC_PAGE_SIZE")

def tree(pid):
    found, pending = [], [pid]
    while pending:
        process = pending.pop()
        found.append(process)
        try:
            with open(f"/proc/{process}/task/{process}/children") as children:
                pending += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            pass  # ended meanwhile
    return found

def rss(process):
    try:
        with open(f"/proc/{process}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0

def pss(process):
    try:
        with open(f"/proc/{process}/smaps_rollup") as rollup:
            return next(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
    except (OSError, ValueError, StopIteration):
        return 0

sampled = sys.argv[1] == "memory"
with tempfile.TemporaryFile() as errors:
    started = time.perf_counter()
    command = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=errors)
    peak_rss = peak_pss = 0
    while sampled and command.poll() is None:
        processes = tree(command.pid)
        peak_rss = max(peak_rss, sum(map(rss, processes)))
        peak_pss = max(peak_pss, sum(map(pss, processes)))
        time.sleep(0.01)
    command.wait()
    elapsed = time.perf_counter() - started
    if command.returncode:
        errors.seek(0)
        sys.exit(errors.read().decode()[-2000:])
if not sampled:
    print(json.dumps({"seconds": elapsed}))
else:
    own = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"rss": max(own, peak_rss), "pss": peak_pss or own}))
"""


def variants(report: Path) -> dict[str, list[str]]:
    found = {CONNECTOR: [sys.executable, "-m", "connector.cli", "users", str(report), "-f", "json"]}
    if HAS_PANDAS:
        found[PANDAS] = [sys.executable, "-c", PANDAS_SCRIPT, str(report)]
    found[CSV_LOOP] = [sys.executable, "-c", CSV_SCRIPT, str(report)]
    return found


def environment() -> dict[str, str]:
    # An empty working directory and no CONNECTOR_ variables, so `connector users` runs with the defaults.
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONNECTOR_")}
    return {**env, "PYTHONPATH": str(ROOT)}


def measure(what: str, command: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """The command's wall time (`what` = "time") or peak memory ("memory"), each from a run of its own."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, what, *command], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    if done.returncode:
        raise SystemExit(f"{command[2:4]} failed: {done.stderr}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def agree(report: Path, env: dict[str, str], cwd: Path) -> int:
    """Every variant's billed users per customer; exits if any differs. Returns the number of customers."""
    counts = {}
    for name, command in variants(report).items():
        output = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=True).stdout
        data = json.loads(output)
        counts[name] = {e["customer"]: e["billed_users"] for e in data} if name == CONNECTOR else data
    ours = counts[CONNECTOR]
    for name, theirs in counts.items():
        if theirs != ours:
            differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))[:5]
            raise SystemExit(f"{name} disagrees with the connector, e.g. on {differ}")
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
    """`repeat` rounds of every variant, one after the other (a timed run, then a run sampled for memory); each round
    starts one variant later than the last."""
    order = deque(variants(report).items())
    done = []
    for number in range(repeat):
        round_ = {
            name: measure("time", command, env, cwd) | measure("memory", command, env, cwd) for name, command in order
        }
        done.append(round_)
        print(f"  round {number + 1}: " + ", ".join(f"{n} {r['seconds']:.2f} s" for n, r in round_.items()), flush=True)
        order.rotate(-1)
    return done


def summary(done: list[dict[str, dict[str, float]]]) -> list[str]:
    """The table of medians, then the connector against pandas as the median of each round's own ratio."""
    lines = ["| variant | wall time | peak memory: RSS summed | PSS summed |", "|---|---|---|---|"]
    for name in done[0]:
        seconds = statistics.median(r[name]["seconds"] for r in done)
        rss, pss = (statistics.median(r[name][kind] for r in done) / 2**20 for kind in ("rss", "pss"))
        lines.append(f"| {name} | {seconds:.2f} s | {rss:.0f} MiB | {pss:.0f} MiB |")
    for other, target in ((PANDAS, " (target <= 1.5x; memory <= 0.6x)"), (CSV_LOOP, "")):
        if other not in done[0]:
            continue
        ratios = {
            kind: statistics.median(r[CONNECTOR][kind] / r[other][kind] for r in done)
            for kind in ("seconds", "rss", "pss")
        }
        lines.append(
            f"connector / {other}: time {ratios['seconds']:.2f}x, memory {ratios['rss']:.2f}x by RSS, "
            f"{ratios['pss']:.2f}x by PSS{target}"
        )
    return lines


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
    print("\n".join(summary(done)))
    if not HAS_PANDAS:
        print("\npandas is not installed (pip install -e '.[bench]'): the connector against the csv loop only")


if __name__ == "__main__":
    main()
