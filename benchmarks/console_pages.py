"""Benchmark: the billing console's pages over the large MSP's store (issue 23: each under 200 ms at 2,000 customers).

Builds the store the way `large_msp.py` does (its sandboxes with generated data, latency 0, one real `connector sync`
in its own process), adds a `[console]` section with one approver, creates the app and signs in with Starlette's
TestClient (in process: the app's own render time, no network), then times each GET page `--repeat` times and prints
the median and the maximum. `/mapping` shows the vendor customers the sync recorded and reads the PSA's lists once
(kept a few minutes in the app): its first GET, which reads them, is reported apart, then its GETs are timed as the
others; its "Refresh from vendors" (a POST reading every vendor and the PSA live, as `connector map` does; the
sandboxes answer at once here) is run once and reported apart, as is the reconcile (a POST) with `--reconcile`.
`--profile` profiles, in the main thread, the operation each page over 200 ms calls (a GET's own profile sees only
the test client waiting for the app's thread).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from large_msp import MONTH, run_sync, world

from connector import operations
from connector.console import create_app
from connector.core.config import Settings
from connector.wiring import load_settings

with warnings.catch_warnings():
    # Starlette's test client asks for httpx2; the project's httpx (below 1) is what it is tested with.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TARGET_MS = 200.0
PASSWORD_ENV = "CONSOLE_BENCH_PASSWORD"
PASSWORD = "bench-approver-Qm48"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CONSOLE = f'\n[console]\nusers = [{{ name = "Bob", role = "approver", password = {{ env = "{PASSWORD_ENV}" }} }}]\n'


def pages(customers: int) -> list[tuple[str, str]]:
    first = quote("PSA customer 00000")
    return [
        ("Month", "/"),
        ("Review", "/review"),
        ("Review, page 2", "/review?page=2"),
        ("Review, one customer", f"/review?customer={first}"),
        ("Customers, first page", "/customers"),
        ("Customers, search", "/customers?q=" + quote(f"{customers // 2:05d}")),
        ("Customer", f"/customer?name={first}"),
        ("Periods", "/periods"),
        ("Period", f"/periods/{MONTH}"),
        ("Export CSV", f"/periods/{MONTH}/export.csv"),
        ("Export HTML", f"/periods/{MONTH}/export.html"),
    ]


def timed(client: TestClient, path: str, repeat: int) -> tuple[list[float], int, int]:
    """Each GET's wall time in ms, the answer's status and size (the last one)."""
    times = []
    status = size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        status, size = answer.status_code, len(answer.content)
    return times, status, size


def row(label: str, path: str, times: list[float], status: int, size: int) -> str:
    median, most = statistics.median(times), max(times)
    verdict = "yes" if most < TARGET_MS else ("median only" if median < TARGET_MS else "NO")
    return f"{label:24} {median:>9.1f} {most:>9.1f} {status:>6} {size / 1024:>9.0f}  {verdict:12} {path}"


def signed_in(client: TestClient) -> None:
    token = CSRF.search(client.get("/signin").text)
    assert token is not None
    answer = client.post("/signin", data={"csrf": token.group(1), "name": "Bob", "password": PASSWORD})
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.text[:300]}")


def operations_of(settings: Settings, name: str) -> dict[str, Callable[[], object]]:
    """What the slow pages call in the threadpool (a cProfile of the GET sees only the test client waiting)."""
    return {
        "Month": lambda: operations.status(settings),
        "Review": lambda: operations.waiting(settings),
        "Customer": lambda: (operations.history(settings, name), operations.explain_customer(settings, name)),
        "Export CSV": lambda: operations.export_period(settings, MONTH, "csv"),
        "Export HTML": lambda: operations.export_period(settings, MONTH, "html"),
        "Mapping": lambda: operations.classify(settings, *operations.recorded_reports(settings)),
    }


def profile(label: str, call: Callable[[], object], top: int) -> None:
    alone = []
    for _ in range(3):
        started = time.perf_counter()
        call()
        alone.append((time.perf_counter() - started) * 1000)
    print(f"\n{label}: its operation alone, no profiler, median of 3: {statistics.median(alone):.1f} ms")
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    print(f"cProfile of what {label} calls (by own time, top {top})")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the large MSP (2,000 customers)")
    parser.add_argument("--repeat", type=int, default=5, help="GETs of each page")
    parser.add_argument("--reconcile", action="store_true", help="also POST the period's reconcile once")
    parser.add_argument("--profile", action="store_true", help="profile what each page over 200 ms calls")
    args = parser.parse_args()
    customers = max(1, round(2000 * args.scale))
    os.environ[PASSWORD_ENV] = PASSWORD
    python = sys.version.split()[0]
    print(f"console pages: {customers:,} customers, {os.cpu_count()} CPUs, Python {python}, {args.repeat} GETs each")
    with tempfile.TemporaryDirectory(prefix="console-pages-") as tmp, world("atera", customers, 0.0, Path(tmp)) as made:
        started = time.perf_counter()
        elapsed, _, report = run_sync(made, dry_run=False)
        totals = ", ".join(f"{n:,} {outcome}" for outcome, n in report["totals"].items() if n)
        print(f"store built in {time.perf_counter() - started:.1f} s (sync {elapsed:.1f} s): {len(report['lines']):,}")
        print(f"  lines ({totals}), status {report['status']}")
        for secret in (made.store.parent / "secrets").iterdir():
            secret.chmod(0o600)  # as `connector` asks of a secret file (large_msp.py leaves them 0644)
        made.config.write_text(made.config.read_text(encoding="utf-8") + CONSOLE, encoding="utf-8")
        settings = load_settings(made.config)
        app = create_app(settings)
        # A name the console serves (its Host check refuses the test client's default, testserver).
        with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
            signed_in(client)
            slow = []
            print(f"\n{'page':24} {'median ms':>9} {'max ms':>9} {'status':>6} {'KiB':>9}  {'< 200 ms':12} path")
            first, status, size = timed(client, "/mapping", 1)
            for label, path in [*pages(customers), ("Mapping", "/mapping")]:
                times, status, size = timed(client, path, args.repeat)
                print(row(label, path, times, status, size), flush=True)
                if max(times) >= TARGET_MS:
                    slow.append(label)
            said = re.search(r"(\d[\d,]*) vendor customer\(s\) are mapped already", client.get("/mapping").text)
            print(f"  the page says: {said.group(0) if said else 'no count of mapped customers (an error?)'}")
            print("\napart (sandboxes at latency 0):")
            print(row("Mapping, first GET", "/mapping (reads the PSA's lists, kept 5 minutes)", first, status, size))
            refresh(client)
            if args.reconcile:
                reconcile(client)
        if args.profile:
            calls = operations_of(settings, "PSA customer 00000")
            for label in slow:
                if label in calls:
                    profile(label, calls[label], 15)


def refresh(client: TestClient) -> None:
    """The Mapping page's "Refresh from vendors": every vendor and the PSA read live, once."""
    token = CSRF.search(client.get("/mapping").text)
    assert token is not None
    started = time.perf_counter()
    answer: Any = client.post("/mapping/refresh", data={"csrf": token.group(1)})
    took = (time.perf_counter() - started) * 1000
    after = client.get("/mapping")
    print(f"POST /mapping/refresh once: {took:.0f} ms, status {answer.status_code}; then /mapping {after.status_code}")


def reconcile(client: TestClient) -> None:
    page = client.get(f"/periods/{MONTH}").text
    token = CSRF.search(page)
    assert token is not None
    started = time.perf_counter()
    answer: Any = client.post(f"/periods/{MONTH}/reconcile", data={"csrf": token.group(1)})
    took = (time.perf_counter() - started) * 1000
    size = len(answer.content)
    print(f"\nPOST /periods/{MONTH}/reconcile once: {took:.0f} ms, status {answer.status_code}, {size:,} B")


if __name__ == "__main__":
    main()
