"""Benchmark: Atera sink pushes and paged reads against the sandbox (requests per line, lines per second).

Each push round is a new sink, as each sync run opens one: it lists customers and contracts once, then pushes.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from typing import Any

from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from mappings.enums import BillingPeriod
from mappings.lines import Line
from providers.atera.client import build_atera_client
from providers.atera.sandbox import DEFAULT_API_KEY, AteraSandbox, default_data
from providers.atera.sandbox_account import retainer_contract
from providers.atera.settings import AteraSettings
from providers.atera.sink import AteraSink


def account(customers: int) -> dict[str, Any]:
    """The demo account plus `customers` customers, each with one Retainer contract on the per-GB rate."""
    data = default_data()
    rate = data["rates"]["products"][0]
    for n in range(customers):
        customer_id, contract_id = 10_000 + n, 50_000 + n
        name = f"Bench customer {n:05d}"
        data["customers"].append({"CustomerID": customer_id, "CustomerName": name})
        data["contracts"].append(retainer_contract(customer_id, name, contract_id, "Server backup (per GB)", rate))
    return data


def line(n: int, quantity: Decimal) -> Line:
    return Line(
        psa_customer=f"Bench customer {n:05d}",
        contract="Server backup (per GB)",
        period_key="2026-11",
        metric="axcient.server_gb",
        quantity=quantity,
        unit="GB",
        rate=Decimal("0.12"),
        amount=quantity * Decimal("0.12"),
        billing_period=BillingPeriod.MONTHLY,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=500)
    args = parser.parse_args()
    with AteraSandbox(account(args.customers)) as sandbox:
        assert isinstance(sandbox, AteraSandbox)
        # The real throttle is in force but set high: this measures the connector and sandbox, not the wait.
        settings = AteraSettings(
            enabled=True,
            base_url=sandbox.api_url,
            api_key=SecretRef(value=DEFAULT_API_KEY),
            max_requests=1_000_000,
            window_seconds=1,
        )
        client = build_atera_client(settings, HttpSettings())
        lines = [line(n, Decimal(100 + n) + Decimal("0.5")) for n in range(args.customers)]

        first_push_requests = 0
        rounds = ("first push (writes)", "rerun, Atera holds all (no writes)")
        for label in rounds:
            # A new sink per round, as a new run would open (one client, so the throttle spans both).
            sink = AteraSink(lambda: client, custom_field=settings.custom_field)
            before_requests, before_writes = len(sandbox.requests), len(sandbox.writes())
            started = time.perf_counter()
            for planned in lines:
                sink.push(planned)
            elapsed = time.perf_counter() - started
            requests = len(sandbox.requests) - before_requests
            writes = len(sandbox.writes()) - before_writes
            first_push_requests = first_push_requests or requests
            print(
                f"{label:36} {len(lines)} lines in {elapsed:6.2f} s = {len(lines) / elapsed:7.1f} lines/s; "
                f"{requests} requests ({requests / len(lines):.2f} per line), {writes / len(lines):.2f} writes per line"
            )

        started = time.perf_counter()
        contracts = sum(1 for _ in client.contracts())
        elapsed = time.perf_counter() - started
        print(f"{'read all contracts':36} {contracts} contracts in {elapsed:6.2f} s ({-(-contracts // 50)} pages)")
        # What the operator waits for in production: Atera's throttle, not CPU.
        defaults = AteraSettings()
        minutes = first_push_requests / (defaults.max_requests / defaults.window_seconds) / 60
        print(
            f"at the default throttle ({defaults.max_requests} per {defaults.window_seconds:.0f} s) that first push "
            f"takes about {minutes:.0f} min of request budget"
        )
        client.close()


if __name__ == "__main__":
    main()
