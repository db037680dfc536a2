"""CLI commands of the axcient provider, registered on the main app by connector.cli."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.status import Status

from connector.context import ConfigOption, FormatOption, state
from connector.errors import ConfigError, DataError
from connector.observe import observe
from connector.output import print_json, print_table, stderr
from connector.store import Store
from providers.axcient.client import build_axcient_client
from providers.axcient.source import AxcientSource, Collection
from providers.axcient.usage import AccountUse, CustomerResult, Totals, UsageRules


def _amounts(totals: Totals, rules: UsageRules) -> dict[str, Any]:
    pc_gb, server_gb = rules.gb(totals.mb["pc"]), rules.gb(totals.mb["server"])
    return {
        "pc_gb": pc_gb,
        "server_gb": server_gb,
        "total_gb": pc_gb + server_gb,
        "pc_devices": totals.devices["pc"],
        "server_devices": totals.devices["server"],
        "devices": totals.devices["pc"] + totals.devices["server"],
    }


def _account(use: AccountUse) -> dict[str, Any]:
    found: dict[str, Any] = {
        "account": use.account.id,
        "username": use.account.username,
        "computer": use.account.computer_name,
        "device": use.account.device_type,
        "plan": use.plan,
        "used_mb": use.mb,
    }
    if not use.billed:
        found["reason"] = use.error or use.reason
    if use.account.effective_quota_mb is not None:
        found["quota_mb"] = use.account.effective_quota_mb
    return found


def customer_data(result: CustomerResult, rules: UsageRules) -> dict[str, Any]:
    """One customer as `connector usage axcient --format json` prints it."""
    return {
        "customer": result.customer.name,
        "customer_id": result.customer.id,
        **_amounts(result.totals, rules),
        "plans": {plan: _amounts(totals, rules) for plan, totals in result.plans.items()},
        "not_billed": [_account(u) for u in result.not_billed],
        "over_quota": [_account(u) for u in result.over_quota],
        "complete": result.usage.complete,
        "problems": result.usage.problems,
    }


def _gb(value: Decimal) -> str:
    return f"{value:,.2f}"


def _print_table(collection: Collection, rules: UsageRules) -> None:
    rows = []
    for result in collection.results:
        data = _amounts(result.totals, rules)
        rows.append(
            (
                result.customer.name,
                _gb(data["pc_gb"]),
                _gb(data["server_gb"]),
                _gb(data["total_gb"]),
                data["pc_devices"],
                data["server_devices"],
                len(result.not_billed),
                len(result.over_quota),
                "ok" if result.usage.complete else "INCOMPLETE",
            )
        )
    columns = ["customer", "PC GB", "server GB", "total GB", "PCs", "servers", "not billed", "over quota"]
    print_table(
        f"Axcient usage ({rules.storage}, {rules.mb_per_gb} MB per GB)",
        [*columns, "status"],
        rows,
        numeric=("PC GB", "server GB", "total GB", "PCs", "servers", "not billed", "over quota"),
    )


def _print_details(collection: Collection, rules: UsageRules) -> None:
    # Plans get their own table: next to the totals they would not fit a terminal.
    plan_rows = []
    for result in collection.results:
        for plan, totals in result.plans.items():
            data = _amounts(totals, rules)
            plan_rows.append(
                (
                    result.customer.name,
                    plan,
                    _gb(data["pc_gb"]),
                    _gb(data["server_gb"]),
                    data["pc_devices"],
                    data["server_devices"],
                )
            )
    numbers = ("PC GB", "server GB", "PCs", "servers")
    print_table("Per service plan", ["customer", "plan", *numbers], plan_rows, numeric=numbers)
    rows = [
        (
            result.customer.name,
            use.account.id,
            use.account.computer_name,
            use.plan,
            f"{use.mb:,}",
            "" if use.account.effective_quota_mb is None else f"{use.account.effective_quota_mb:,}",
            "" if use.billed else (use.error or use.reason),
            "yes" if use.over_quota else "",
        )
        for result in collection.results
        for use in result.accounts
        if not use.billed or use.over_quota
    ]
    columns = ["customer", "account", "computer", "plan", "used MB", "quota MB", "not billed because", "over quota"]
    print_table("Accounts not billed or over quota", columns, rows, numeric=("used MB", "quota MB"))


def register(app: typer.Typer, usage: typer.Typer) -> None:
    """Add `connector usage axcient` to the `usage` group."""

    @usage.command("axcient")
    def usage_axcient(
        ctx: typer.Context,
        config: ConfigOption = None,
        output: FormatOption = "table",
        details: Annotated[
            bool, typer.Option("--details", help="Table format: also list accounts not billed or over quota.")
        ] = False,
    ) -> None:
        """Fetch accounts from the backup portal and print storage and computers per customer (and record them)."""
        settings = state(ctx, config).settings()
        if not settings.section("axcient").enabled:
            raise ConfigError(
                "[axcient] enabled = false: enable it (with base_url, username and password) to read the portal"
            )
        with Store.open(settings.store.path) as store:
            section = settings.section("axcient")
            source = AxcientSource(section, lambda: build_axcient_client(section, settings.http))
            with Status("Reading customers and accounts from the portal…", console=stderr):
                collection = source.collect_details()
                observe(store, collection.report)
        rules = source.rules
        if output == "json":
            print_json([customer_data(r, rules) for r in collection.results])
        else:
            _print_table(collection, rules)
            if details:
                _print_details(collection, rules)
        report = collection.report
        incomplete = [r for r in collection.results if not r.usage.complete]
        for problem in report.problems:
            stderr.print(f"problem: {problem}", markup=False)
        for result in incomplete:
            for problem in result.usage.problems:
                stderr.print(f"incomplete: {result.customer.name}: {problem}", markup=False)
        if report.problems or incomplete:
            raise DataError(
                f"axcient: {len(report.problems)} portal-wide problem(s), {len(incomplete)} customer(s) incomplete; "
                "their usage is recorded as incomplete and will not be billed"
            )
