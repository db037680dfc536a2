"""`connector reconcile`: the lines pushed for a period against the invoices the PSA generated from them."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from connector import operations
from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import print_json, print_table
from connector.errors import Status
from connector.store import Store

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
    """Check every line pushed for a period against Atera's invoices: invoiced as pushed, differently, or not yet.

    Exit 3 when any invoice carries another quantity than the one pushed.
    """
    settings = state(ctx, config).settings()
    with Store.open(settings.store.path) as store:
        result = operations.reconcile(settings, store, period, grace_days)
    rows = result.rows()
    if output == "json":
        print_json(rows)
    else:
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
    # Loud after the table, at error level: a difference is money billed other than computed.
    for difference in result.differences():
        log.error("%s", difference)
    return result.status
