"""`connector export`: every line of a period per customer, as CSV or one self-contained HTML page for finance."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from connector.cli.options import ConfigOption, state
from connector.cli.output import stderr, write_file
from connector.core.errors import ConfigError, Status
from connector.store import Store, utcnow


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
    from connector.operations.export import build_export, to_csv
    from connector.operations.export_html import to_html

    path = state(ctx, config).settings().store.path
    if not Path(path).exists():
        raise ConfigError(f"no state store at {path}: run `connector sync` first, or check [store] path")
    with Store.open(path) as store:
        data = build_export(store, period, utcnow())
    text = to_csv(data) if output_format == "csv" else to_html(data)
    if output is None:
        sys.stdout.write(text)
    else:
        write_file(output, text, "--output")
        where = output.resolve()
        stderr.print(f"{len(data.lines)} line(s) of {len(data.customers)} customer(s) written to {where}", markup=False)
    return Status.OK
