"""What the axcient provider shows (typer-free): storage and computers per customer, plan and account."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connector.core.errors import DataError
from connector.interfaces.usage import UsageReport, UsageSource
from providers.axcient.source import AxcientSource, Collection
from providers.axcient.usage import AccountUse, CustomerResult, Totals, UsageRules
from providers.spec import Table, ViewInput, ViewResult


@dataclass(frozen=True)
class Details:
    """A collection with the account-level detail behind its usage, and the rules that turned accounts into GB."""

    collection: Collection
    rules: UsageRules


def collect(source: UsageSource) -> tuple[UsageReport, Details]:
    """Collect with the per-account detail the view shows; the report is what gets observed."""
    if not isinstance(source, AxcientSource):
        raise TypeError(f"the axcient usage view needs an AxcientSource, not {type(source).__name__}")
    collection = source.collect_details()
    return collection.report, Details(collection, source.rules)


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


def _totals_table(collection: Collection, rules: UsageRules) -> Table:
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
    return Table(
        f"Axcient usage ({rules.storage}, {rules.mb_per_gb} MB per GB)",
        [*columns, "status"],
        rows,
        numeric=columns[1:],
    )


def _detail_tables(collection: Collection, rules: UsageRules) -> list[Table]:
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
    return [
        Table("Per service plan", ["customer", "plan", *numbers], plan_rows, numeric=numbers),
        Table("Accounts not billed or over quota", columns, rows, numeric=("used MB", "quota MB")),
    ]


def usage(view: ViewInput) -> ViewResult:
    """`connector usage axcient`: storage and computers per customer; anything incomplete fails the command."""
    details: Details = view.fetched
    collection, rules = details.collection, details.rules
    tables = [_totals_table(collection, rules)]
    if view.args.get("details"):
        tables.extend(_detail_tables(collection, rules))
    report = collection.report
    incomplete = [r for r in collection.results if not r.usage.complete]
    problems = [f"problem: {problem}" for problem in report.problems] + [
        f"incomplete: {result.customer.name}: {problem}" for result in incomplete for problem in result.usage.problems
    ]
    error = None
    if report.problems or incomplete:
        error = DataError(
            f"axcient: {len(report.problems)} portal-wide problem(s), {len(incomplete)} customer(s) incomplete; "
            "their usage is recorded as incomplete and will not be billed"
        )
    return ViewResult(
        data=[customer_data(r, rules) for r in collection.results],
        tables=tables,
        problems=problems,
        error=error,
    )
