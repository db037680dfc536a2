"""CLI commands of the altaro provider, registered on the main app by connector.cli."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.status import Status

from connector.config import DEFAULT_CONFIG_PATH
from connector.context import ConfigOption, FormatOption, state
from connector.errors import ConfigError, DataError
from connector.observe import observe
from connector.output import print_json, print_table, stderr, stdout
from connector.store import Store
from connector.usage import UsageReport
from providers.altaro.parser import open_report, read_csv, read_json
from providers.altaro.provider import BACKUP_GB, BILLED_USERS
from providers.altaro.provider import PROVIDER as ALTARO
from providers.altaro.rules import BillingRules, CustomerCount, ReportTally
from providers.altaro.settings import AltaroSettings


def count_file(path: Path, settings: AltaroSettings) -> list[CustomerCount]:
    """Counts per customer and month of a report file (CSV streamed, or JSON)."""
    kind, stream = open_report(path)
    with stream:
        try:
            if kind == "json":
                rows = read_json(stream.read(), settings.columns, settings.distinct_key_column, where=str(path))
            else:
                rows = read_csv(stream, settings.columns, settings.distinct_key_column, where=str(path))
            tally = ReportTally(BillingRules.from_settings(settings)).add(rows)
        except UnicodeDecodeError as error:
            raise DataError(f"{path}: not UTF-8 text ({error.reason})") from error
    return tally.customers(datetime.now(UTC).strftime("%Y-%m"))


def summarise(counts: list[CustomerCount]) -> list[dict[str, Any]]:
    """One entry per customer, sorted by name: the billed users of its peak month (the vendor bills the peak)."""
    by_customer: dict[str, list[CustomerCount]] = {}
    for count in counts:
        by_customer.setdefault(count.customer, []).append(count)
    summary = []
    for name in sorted(by_customer, key=lambda n: (n.casefold(), n)):
        months = by_customer[name]
        peak = max(months, key=lambda c: (c.billed_users, c.period_key))
        excluded = peak.exclusion_summary()
        summary.append(
            {
                "customer": name,
                "customer_id": peak.customer_id or None,
                "month": peak.period_key,
                "billed_users": peak.billed_users,
                "billed_users_by_product": peak.users_by_product,
                "backup_gb": peak.backup_gb,
                "months": {c.period_key: c.billed_users for c in months},
                "rows": sum(c.rows for c in months),
                "excluded_objects": sum(item["objects"] for item in excluded),
                "excluded": [
                    {"reason": item["reason"], "label": item["label"], "objects": item["objects"]} for item in excluded
                ],
                "problems": [p for c in months for p in c.problems],
            }
        )
    return summary


def _why(excluded: list[dict[str, Any]]) -> str:
    return ", ".join(f"{item['label']}: {item['objects']}" for item in excluded)


def _altaro_settings(ctx: typer.Context, config: Path | None) -> AltaroSettings:
    """The [altaro] section when a configuration file is given or present, else the defaults (offline use)."""
    found = state(ctx, config)
    explicit = config is not None or found.config_path != DEFAULT_CONFIG_PATH
    return ALTARO.section(found.settings(required=explicit))


def usage_data(report: UsageReport) -> dict[str, Any]:
    """A usage report as JSON-ready data."""
    customers = []
    for usage in report.customers:
        users = usage.inputs.get(BILLED_USERS, {})
        customers.append(
            {
                "customer": usage.vendor_customer,
                "period": usage.period_key,
                "billed_users": usage.quantities.get((BILLED_USERS, "")),
                "billed_users_by_product": {
                    product: q
                    for (metric, product), q in usage.quantities.items()
                    if metric == BILLED_USERS and product
                },
                "backup_gb": usage.quantities.get((BACKUP_GB, "")),
                "excluded": users.get("excluded", []),
                "complete": usage.complete,
                "problems": usage.problems,
            }
        )
    return {
        "source": report.source,
        "observed_at": report.observed_at.isoformat(),
        "from_cache": report.from_cache,
        "fetch_ids": report.fetch_ids,
        "complete": report.complete,
        "problems": report.problems,
        "customers": customers,
    }


def register(app: typer.Typer, usage: typer.Typer) -> None:
    """Add this provider's commands to the main app and to the `usage` group."""

    @app.command()
    def users(
        ctx: typer.Context,
        report_file: Annotated[Path, typer.Argument(help="Itemised billing report (CSV or JSON) as downloaded.")],
        config: ConfigOption = None,
        output: FormatOption = "table",
    ) -> None:
        """Count Total Backup 365 billed users per customer in a report file (offline; nothing is stored).

        Billed users = distinct Object Name among rows of type Mailbox, N/A, OneDrive or User Teams Chats, per
        customer. Column names, billed types and exclusions come from [altaro] when a configuration file is found.
        Exit 3 when the file is unusable (missing columns, truncated, empty).
        """
        counts = count_file(report_file, _altaro_settings(ctx, config))
        summary = summarise(counts)
        if output == "json":
            print_json(summary)
        else:
            print_table(
                f"Billed users in {report_file.name}",
                ["customer", "month", "billed users", "GB", "excluded", "why (objects)"],
                [
                    (
                        s["customer"],
                        s["month"],
                        s["billed_users"],
                        "" if s["backup_gb"] is None else s["backup_gb"],
                        s["excluded_objects"],
                        _why(s["excluded"]),
                    )
                    for s in summary
                ],
                numeric=("billed users", "GB", "excluded"),
            )
            total = sum(s["billed_users"] for s in summary)
            stdout.print(f"{len(summary)} customer(s), {total} billed user(s)", markup=False)
        problems = [f"{s['customer']}: {p}" for s in summary for p in s["problems"]]
        for problem in problems:
            stderr.print(f"error: {problem}", markup=False)
        if problems:
            raise typer.Exit(DataError.exit_code)

    @usage.command("altaro")
    def usage_altaro(ctx: typer.Context, config: ConfigOption = None, output: FormatOption = "table") -> None:
        """Fetch every report link (at most once per link per 5 minutes), record and print usage per customer.

        Inside the 5-minute window the last stored report answers (or the command waits, with when_too_soon =
        "wait"). Exit 3 when a link failed or its report was unusable.
        """
        from providers.altaro.client import build_altaro_client
        from providers.altaro.source import AltaroSource

        settings = state(ctx, config).settings()
        if not settings.section("altaro").enabled:
            raise ConfigError("[altaro] enabled = false: enable it and add [[altaro.links]] to fetch usage")
        with Store.open(settings.store.path) as store, Status("Fetching the report link(s)…", console=stderr):
            section = settings.section("altaro")
            report = AltaroSource(section, store.ledger, lambda: build_altaro_client(settings.http)).collect()
            observe(store, report)
        data = usage_data(report)
        if output == "json":
            print_json(data)
        else:
            print_table(
                "Altaro usage"
                + (" (from the stored report: the link was called under 5 minutes ago)" if report.from_cache else ""),
                ["customer", "period", "billed users", "GB", "excluded", "complete"],
                [
                    (
                        c["customer"],
                        c["period"],
                        c["billed_users"],
                        "" if c["backup_gb"] is None else c["backup_gb"],
                        sum(item["objects"] for item in c["excluded"]),
                        "yes" if c["complete"] else "NO",
                    )
                    for c in data["customers"]
                ],
                numeric=("billed users", "GB", "excluded"),
            )
        for problem in report.problems:
            stderr.print(f"error: {problem}", markup=False)
        if not report.complete:
            raise typer.Exit(DataError.exit_code)
