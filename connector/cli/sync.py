"""`connector sync`, `demo` and `daemon`: one sync, the sandbox walk-through, and a sync every interval."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.status import Status as Spinner

from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import plain_number, print_json, print_table, stderr, stdout, to_json, write_file
from connector.core.errors import Status

if TYPE_CHECKING:  # the sync stack loads only when a command runs; the demo's sandboxes only for `connector demo`
    from collections.abc import Callable

    from connector.core.config import Settings
    from connector.operations.demo import DemoResult
    from connector.sync.report import RunReport
    from connector.unattended.daemon import CycleObserver
    from mappings.lines import LineResult

log = logging.getLogger(__name__)


def _quantity(line: dict[str, Any]) -> str:
    """`16 user`, or `10 -> 16 user` when the PSA holds another figure now (what a push would change)."""
    if line["quantity"] is None:
        return ""
    held = line["psa_quantity"]
    before = f"{held} -> " if held is not None and held != line["quantity"] else ""
    return f"{before}{line['quantity']} {line['unit']}"


def _rounded(result: LineResult) -> str:
    """How a line's quantity became whole units, when rounding changed it (a PSA that bills whole units)."""
    inputs = result.line.inputs if result.line is not None else {}
    return str(inputs.get("billed_as", "")) if "measured_quantity" in inputs else ""


def print_run_report(report: RunReport) -> None:
    from mappings.lines import Outcome
    from mappings.truth import DIFFERENCES

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
                _quantity(o),
                o["rate"],
                o["amount"],
                o["outcome"],
                o["reason"] or _rounded(result),
            )
            for result, o in ((line, line.to_data()) for line in report.lines)
        ],
        numeric=("quantity", "rate", "amount"),
    )
    for unmapped in report.unmapped:
        stderr.print(
            f"error: {unmapped['source']} customer {unmapped['vendor_customer']!r} is not mapped", markup=False
        )
    for problem in report.problems:
        stderr.print(f"error: {problem}", markup=False)
    always = (Outcome.PUSHED, Outcome.UNCHANGED, Outcome.PLANNED, Outcome.HELD, Outcome.BLOCKED, Outcome.FAILED)
    # Each difference with the PSA, and each correction, is named when present: the line's "why" says what to do.
    shown = always + tuple(k for k in (*DIFFERENCES, Outcome.CORRECTION) if report.count(k))
    totals = ", ".join(f"{report.count(k)} {k}" for k in shown)
    stdout.print(f"Run {report.run_id or '-'}: {report.status.upper()} — {totals}", markup=False)
    if report.count(Outcome.HELD) or report.count(Outcome.EDITED):
        stdout.print("Held lines wait for you: `connector review`, then `connector approve`.", markup=False)
    # Each correction with the amount to bill by hand (in a dry run: those a sync would record).
    if found := [line for line in report.lines if line.outcome is Outcome.CORRECTION]:
        told = "a sync would record" if report.dry_run else "recorded"
        stdout.print(f"{len(found)} correction(s) to bill by hand ({told}; never pushed):", markup=False)
    for line in found:
        stdout.print(f"  {' / '.join(line.identity)}: {line.reason}", markup=False)


def print_demo(result: DemoResult) -> None:
    for step in result.steps:
        stdout.rule(step.title)
        print_run_report(step.report)
        if not step.report.dry_run:
            stdout.print(f"Writes to {result.psa_title} in this step: {step.psa_writes}", markup=False)
    stdout.rule(f"What the sandbox {result.psa_title} now holds")
    print_table(
        result.contracts_title,
        ["customer", "contract", "quantity", "rate"],
        [(c["customer"], c["contract"], plain_number(c["quantity"]), c["rate"]) for c in result.contracts],
        numeric=("quantity", "rate"),
    )
    config = result.config_path
    stdout.print(
        f"Configuration: {config} (secrets in {config.parent / 'secrets'})\n"
        f"Run report (JSON): {result.report_path}\n"
        f'Why a customer was billed that: connector explain --config {config} "Contoso Ltd"\n'
        f"The billing console: connector console --config {config}, then sign in at http://127.0.0.1:8765/ as "
        f"{result.console_person} with the password in {result.console_secret}",
        markup=False,
    )


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
) -> Status:
    """Fetch usage, compute every mapped line, hold surprises for review, push the rest exactly once.

    Exit 0 when everything is billed, 5 when lines wait for review, 3 when anything was not billed, 2 when what was not
    billed needs the configuration fixed (a missing key, a customer or contract the PSA does not have).
    """
    from connector import operations

    settings = state(ctx, config).settings()
    with Spinner("Syncing…", console=stderr) as spin:  # the current stage beside a spinner on stderr
        report = operations.sync(
            settings, period=period, dry_run=dry_run, push=not no_push, progress=lambda s: spin.update(f"Syncing: {s}…")
        )
    if report_file is not None:
        write_file(report_file, to_json(report.to_data()) + "\n", "--report")
    if output == "json":
        print_json(report.to_data())
    else:
        print_run_report(report)
    return report.status


def demo(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its configuration, secrets, store and report.")
    ] = Path("demo-state"),
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Keep the sandboxes up afterwards, until Ctrl-C.")
    ] = False,
    output: FormatOption = "table",
    psa: Annotated[
        str | None,
        typer.Option("--psa", help="The PSA to push into, by its section name; default: the first registered."),
    ] = None,
) -> Status:
    """Run the whole job against bundled sandbox vendors: dry run, push into a sandbox PSA, push again.

    Needs no configuration and no network: the backup vendors' and the PSA's sandboxes start on 127.0.0.1.
    """
    from connector.operations.demo import run_demo

    def show(result: DemoResult) -> None:
        result.report_path.write_text(to_json(result.steps[-1].report.to_data()) + "\n", encoding="utf-8")
        if output == "json":
            print_json(result.to_data())
        else:
            print_demo(result)

    return run_demo(directory, show=show, keep_running=keep_running, verbose=state(ctx).verbose, psa=psa).status


def _endpoints(settings: Settings, interval: float) -> tuple[CycleObserver | None, Callable[[], None]]:
    """/healthz and /metrics when `[daemon] listen` is set (the prometheus client loads only then), and their close."""
    listen = settings.daemon.listen
    if listen is None:
        return None, lambda: None
    from connector.unattended.health import Health, address, serve
    from connector.unattended.metrics import Metrics

    health, metrics = Health(settings.store.path, interval), Metrics()

    def observe(report: RunReport | None, seconds: float, error: BaseException | None) -> None:
        health.record(report, error)
        metrics.record(report, seconds)

    server = serve(listen, health, metrics)
    log.info("serving /healthz and /metrics on http://%s", address(server))

    def close() -> None:
        server.shutdown()
        # The metrics hear every vendor request in the process; a daemon run inside another (a test) stops that.
        metrics.close()

    return observe, close


def daemon(
    ctx: typer.Context,
    config: ConfigOption = None,
    interval: Annotated[float, typer.Option(help="Seconds between syncs.", min=1)] = 3600,
    cycles: Annotated[
        int | None, typer.Option(help="Stop after this many cycles (default: run until stopped).")
    ] = None,
) -> Status:
    """Run a sync every --interval seconds until SIGTERM/SIGINT; SIGHUP reloads the configuration (a valid one only);
    a failed cycle never stops the daemon."""
    from connector import operations
    from connector.unattended.daemon import ConfigReload, install_reload_signal, install_stop_signals, run_forever
    from connector.wiring import load_settings

    options = state(ctx, config)
    settings = options.settings()
    stop = threading.Event()
    reload = ConfigReload(settings, lambda: load_settings(options.config_path))
    install_stop_signals(stop)
    install_reload_signal(reload)
    log.info("daemon started: syncing every %.0fs with store %s", interval, settings.store.path)
    observer, close = _endpoints(settings, interval)
    try:
        failures = run_forever(
            lambda: operations.sync(reload.settings),
            interval,
            stop,
            max_cycles=cycles,
            on_cycle=observer,
            reload=reload,
            config_path=options.config_path,
        )
    finally:
        close()
    log.info("daemon stopped")
    # A bounded run (a cron job, a test) reports its failed cycles; an endless one was stopped on purpose.
    return Status.FAILED if failures and cycles is not None else Status.OK
