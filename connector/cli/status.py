"""`connector status`: the last runs, what waits for a person, when each report link may next be called, the store;
`connector history`: what was pushed when, the old and new quantity, and who approved or discarded what."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import plain_number, print_json, print_table, stdout
from connector.core.errors import Status

if TYPE_CHECKING:
    from connector.operations.status import StatusSummary


def _print(summary: StatusSummary) -> None:
    print_table(
        "Last runs",
        ["run", "command", "started", "finished", "status", "pushed", "unchanged", "held", "blocked", "failed"],
        [
            (
                *(r["run_id"], r["command"], r["started_at"], r["finished_at"], r["status"]),
                *(r["totals"].get(k, "") for k in ("pushed", "unchanged", "held", "blocked", "failed")),
            )
            for r in summary.runs
        ],
        numeric=("pushed", "unchanged", "held", "blocked", "failed"),
    )
    if summary.links:
        print_table(
            "Vendor calls",
            ["source", "target", "last call", "next call allowed"],
            [(k["source"], k["target"], k["last_call_at"], k["next_call_at"] or "any time") for k in summary.links],
        )
    for note in summary.progress_notes():
        stdout.print(f"push in progress: {note}", markup=False)
    size = f"{summary.store_bytes / 1024:.0f} KiB"
    stdout.print(f"Store: {summary.store_path} (schema v{summary.schema_version}, {size})", markup=False)
    notes = summary.attention()
    if not notes:
        stdout.print("Nothing waits for you.", markup=False)
    for note in notes:
        stdout.print(f"needs attention: {note}", markup=False)


def status(
    ctx: typer.Context,
    config: ConfigOption = None,
    runs: Annotated[int, typer.Option(help="How many recent runs to show.", min=1)] = 5,
    output: FormatOption = "table",
) -> Status:
    """Show the last runs and what waits for a person.

    Exit 0 when nothing does, 5 when lines are held for review or corrections wait to be billed by hand, 3 when
    something was not billed (a failed push, an unmapped customer, a last run that failed or was incomplete).
    """
    from connector import operations

    summary = operations.status(state(ctx, config).settings(), runs=runs)
    if output == "json":
        print_json(summary.to_data())
    else:
        _print(summary)
    return summary.status


def history(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Argument(help="Only this PSA customer (any case).")] = None,
    config: ConfigOption = None,
    period: Annotated[str | None, typer.Option(help="Only this period key (2026-11, …).")] = None,
    output: FormatOption = "table",
) -> Status:
    """Every change of every line: computed, held, approved or discarded (with the note), pushed, failed."""
    from connector import operations

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
