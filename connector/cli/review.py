"""`connector review`, `approve`, `discard`, `explain`: the lines that need a person, and why a number is what it is."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from connector import operations
from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import print_json, print_table, stdout
from connector.errors import Status
from connector.store import Store


def review(ctx: typer.Context, config: ConfigOption = None, output: FormatOption = "table") -> Status:
    """List the lines that need a person: held for review (a big change, a drop to zero, …) and failed pushes."""
    settings = state(ctx, config).settings()
    with Store.open(settings.store.path) as store:
        rows = operations.review(store)
    if output == "json":
        print_json(rows)
    elif not rows:
        stdout.print("Nothing is held for review and no push has failed.")
    else:
        print_table("Waiting for you", list(rows[0]), [list(r.values()) for r in rows], numeric=("quantity", "amount"))
        stdout.print(
            "Held: approve with `connector approve ID …` (or --all); the next sync pushes them. Failed: every sync "
            "retries them; fix what the reason says, or `connector discard ID --note WHY` a line that must not be "
            "pushed.",
            markup=False,
        )
    return Status.OK


def approve(
    ctx: typer.Context,
    line_ids: Annotated[list[int] | None, typer.Argument(help="Ids shown by `connector review`.")] = None,
    config: ConfigOption = None,
    all_held: Annotated[bool, typer.Option("--all", help="Approve every held line.")] = False,
    note: Annotated[str, typer.Option(help="Why (kept in the line's history).")] = "approved by operator",
) -> Status:
    """Approve held lines: their quantity is accepted and pushed by the next sync."""
    settings = state(ctx, config).settings()
    with Store.open(settings.store.path) as store:
        approved = operations.approve(store, "all" if all_held else list(line_ids or []), note)
    for line in approved:
        stdout.print(f"approved line {line.id}: {line.describe()}", markup=False)
    return Status.OK


def discard(
    ctx: typer.Context,
    line_ids: Annotated[list[int], typer.Argument(help="Ids shown by `connector review`.")],
    note: Annotated[str, typer.Option(help="Why this line is not billed (kept in its history and the audit).")],
    config: ConfigOption = None,
) -> Status:
    """Never push these held or failed lines (such as a past period billed by hand); they are kept, with why."""
    settings = state(ctx, config).settings()
    with Store.open(settings.store.path) as store:
        discarded = operations.discard(store, line_ids, note)
    for line in discarded:
        stdout.print(f"discarded line {line.id}: {line.describe()} (not billed: {note})", markup=False)
    return Status.OK


def explain(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="PSA customer name (as in the mapping).")],
    config: ConfigOption = None,
    period: Annotated[str | None, typer.Option(help="Only this period key.")] = None,
    output: FormatOption = "table",
) -> Status:
    """Show why a customer was billed what they were: every line, its inputs, and its history."""
    settings = state(ctx, config).settings()
    with Store.open(settings.store.path) as store:
        explained = operations.explain(store, customer, period, mapped=(c.psa_customer for c in settings.customers))
    if output == "json":
        print_json(explained)
        return Status.OK
    for item in explained:
        stdout.print(
            f"[bold]{customer} / {item['contract']} / {item['period']}[/bold]: {item['quantity']} {item['unit']} "
            f"x {item['rate']} = {item['amount']} ({item['status']})"
        )
        stdout.print(json.dumps(item["inputs"], indent=2, default=str), markup=False, highlight=False)
        for event in item["history"]:
            stdout.print(
                f"  {event['at']}  {event['status']:<8} {event['quantity']}  {event['note'] or ''}", markup=False
            )
    return Status.OK
