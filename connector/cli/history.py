"""`connector history`: what was pushed when, the old and new quantity, and who approved or discarded what."""

from __future__ import annotations

from typing import Annotated

import typer

from connector import operations
from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import plain_number, print_json, print_table, stdout
from connector.core.errors import Status


def history(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Argument(help="Only this PSA customer (any case).")] = None,
    config: ConfigOption = None,
    period: Annotated[str | None, typer.Option(help="Only this period key (2026-11, …).")] = None,
    output: FormatOption = "table",
) -> Status:
    """Every change of every line: computed, held, approved or discarded (with the note), pushed, failed."""
    rows = operations.history(state(ctx, config).settings(), customer, period)
    if output == "json":
        print_json(rows)
    elif not rows:
        stdout.print("No line has been staged yet" + (f" for {customer!r}" if customer else "") + ".", markup=False)
    else:
        print_table(
            "History",
            ["when", "PSA customer", "contract", "period", "metric", "status", "old", "new", "amount", "note"],
            [
                (
                    *(r["at"], r["psa_customer"], r["contract"], r["period"], r["metric"], r["status"]),
                    *(plain_number(r["previous_quantity"]), plain_number(r["quantity"]), r["amount"], r["note"]),
                )
                for r in rows
            ],
            numeric=("old", "new", "amount"),
        )
    return Status.OK
