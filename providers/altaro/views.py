"""What the altaro provider shows (typer-free): billed users counted in a report file, fetched usage per customer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.core.errors import ConnectorError, DataError, Status
from connector.interfaces.usage import UsageReport
from providers.altaro.parser import read_csv, read_json, report_format
from providers.altaro.provider import BACKUP_GB, BILLED_USERS, PROVIDER
from providers.altaro.rules import BillingRules, CustomerCount, ReportTally
from providers.altaro.settings import AltaroSettings
from providers.spec import Table, ViewInput, ViewResult


def count_file(path: Path, settings: AltaroSettings) -> list[CustomerCount]:
    """Counts per customer and month of a report file (JSON, or CSV streamed row by row), without the names of
    billed objects that explain a synced line: nothing shows them here."""
    tally: ReportTally | None
    try:
        tally = _tally(path, settings)
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason})") from error
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error
    except MemoryError:
        tally = None
    if tally is None:
        # Raised here, past the handler: chained to the MemoryError, the new error would keep its traceback, and with
        # it every frame and the partial count, alive while the message is printed with what memory is left. Exit 1,
        # not a bug's 70.
        raise ConnectorError(
            f"{path}: memory ran out while counting this report file: free memory or raise the memory limit "
            "(ulimit -v, the container's memory limit)"
        )
    return tally.customers(datetime.now(UTC).strftime("%Y-%m"))


def _tally(path: Path, settings: AltaroSettings) -> ReportTally:
    tally = ReportTally(BillingRules.from_settings(settings), sample_size=0)
    if report_format(path) == "json":
        rows = read_json(path.read_bytes(), settings.columns, settings.distinct_key_column, where=str(path))
        return tally.add(rows)
    # "utf-8-sig": a byte-order mark before the header is not part of its first column's name.
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return tally.add(read_csv(stream, settings.columns, settings.distinct_key_column, where=str(path)))


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
                "duplicate_rows_ignored": sum(c.duplicates for c in months),
                "excluded_objects": sum(item["objects"] for item in excluded),
                "excluded": [
                    {"reason": item["reason"], "label": item["label"], "objects": item["objects"]} for item in excluded
                ],
                "problems": [p for c in months for p in c.problems],
            }
        )
    return summary


def users(view: ViewInput) -> ViewResult:
    """`connector users FILE`: billed users per customer of a report file, its problems failing the count."""
    report_file: Path = view.args["report_file"]
    summary = summarise(count_file(report_file, PROVIDER.view_section(view)))
    table = Table(
        f"Billed users in {report_file.name}",
        ["customer", "month", "billed users", "GB", "excluded", "why (objects)"],
        [
            (
                s["customer"],
                s["month"],
                s["billed_users"],
                "" if s["backup_gb"] is None else s["backup_gb"],
                s["excluded_objects"],
                ", ".join(f"{item['label']}: {item['objects']}" for item in s["excluded"]),
            )
            for s in summary
        ],
        numeric=("billed users", "GB", "excluded"),
    )
    total = sum(s["billed_users"] for s in summary)
    problems = [f"error: {s['customer']}: {p}" for s in summary for p in s["problems"]]
    return ViewResult(
        data=summary,
        tables=[table],
        notes=[f"{len(summary)} customer(s), {total} billed user(s)"],
        problems=problems,
        status=Status.INCOMPLETE if problems else Status.OK,
    )


def usage_data(report: UsageReport) -> dict[str, Any]:
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


def usage(view: ViewInput) -> ViewResult:
    """`connector usage altaro`: the fetched (or stored) report's usage per customer."""
    report: UsageReport = view.fetched
    data = usage_data(report)
    table = Table(
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
    return ViewResult(
        data=data,
        tables=[table],
        problems=[f"error: {problem}" for problem in report.problems],
        status=Status.OK if report.complete else Status.INCOMPLETE,
    )
