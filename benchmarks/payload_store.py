"""Store size after hourly polls of an unchanged report: each distinct body is kept once, by its hash."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.interfaces.ledger import FetchReserved
from connector.store import Store

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=29.5, help="size of the report body")
    parser.add_argument("--polls", type=int, default=24)
    parser.add_argument("--keep", type=int, default=24, help="[altaro] keep_reports")
    args = parser.parse_args()
    body = os.urandom(int(args.mb * 2**20 / 2)).hex().encode()  # hex: no secret-looking bytes, text-like size
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "state.db"
        started = time.perf_counter()
        with Store.open(path) as store:
            for n in range(args.polls):
                at = T0 + n * timedelta(hours=1)
                call = store.ledger.reserve("altaro", "link", timedelta(minutes=5), now=at)
                assert isinstance(call, FetchReserved)
                store.ledger.complete(call.fetch_id, "ok", payload=body, now=at, keep_payloads=args.keep)
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elapsed = time.perf_counter() - started
        size = path.stat().st_size / 2**20
    print(f"{args.polls} polls of an unchanged {args.mb} MB report, keep {args.keep}: {size:.1f} MiB, {elapsed:.1f} s")


if __name__ == "__main__":
    main()
