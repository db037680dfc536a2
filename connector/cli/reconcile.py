"""A period for finance. `connector reconcile`: the lines pushed for a period against the invoices the PSA generated
from them, and the corrections recorded for it (what the invoices missed, to bill by hand); `connector export`: every
line of a period per customer, as CSV or one self-contained HTML page."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import print_json, print_table, stderr, write_file
from connector.core.errors import Status

if TYPE_CHECKING:
    from connector import operations

log = logging.getLogger(__name__)


def reconcile(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="Period key of the pushed lines to check (2026-11, 2026-Q4, …).")],
    config: ConfigOption = None,
    grace_days: Annotated[
        int, typer.Option(help="Invoices dated up to this many days after the period end count.", min=0)
    ] = 45,
    output: FormatOption = "table",
) -> Status:
    """Check every line pushed for a period against the PSA's invoices: invoiced as pushed, differently, or not yet;
    then list the period's corrections (usage the invoices missed, recorded by the syncs), with the amount to bill.

    Exit 3 when any invoice carries another quantity than the one pushed; else 5 when corrections wait to be billed.
    """
    from connector import operations

    checked = operations.reconcile_period(state(ctx, config).settings(), period, grace_days)
    result, owed = checked.reconciliation, checked.owed
    rows = [{**row, "correction_quantity": None, "bill_by_hand": None} for row in result.rows()]
    if output == "json":
        print_json(rows + [_as_row(correction) for correction in owed])
    else:
        _print_tables(result, rows, owed, period)
    # Loud after the table, at error level: a difference is money billed other than computed.
    for difference in result.differences():
        log.error("%s", difference)
    for correction in owed:
        log.warning("%s / %s: correction: %s", correction["psa_customer"], correction["contract"], correction["reason"])
    return Status.HELD if owed and result.status is Status.OK else result.status


def _as_row(correction: dict[str, Any]) -> dict[str, Any]:
    """A correction in the shape of the invoice rows (one list in JSON): what was invoiced, and what is owed."""
    return {
        "id": correction["id"],
        "psa_customer": correction["psa_customer"],
        "contract": correction["contract"],
        "period": correction["period"],
        "pushed_quantity": correction["invoiced_quantity"],
        "pushed_amount": None,
        "invoiced_quantity": None,
        "invoiced_amount": None,
        "invoices": [],
        "status": "correction",
        "why": correction["reason"],
        "correction_quantity": correction["quantity"],
        "bill_by_hand": correction["bill_by_hand"],
    }


def _print_tables(
    result: operations.Reconciliation, rows: list[dict[str, Any]], owed: list[dict[str, Any]], period: str
) -> None:
    print_table(
        f"Pushed lines of {period} against {result.psa} invoices dated {result.start} to {result.end}",
        ["PSA customer", "contract", "pushed", "invoiced", "invoices", "status", "why"],
        [
            (
                r["psa_customer"],
                r["contract"],
                f"{r['pushed_quantity']} = {r['pushed_amount']}",
                "" if r["invoiced_quantity"] is None else f"{r['invoiced_quantity']} = {r['invoiced_amount']}",
                ", ".join(map(str, r["invoices"])),
                r["status"],
                r["why"],
            )
            for r in rows
        ],
    )
    if owed:
        print_table(
            f"Corrections of {period}: usage the invoices missed, to bill by hand (never pushed)",
            ["PSA customer", "contract", "metric", "invoiced", "now", "bill by hand", "recorded"],
            [
                (
                    c["psa_customer"],
                    c["contract"],
                    c["metric"],
                    f"{c['invoiced_quantity']} {c['unit']}",
                    f"{c['quantity']} {c['unit']}",
                    f"{c['bill_by_hand']:+}",
                    c["recorded_at"].isoformat(timespec="minutes") if c["recorded_at"] else "",
                )
                for c in owed
            ],
            numeric=("bill by hand",),
        )


def export(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="The period to export (2026-11, 2026-Q4, …).")],
    config: ConfigOption = None,
    output_format: Annotated[
        Literal["csv", "html"],
        typer.Option("--format", "-f", help="csv for a spreadsheet, html for a page with a usage chart per customer."),
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.")
    ] = None,
) -> Status:
    """Export what was billed for a period: per customer each line's quantity, rate, amount, outcome and why.

    Read from the state store only (no vendor is called): run it after a sync. Money and quantities are exact decimals.
    """
    from connector import operations

    data, text = operations.export_period(state(ctx, config).settings(), period, output_format)
    if output is None:
        sys.stdout.write(text)
    else:
        write_file(output, text, "--output")
        where = output.resolve()
        stderr.print(f"{len(data.lines)} line(s) of {len(data.customers)} customer(s) written to {where}", markup=False)
    return Status.OK
