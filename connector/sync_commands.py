"""CLI commands around the sync: sync, demo, daemon, review, approve, discard, explain."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.status import Status

from connector.config import Settings
from connector.context import ConfigOption, FormatOption, state
from connector.daemon import install_stop_signals, run_forever
from connector.errors import ConnectorError, StoreError
from connector.output import plain_number, print_json, print_table, stderr, stdout, to_json
from connector.report import RunReport
from connector.store import Store
from connector.sync import sync_once
from mappings.lines import LineStatus, Outcome

if TYPE_CHECKING:  # the demo (and the sandboxes it imports) loads only when `connector demo` runs
    from connector.demo import DemoResult

log = logging.getLogger(__name__)


def sync_with_status(settings: Settings, *, period: str | None, dry_run: bool, push: bool) -> RunReport:
    """One sync, its current stage shown beside a spinner on stderr."""
    with Status("Syncing…", console=stderr) as status:
        return sync_once(
            settings, period=period, dry_run=dry_run, push=push, progress=lambda s: status.update(f"Syncing: {s}…")
        )


def print_run_report(report: RunReport) -> None:
    print_table(
        "Sources",
        ["source", "status", "customers", "problems"],
        [(s.name, s.status, s.customers, "; ".join(s.problems)) for s in report.sources],
    )
    print_table(
        "Line items" + (" (dry run: nothing written)" if report.dry_run else ""),
        ["PSA customer", "contract", "period", "metric", "quantity", "rate", "amount", "outcome", "why"],
        [
            (
                o["psa_customer"],
                o["contract"],
                o["period_key"],
                o["metric"],
                "" if o["quantity"] is None else f"{o['quantity']} {o['unit']}",
                o["rate"],
                o["amount"],
                o["outcome"],
                o["reason"],
            )
            for o in (line.to_data() for line in report.lines)
        ],
        numeric=("quantity", "rate", "amount"),
    )
    for unmapped in report.unmapped:
        stderr.print(
            f"error: {unmapped['source']} customer {unmapped['vendor_customer']!r} is not mapped", markup=False
        )
    for problem in report.problems:
        stderr.print(f"error: {problem}", markup=False)
    shown = (Outcome.PUSHED, Outcome.UNCHANGED, Outcome.PLANNED, Outcome.HELD, Outcome.BLOCKED, Outcome.FAILED)
    totals = ", ".join(f"{report.count(k)} {k}" for k in shown)
    stdout.print(f"Run {report.run_id or '-'}: {report.status.upper()} — {totals}", markup=False)
    if report.count(Outcome.HELD):
        stdout.print("Held lines wait for you: `connector review`, then `connector approve`.", markup=False)


def print_demo(result: DemoResult) -> None:
    for step in result.steps:
        stdout.rule(step.title)
        print_run_report(step.report)
        if not step.report.dry_run:
            stdout.print(f"Writes to Atera in this step: {step.atera_writes}", markup=False)
    stdout.rule("What the sandbox Atera now holds")
    print_table(
        "Retainer contracts",
        ["customer", "contract", "quantity", "rate"],
        [(c["customer"], c["contract"], plain_number(c["quantity"]), c["rate"]) for c in result.contracts],
        numeric=("quantity", "rate"),
    )
    config = result.config_path
    stdout.print(
        f"Configuration: {config} (secrets in {config.parent / 'secrets'})\n"
        f"Run report (JSON): {result.report_path}\n"
        f'Why a customer was billed that: connector explain --config {config} "Contoso Ltd"',
        markup=False,
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def sync(
        ctx: typer.Context,
        config: ConfigOption = None,
        period: Annotated[
            str | None, typer.Option(help="Bill this period (2026-11, 2026-Q4, …); default the current one.")
        ] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Fetch and compute; write and push nothing.")] = False,
        no_push: Annotated[bool, typer.Option("--no-push", help="Stage lines in the outbox but do not push.")] = False,
        report_file: Annotated[
            Path | None, typer.Option("--report", help="Also write the run report as JSON to this file.")
        ] = None,
        output: FormatOption = "table",
    ) -> None:
        """Fetch usage, compute every mapped line, hold surprises for review, push the rest exactly once.

        Exit 0 when everything is billed, 5 when lines wait for review, 3 when anything was not billed.
        """
        state(ctx, config)
        report = sync_with_status(state(ctx).settings(), period=period, dry_run=dry_run, push=not no_push)
        if report_file is not None:
            report_file.write_text(to_json(report.to_data()) + "\n", encoding="utf-8")
        if output == "json":
            print_json(report.to_data())
        else:
            print_run_report(report)
        raise typer.Exit(report.exit_code)

    @app.command()
    def demo(
        ctx: typer.Context,
        directory: Annotated[
            Path, typer.Option("--dir", help="Where the demo writes its configuration, secrets, store and report.")
        ] = Path("demo-state"),
        keep_running: Annotated[
            bool, typer.Option("--keep-running", help="Keep the sandboxes up afterwards, until Ctrl-C.")
        ] = False,
        output: FormatOption = "table",
    ) -> None:
        """Run the whole job against bundled sandbox vendors: dry run, push into a sandbox Atera, push again.

        Needs no configuration and no network: Altaro, Axcient and Atera sandboxes start on 127.0.0.1.
        """
        from connector.demo import run_demo

        def show(result: DemoResult) -> None:
            result.report_path.write_text(to_json(result.steps[-1].report.to_data()) + "\n", encoding="utf-8")
            if output == "json":
                print_json(result.to_data())
            else:
                print_demo(result)

        result = run_demo(directory, show=show, keep_running=keep_running, verbose=state(ctx).verbose)
        raise typer.Exit(result.exit_code)

    @app.command()
    def daemon(
        ctx: typer.Context,
        config: ConfigOption = None,
        interval: Annotated[float, typer.Option(help="Seconds between syncs.", min=1)] = 3600,
        cycles: Annotated[
            int | None, typer.Option(help="Stop after this many cycles (default: run until stopped).")
        ] = None,
    ) -> None:
        """Run a sync every --interval seconds until SIGTERM/SIGINT; a failed cycle never stops the daemon."""
        settings = state(ctx, config).settings()
        stop = threading.Event()
        install_stop_signals(stop)
        log.info("daemon started: syncing every %.0fs with store %s", interval, settings.store.path)

        def cycle() -> RunReport:
            return sync_once(settings)

        failures = run_forever(cycle, interval, stop, max_cycles=cycles)
        log.info("daemon stopped")
        raise typer.Exit(1 if failures and cycles is not None else 0)

    @app.command()
    def review(ctx: typer.Context, config: ConfigOption = None, output: FormatOption = "table") -> None:
        """List the lines that need a person: held for review (a big change, a drop to zero, …) and failed pushes."""
        settings = state(ctx, config).settings()
        with Store.open(settings.store.path) as store:
            waiting = [line for line in store.outbox.lines() if line.status in (LineStatus.HELD, LineStatus.FAILED)]
        rows = [
            {
                "id": line.id,
                "status": line.status,
                "psa_customer": line.line.psa_customer,
                "contract": line.line.contract,
                "period": line.line.period_key,
                "metric": line.line.metric,
                "quantity": line.line.quantity,
                "pushed_before": line.pushed_quantity,
                "amount": line.line.amount,
                "reason": line.hold_reason if line.status is LineStatus.HELD else line.last_error,
            }
            for line in waiting
        ]
        if output == "json":
            print_json(rows)
            return
        if not rows:
            stdout.print("Nothing is held for review and no push has failed.")
            return
        print_table("Waiting for you", list(rows[0]), [list(r.values()) for r in rows], numeric=("quantity", "amount"))
        stdout.print(
            "Held: approve with `connector approve ID …` (or --all); the next sync pushes them. Failed: every sync "
            "retries them; fix what the reason says, or `connector discard ID --note WHY` a line that must not be "
            "pushed.",
            markup=False,
        )

    @app.command()
    def approve(
        ctx: typer.Context,
        line_ids: Annotated[list[int] | None, typer.Argument(help="Ids shown by `connector review`.")] = None,
        config: ConfigOption = None,
        all_held: Annotated[bool, typer.Option("--all", help="Approve every held line.")] = False,
        note: Annotated[str, typer.Option(help="Why (kept in the line's history).")] = "approved by operator",
    ) -> None:
        """Approve held lines: their quantity is accepted and pushed by the next sync."""
        settings = state(ctx, config).settings()
        # Under the sync lock: a sync running now could re-stage the line with a quantity the operator never saw.
        with Store.open(settings.store.path) as store, store.sync_lock():
            held = {line.id: line for line in store.outbox.lines(LineStatus.HELD)}
            chosen = list(held) if all_held else list(line_ids or [])
            if not chosen:
                raise ConnectorError("name the line ids to approve (see `connector review`) or pass --all")
            unknown = [i for i in chosen if i not in held]
            if unknown:
                raise StoreError(f"not held, or no such line: {', '.join(map(str, unknown))} (see `connector review`)")
            for line_id in chosen:
                line = store.outbox.approve(held[line_id].identity, note)
                store.runs.audit("approved", line.line.psa_customer, {"identity": list(line.identity), "note": note})
                stdout.print(f"approved line {line_id}: {line.describe()}", markup=False)

    @app.command()
    def discard(
        ctx: typer.Context,
        line_ids: Annotated[list[int], typer.Argument(help="Ids shown by `connector review`.")],
        note: Annotated[str, typer.Option(help="Why this line is not billed (kept in its history and the audit).")],
        config: ConfigOption = None,
    ) -> None:
        """Never push these held or failed lines (such as a past period billed by hand); they are kept, with why."""
        settings = state(ctx, config).settings()
        with Store.open(settings.store.path) as store, store.sync_lock():
            open_statuses = (LineStatus.PENDING, LineStatus.HELD, LineStatus.FAILED)
            waiting = {line.id: line for line in store.outbox.lines() if line.status in open_statuses}
            unknown = [i for i in line_ids if i not in waiting]
            if unknown:
                raise StoreError(
                    f"not pending, held or failed, or no such line: {', '.join(map(str, unknown))} "
                    "(see `connector review`)"
                )
            for line_id in line_ids:
                line = store.outbox.discard(waiting[line_id].identity, note)
                store.runs.audit("discarded", line.line.psa_customer, {"identity": list(line.identity), "note": note})
                stdout.print(f"discarded line {line_id}: {line.describe()} (not billed: {note})", markup=False)

    @app.command()
    def explain(
        ctx: typer.Context,
        customer: Annotated[str, typer.Argument(help="PSA customer name (as in the mapping).")],
        config: ConfigOption = None,
        period: Annotated[str | None, typer.Option(help="Only this period key.")] = None,
        output: FormatOption = "table",
    ) -> None:
        """Show why a customer was billed what they were: every line, its inputs, and its history."""
        settings = state(ctx, config).settings()
        with Store.open(settings.store.path) as store:
            lines = [
                stored
                for stored in store.outbox.lines()
                if stored.line.psa_customer.casefold() == customer.casefold()
                and (period is None or stored.line.period_key == period)
            ]
            explained: list[dict[str, Any]] = [
                {
                    "id": stored.id,
                    "contract": stored.line.contract,
                    "period": stored.line.period_key,
                    "metric": stored.line.metric,
                    "quantity": stored.line.quantity,
                    "unit": stored.line.unit,
                    "rate": stored.line.rate,
                    "amount": stored.line.amount,
                    "status": stored.status,
                    "psa_ref": stored.psa_ref,
                    "inputs": stored.line.inputs,
                    "history": store.outbox.history(stored.identity),
                }
                for stored in lines
            ]
        if not explained:
            known = sorted({c.psa_customer for c in settings.customers})
            raise ConnectorError(
                f"no line items for {customer!r}"
                + (f" in {period}" if period else "")
                + f"; mapped customers: {', '.join(known) or 'none'}"
            )
        if output == "json":
            print_json(explained)
            return
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
