"""`connector check`: validate the configuration and show what it sets up."""

from __future__ import annotations

from typing import Annotated

import typer

from connector import operations
from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import print_json, print_table, stderr, stdout
from connector.errors import Status
from providers.spec import Finding


def check(
    ctx: typer.Context,
    config: ConfigOption = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Also fail (exit 2) on any warning: a secret unreadable, or readable by others."),
    ] = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Also test each vendor's credentials and find every mapped customer and contract in the PSA "
            "(exit 2 on a mismatch, 3 when a vendor cannot be asked).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (as --format json).")] = False,
    output: FormatOption = "table",
) -> Status:
    """Validate the configuration and mappings and summarise what is configured (exit 0, or 2 when invalid)."""
    options = state(ctx, config)
    summary = operations.check(options.settings(), options.config_path, online=online)
    if as_json or output == "json":
        print_json(summary.to_data())
        return summary.status(strict=strict)
    stdout.print(f"Configuration [bold]{summary.config_path}[/bold] is valid.")
    print_table(
        "Sources",
        ["source", "enabled", "detail"],
        [(n, "yes" if on else "no", d) for n, (on, d) in summary.sources.items()],
    )
    if summary.secrets:
        print_table(
            "Secrets",
            ["key", "from", "readable"],
            [(key, where, "yes" if problem is None else "NO") for key, (where, problem) in summary.secrets.items()],
        )
    print_table(
        "Customer mappings",
        ["PSA customer", *(f"{name.capitalize()} customer" for name in summary.vendors), "lines"],
        [
            (c.psa_customer, *(c.vendor_customer(name) or "-" for name in summary.vendors), len(c.lines))
            for c in summary.settings.customers
        ],
    )
    if summary.online:
        print_table("Online checks", ["check", "result", "detail"], [_row(f) for f in summary.online])
    for warning in summary.warnings:
        stderr.print(f"warning: {warning}", markup=False)
    for finding in summary.online:
        if finding.problem is not None:
            stderr.print(f"error: {finding.check}: {finding.problem}", markup=False)
    return summary.status(strict=strict)


def _row(finding: Finding) -> tuple[str, str, str]:
    if finding.problem is None:
        return finding.check, "ok", finding.note or ""
    result = "cannot verify" if finding.status is Status.INCOMPLETE else "WRONG"
    return finding.check, result, finding.problem
