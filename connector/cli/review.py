"""`connector review`, `approve`, `discard`, `explain`: the lines that need a person, and why a number is what it is."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import plain_number, print_json, print_table, stdout
from connector.core.errors import Status


def review(ctx: typer.Context, config: ConfigOption = None, output: FormatOption = "table") -> Status:
    """List the lines that need a person: held for review (a big change, a drop to zero, …), failed pushes, and
    corrections (usage an invoice missed) to bill by hand."""
    from connector import operations

    rows = operations.waiting(state(ctx, config).settings())
    if output == "json":
        print_json(rows)
    elif not rows:
        stdout.print("Nothing is held for review, no push has failed and no correction is recorded.")
    else:
        print_table("Waiting for you", list(rows[0]), [list(r.values()) for r in rows], numeric=("quantity", "amount"))
        stdout.print(
            "Held: approve with `connector approve ID …` (or --all); the next sync pushes them. Failed: every sync "
            "retries them; fix what the reason says, or `connector discard ID --note WHY` a line that must not be "
            "pushed. Correction: its period is invoiced, so it is never pushed: bill the amount its reason gives by "
            "hand, then close it with `connector discard ID --note WHY` (`connector reconcile --period KEY` lists "
            "them per period).",
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
    from connector import operations

    approved = operations.approve_lines(
        state(ctx, config).settings(), "all" if all_held else list(line_ids or []), note
    )
    for line in approved:
        stdout.print(f"approved line {line.id}: {line.describe()}", markup=False)
    return Status.OK


def discard(
    ctx: typer.Context,
    line_ids: Annotated[list[int], typer.Argument(help="Ids shown by `connector review`.")],
    note: Annotated[str, typer.Option(help="Why this line is not billed (kept in its history and the audit).")],
    config: ConfigOption = None,
) -> Status:
    """Never push these held or failed lines (such as a past period billed by hand), or close corrections billed by
    hand; they are kept, with why."""
    from connector import operations

    discarded = operations.discard_lines(state(ctx, config).settings(), line_ids, note)
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
    from connector import operations

    explained = operations.explain_customer(state(ctx, config).settings(), customer, period)
    if output == "json":
        print_json(explained)
        return Status.OK
    for item in explained:
        # Each line: a header sentence, a table of what explains its number, and its history.
        stdout.print(
            f"\n[bold]{customer} / {item['contract']} / {item['period']}[/bold] (line {item['id']}): "
            f"{plain_number(item['quantity'])} {item['unit']} x {item['rate']} = {item['amount']} ({item['status']})",
            markup=True,
            highlight=False,
        )
        print_table("What explains it", ["input", "value"], _explanation_rows(item["inputs"]))
        history = [
            [e["at"], e["status"], plain_number(e["quantity"]), e.get("amount"), e["note"]] for e in item["history"]
        ]
        print_table("History", ["at", "status", "quantity", "amount", "note"], history, numeric=("quantity", "amount"))
    return Status.OK


SHOWN = 5  # names listed per row; the count is always exact and `--format json` lists them all


def _explanation_rows(inputs: dict[str, Any]) -> list[list[str]]:
    observed = inputs.get("observations") or {}
    detail = dict(observed.get("explanation") or {})
    rows = [
        [
            "vendor customer",
            f"{inputs.get('vendor_customer')} ({inputs.get('source')}, product {inputs.get('product')})",
        ],
        ["rule", str(inputs.get("rule", ""))],
        ["billed as", str(inputs.get("billed_as", ""))],
        ["counting rule", str(detail.pop("rule", ""))],
        [
            "peak observed at",
            f"{observed.get('peak_observed_at')} (vendor period {observed.get('peak_vendor_period')})",
        ],
        ["observations considered", str(observed.get("observations_considered", ""))],
        *_counted_rows(detail),
        *_excluded_rows(detail),
        ["duplicates ignored", _flat(detail.pop("duplicate_rows_ignored", None))],
    ]
    # Whatever else a vendor adds (storage, quotas, per-product counts) still shows, flattened to read.
    rows += [[key.replace("_", " "), _flat(value)] for key, value in sorted(detail.items()) if value not in ({}, [])]
    return [row for row in rows if row[1]]


def _counted_rows(detail: dict[str, Any]) -> list[list[str]]:
    """What was counted: Altaro lists object names, Axcient lists account rows (named by their computer)."""
    if "objects" in detail:
        names = detail.pop("objects")
        count = detail.pop("counted", len(names))
        for key in ("objects_not_listed", "objects_listed_at_most"):
            detail.pop(key, None)
        return [["objects counted", f"{count}: {_first(names, count)}"]]
    if "accounts" in detail:
        columns = detail.pop("columns", [])
        accounts = detail.pop("accounts")
        names = [_row_name(columns, row) for row in accounts]
        return [["accounts counted", f"{len(names)}: {_first(names, len(names))}"]]
    return []


def _excluded_rows(detail: dict[str, Any]) -> list[list[str]]:
    rows = []
    for excluded in detail.pop("excluded", []):
        sample = excluded.get("sample") or []
        names = f" ({_first(sample, excluded['objects'])})" if sample else ""
        rows.append(["excluded", f"{excluded['objects']}{names}: {excluded['reason']}"])
    columns = detail.pop("not_billed_columns", [])
    for row in detail.pop("not_billed", []):
        rows.append(["excluded", f"{_row_name(columns, row)}: {row[-1]}"])
    return rows


def _row_name(columns: list[str], row: list[Any]) -> str:
    return str(row[columns.index("computer")]) if "computer" in columns else str(row[0])


def _first(names: list[Any], count: int) -> str:
    listed = ", ".join(str(n) for n in names[:SHOWN])
    return listed + (f", … (+{count - SHOWN} more)" if count > SHOWN else "")


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_flat(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_flat(v) for v in value)
    return "" if value is None else str(value)
