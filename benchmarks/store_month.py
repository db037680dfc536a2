"""Store size after a month of hourly syncs of a large MSP, simulated against the store API (no HTTP, no PSA).

Every hour the Altaro link returns the day's report (about 29.5 MB: 2,000 customers, 260,767 rows), recorded through
the fetch ledger as the source records it (`keep_payloads` = `[altaro] keep_reports`). Once a day the report gains a
few users and some portal accounts grow; the day's first poll observes both sources through `connector.sync.observe`, as
the engine does, with the explanations the sources write. Later polls of a day observe nothing new: the store keeps an
unchanged quantity once a day (tests/connector/test_store.py checks that rule), so they are not replayed here.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.interfaces.ledger import FetchReserved
from connector.interfaces.usage import UsageReport
from connector.store import Store
from connector.store.retention import first_day_kept
from connector.sync.observe import observe
from mappings.calendar import BillingCalendar
from mappings.enums import BillingPeriod
from providers.altaro.parser import read_payload
from providers.altaro.rules import BillingRules, ReportTally
from providers.altaro.sandbox import HEADER, generate_rows
from providers.altaro.settings import AltaroColumns
from providers.altaro.source import customer_usage
from providers.axcient.generate import generate_dataset
from providers.axcient.models import Account, Customer
from providers.axcient.usage import UsageRules, compute_customer

T0 = datetime(2026, 11, 1, tzinfo=UTC)
MONTH = "2026-11"


class Altaro:
    """The day's report and its usage, counted as the Altaro source counts it."""

    def __init__(self, customers: int, rows: int, rng: random.Random) -> None:
        self.rows = list(
            generate_rows(customers=customers, users_per_customer=round(rows / customers / 2.83), month=MONTH)
        )
        self.rng = rng
        self.rules = BillingRules()

    def next_day(self, new_users: int) -> bytes:
        """A few customers gain a user each (a row copied under a new name): the report changes once a day."""
        for _ in range(new_users):
            row = list(self.rng.choice(self.rows))
            row[5] = f"New User {len(self.rows)}"
            self.rows.append(row)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(self.rows)
        return buffer.getvalue().encode()

    def usage(self, body: bytes, fetch_id: int, at: datetime) -> UsageReport:
        report = UsageReport("altaro", at, fetch_ids=[fetch_id])
        tally = ReportTally(self.rules).add(read_payload(body, AltaroColumns(), content_type="text/csv"))
        for count in tally.customers(MONTH):
            report.customers.append(customer_usage("altaro", count, self.rules))
        return report


class Axcient:
    """The portal's customers and accounts, and their usage as the Axcient source computes it."""

    def __init__(self, customers: int, accounts: int, rng: random.Random) -> None:
        data = generate_dataset(customers, accounts=accounts, seed=0)
        self.customers = [Customer.model_validate(c) for c in data["customers"]]
        self.accounts: list[dict[str, Any]] = data["accounts"]
        self.rng = rng

    def next_day(self, share: float) -> None:
        """Backups grow: a share of the accounts use a little more each day."""
        for account in self.rng.sample(self.accounts, int(len(self.accounts) * share)):
            for key in ("used_mb_compressed", "used_mb_uncompressed"):
                if isinstance(account.get(key), int):
                    account[key] += self.rng.randint(1, 4096)

    def usage(self, at: datetime) -> UsageReport:
        report = UsageReport("axcient", at)
        accounts = [Account.model_validate(a) for a in self.accounts]
        by_customer: dict[int, list[Account]] = {}
        for account in accounts:
            by_customer.setdefault(int(account.customer_id), []).append(account)
        everyone = {a.id: a for a in accounts}
        for customer in self.customers:
            own = by_customer.get(int(customer.id), [])
            result = compute_customer(customer, own, rules=UsageRules(), period_key=MONTH, everyone=everyone)
            report.customers.append(result.usage)
        return report


def poll(store: Store, body: bytes, at: datetime, keep: int) -> int:
    call = store.ledger.reserve("altaro", "billing report", timedelta(minutes=5), now=at)
    assert isinstance(call, FetchReserved)
    store.ledger.complete(
        call.fetch_id, "ok", status_code=200, content_type="text/csv", payload=body, now=at, keep_payloads=keep
    )
    return call.fetch_id


def sizes(path: Path) -> dict[str, tuple[float, float]]:
    """MiB per table and index, and how much of it holds data (SQLite's dbstat), for the breakdown."""
    with sqlite3.connect(path) as db:
        try:
            rows = db.execute(
                "SELECT name, SUM(pgsize), SUM(payload) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
        except sqlite3.OperationalError:
            return {}
    return {name: (size / 2**20, used / 2**20) for name, size, used in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--rows", type=int, default=260_767, help="about that many rows in the Altaro report")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--polls", type=int, default=24, help="polls a day")
    parser.add_argument("--keep-reports", type=int, default=24, help="[altaro] keep_reports")
    parser.add_argument("--new-users", type=int, default=20, help="users added to the report each day")
    parser.add_argument("--grow", type=float, default=0.05, help="share of portal accounts growing each day")
    parser.add_argument("--keep-periods", type=int, default=None, help="[store] keep_periods, applied each day")
    parser.add_argument("--save", type=Path, default=None, help="copy the store there at the end, to study it")
    args = parser.parse_args()
    rng = random.Random(0)
    altaro, axcient = Altaro(args.customers, args.rows, rng), Axcient(args.customers, args.accounts, rng)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "state.db"
        with Store.open(path) as store:
            for day in range(args.days):
                body = altaro.next_day(args.new_users if day else 0)
                axcient.next_day(args.grow if day else 0)
                for hour in range(args.polls):
                    at = T0 + timedelta(days=day, hours=hour * 24 / args.polls, minutes=7)
                    fetch_id = poll(store, body, at, args.keep_reports)
                    if hour == 0:
                        observe(store, altaro.usage(body, fetch_id, at))
                        observe(store, axcient.usage(at))
                if args.keep_periods is not None:
                    first = first_day_kept(BillingCalendar(), [BillingPeriod.MONTHLY], args.keep_periods, [], at)
                    if first is not None:
                        store.prune(first, at)
                store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                counts = {
                    table: store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                    for table in ("observation_rows", "observation_repeats", "explanations")
                }
                print(
                    f"day {day + 1:>2}: {path.stat().st_size / 2**20:6.1f} MiB, {counts['observation_rows']:>7} "
                    f"observation rows and {counts['observation_repeats']:>8} daily repeats, "
                    f"{counts['explanations']:>7} explanations, report {len(body) / 1e6:.1f} MB, "
                    f"{time.perf_counter() - started:5.0f} s",
                    flush=True,
                )
        breakdown = sizes(path)
        if args.save is not None:
            shutil.copyfile(path, args.save)
        total = path.stat().st_size / 2**20
    print(f"after {args.days} days of {args.polls} polls: store {total:.1f} MiB")
    for name, (mib, used) in breakdown.items():
        if mib >= 0.05:
            print(f"  {name:<36} {mib:7.1f} MiB ({used:.1f} MiB of data)")


if __name__ == "__main__":
    main()
