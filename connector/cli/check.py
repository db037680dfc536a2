"""`connector check`: validate the configuration and show what it sets up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import print_json, print_table, stderr, stdout
from connector.core.errors import Status

if TYPE_CHECKING:
    from connector.core.config import Settings
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
    from connector import operations

    options = state(ctx, config)
    summary = operations.check(options.settings(), options.config_path, online=online)
    auto = _auto_matched(summary.settings, online=online)
    if as_json or output == "json":
        print_json(summary.to_data() | ({"auto_matched": auto} if auto is not None else {}))
        return summary.status(strict=strict)
    stdout.print(f"Configuration [bold]{summary.config_path}[/bold] is valid.")
    pushed_to = f"{summary.psa_title}, the enabled PSA" if summary.psa is not None else "no PSA (none is enabled)"
    stdout.print(f"Lines are pushed to {pushed_to}.", markup=False)
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
    _print_auto_matched(auto, online=online)
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


def _auto_matched(settings: Settings, *, online: bool) -> list[dict[str, Any]] | None:
    """With `auto_match = "exact"` and --online, the vendor customers billed with the templates and no block (the
    vendors are asked through the fetch ledger, as `connector map` does); None when auto_match is off."""
    if settings.mapping.auto_match != "exact":
        return None
    if not online:
        return []
    from connector import operations
    from connector.mapping import automatch

    reports, problems = operations.vendor_reports(settings)
    for problem in problems:
        stderr.print(f"warning: auto_match: {problem}: its customers are not listed", markup=False)
    items = automatch.billed_by_auto_match(settings, reports, operations.psa_customers(settings))
    return [item.to_data() for item in items]


def _print_auto_matched(auto: list[dict[str, Any]] | None, *, online: bool) -> None:
    if auto is None:
        return
    if not online:
        stdout.print(
            'auto_match = "exact": vendor customers whose name is a PSA customer\'s bill with [mapping.templates] '
            "and no block; `connector check --online` (or `connector map`) lists them",
            markup=False,
        )
        return
    rows = [
        (i["source"], i["vendor_customer"]["name"], i["vendor_customer"]["id"] or "", i["psa_customer"]["name"])
        for i in auto
    ]
    columns = ["source", "vendor customer", "id", "PSA customer"]
    print_table("Billed by auto_match (exact name, no block)", columns, rows)
