"""`connector export`: every line of a period per customer, as CSV or one self-contained HTML page for finance."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from connector.cli.options import ConfigOption, state
from connector.cli.output import stderr, write_file
from connector.core.errors import Status


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
