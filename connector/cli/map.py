"""`connector map`: vendor customers against the PSA's (mapped, matched, suggested, unmatched); `--write` a file;
`--create-customers`: show what onboarding will create, ask (or --yes), create, say what was made."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import print_json, print_table, stderr, stdout
from connector.core.errors import ConfigError, Status

if TYPE_CHECKING:
    from connector.core.config import Settings
    from connector.mapping import mapper, onboard


def map_customers(
    ctx: typer.Context,
    config: ConfigOption = None,
    output: FormatOption = "table",
    write: Annotated[
        Path | None,
        typer.Option("--write", help="Write the accepted matches as [[customers]] blocks to this mapping file."),
    ] = None,
    accept: Annotated[
        Literal["exact", "suggested"] | None,
        typer.Option(
            "--accept",
            help="exact: only exact-name matches; suggested: also each best suggestion. "
            "Not given: asks for each suggestion in a terminal, else exact.",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="<name or id>",
            help="With --write: list this vendor customer in ignored_customers; repeat.",
        ),
    ] = None,
    ignore_unmatched: Annotated[
        bool, typer.Option("--ignore-unmatched", help="With --write: ignore every vendor customer left unmatched.")
    ] = False,
    create_customers: Annotated[
        bool,
        typer.Option(
            "--create-customers",
            help="Create each unmatched vendor customer in the PSA: the customer, its main contact and the contracts "
            "[mapping.templates] name. Shows what it will create and asks (or --yes).",
        ),
    ] = False,
    customer: Annotated[
        list[str] | None,
        typer.Option(
            "--customer", metavar="<name or id>", help="With --create-customers: only this vendor customer; repeat."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --create-customers: create without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what --create-customers and --write would do; change nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --write: replace a file that is not a mapping file new blocks can be added to (a copy is kept "
            "as FILE.bak). A mapping file is always merged into, never replaced.",
        ),
    ] = False,
) -> Status:
    """Match every vendor customer to a PSA customer; reuses a stored Altaro report inside its 5 minutes."""
    from connector import operations

    _check_options(bool(customer or yes), create_customers, force=force, write=write)
    options = state(ctx, config)
    settings = options.settings()
    if write is not None:
        # Refused now, before anything is created in the PSA, rather than after.
        operations.writable(write, options.config_path, force=force)
    reports, problems = operations.vendor_reports(settings)
    result = operations.classify(settings, reports, problems)
    if output == "table":
        _print(result)
    onboarding = None
    if create_customers:
        onboarding = _onboard(settings, result, customer or [], yes=yes, dry_run=dry_run, as_json=output == "json")
        # The new PSA customers (this run's, or another's it found since its plan) now match their vendor customers
        # by name: what --write writes for them.
        result = operations.classify(settings, reports, problems) if onboarding.changed else result
    if output == "json":
        print_json({**result.to_data(), **({"onboarding": onboarding.to_data()} if onboarding else {})})
    for problem in result.problems:
        stderr.print(f"error: {problem}", markup=False)
    if write is not None and dry_run:
        stderr.print(f"note: --dry-run: {write} is not written", markup=False)
    elif write is not None:
        ignored = operations.ignored(result, ignore or [], ignore_unmatched)
        chosen = [item for item in _chosen(result, accept) if item not in ignored]
        made = frozenset(c.customer_id for c in onboarding.created if c.customer_id) if onboarding else frozenset()
        # With JSON on stdout, what was written is said on stderr: stdout stays one JSON document.
        said = stderr if output == "json" else stdout
        _write(write, chosen, ignored, settings, options.config_path, made, said, force=force)
    if onboarding is not None and onboarding.problems:
        return Status.INVALID
    return Status.INCOMPLETE if result.problems else Status.OK


def _check_options(onboarding_options: bool, create_customers: bool, *, force: bool, write: Path | None) -> None:
    if onboarding_options and not create_customers:
        raise ConfigError("--customer and --yes go with --create-customers")
    if force and write is None:
        raise ConfigError("--force goes with --write")


def _print(result: mapper.MapResult) -> None:
    from connector.mapping import mapper

    rows = []
    for item in result.items:
        near = ", ".join(f"{p.name} ({score:g})" for p, score in item.suggestions)
        psa = item.psa.name if item.psa is not None and item.kind != "suggested" else ""
        rows.append((item.vendor.source, item.vendor.name, item.vendor.id or "", item.kind, psa, near))
    print_table("Vendor customers", ["source", "vendor customer", "id", "status", "PSA customer", "closest"], rows)
    if result.unbilled:
        print_table(
            "Mapped PSA customers with no vendor data",
            ["PSA customer", "id"],
            [(p.name, p.id or "") for p in result.unbilled],
        )
    if result.psa_only:
        print_table(
            "PSA customers with backup contracts but no vendor data",
            ["PSA customer", "id", "contracts"],
            [(p.name, p.id or "", ", ".join(held)) for p, held in result.psa_only],
        )
    stdout.print(", ".join(f"{len(result.of(kind))} {kind}" for kind in mapper.KINDS))


def _in_terminal() -> bool:
    return sys.stdin.isatty()


def _chosen(result: mapper.MapResult, accept: str | None) -> list[mapper.MapItem]:
    if accept == "suggested":
        return result.of("matched") + result.of("suggested")
    if accept is None and _in_terminal():
        return result.of("matched") + _ask(result.of("suggested"))
    return result.of("matched")


def _ask(suggested: list[mapper.MapItem]) -> list[mapper.MapItem]:
    """Each suggestion put to the user: a number accepts that PSA customer, nothing skips the vendor customer."""
    accepted = []
    for item in suggested:
        choices = "  ".join(f"{n}) {p.name} ({score:g})" for n, (p, score) in enumerate(item.suggestions, 1))
        vendor = item.vendor.name + (f" (id {item.vendor.id})" if item.vendor.id else "")
        answer = typer.prompt(
            f"{item.vendor.source} {vendor}: {choices}; number to accept, Enter to skip",
            default="",
            show_default=False,
        ).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(item.suggestions):
            psa, score = item.suggestions[int(answer) - 1]
            accepted.append(replace(item, psa=psa, score=score))
    return accepted


def _write(
    path: Path,
    chosen: list[mapper.MapItem],
    ignored: list[mapper.MapItem],
    settings: Settings,
    config_path: Path,
    created: frozenset[int],
    said: Console,
    *,
    force: bool,
) -> None:
    from connector import operations

    taken = [c.psa_customer for c in settings.customers]
    planned = operations.plan_mapping_file(
        path, chosen, taken, ignored, settings.mapping, config_path, created=created, force=force
    )
    for item, where in planned.skipped:
        assert item.psa is not None
        stderr.print(
            f"note: {item.vendor.source} customer {item.vendor.name!r} matches {item.psa.name!r}, which a "
            f"[[customers]] block in {where} maps already: add it to that block by hand",
            markup=False,
        )
    if planned.unchanged:
        said.print(f"nothing new to write: {path} holds every mapping already; it is unchanged", markup=False)
        return
    backup = operations.write_mapping_file(planned)
    kept = f" (added to what it held; its previous content is in {backup})" if backup else ""
    said.print(
        f"wrote {planned.rendered.blocks} mapping(s) and {planned.rendered.ignores} ignored customer(s) to {path}"
        f"{kept}; " + operations.inclusion(path, config_path),
        markup=False,
    )


# -- --create-customers -------------------------------------------------------------------------------------------


def _onboard(
    settings: Settings, result: mapper.MapResult, chosen: Sequence[str], *, yes: bool, dry_run: bool, as_json: bool
) -> onboard.Onboarding:
    """Plan, show, confirm and create; a refusal to create without a terminal is a ConfigError (exit 2)."""
    from connector import operations

    decided: list[bool] = []

    def decide(onboarding: onboard.Onboarding) -> bool:
        decided.append(_decide(onboarding, result, yes=yes, dry_run=dry_run, as_json=as_json))
        return decided[-1]

    onboarding = operations.onboard_customers(settings, result, chosen, decide=decide, stopped=_stopped)
    if not all(decided):
        return onboarding
    for found in onboarding.found:
        stderr.print(f"note: {found}: not created again", markup=False)
    for problem in onboarding.stale:
        stderr.print(f"error: {problem}", markup=False)
    if onboarding.created and not as_json:
        rows = [(kind, name, made) for created in onboarding.created for kind, name, made in created.made]
        print_table("Created (recorded in the audit log)", ["what", "name", "id"], rows)
    return onboarding


def _decide(
    onboarding: onboard.Onboarding, result: mapper.MapResult, *, yes: bool, dry_run: bool, as_json: bool
) -> bool:
    """Show the plan and its problems; whether to create it (never on a dry run; asked, unless --yes)."""
    if not as_json:
        _show(onboarding)
    for problem in onboarding.problems:
        stderr.print(f"error: {problem}", markup=False)
    if dry_run or yes or not onboarding.ready:
        return not dry_run
    if not _in_terminal():
        if as_json:
            print_json({**result.to_data(), "onboarding": onboarding.to_data()})
        raise ConfigError(
            "--create-customers: nothing was created: confirm with --yes when not in a terminal (or --dry-run to "
            "only see the plan)"
        )
    count = sum(len(p.creates) for p in onboarding.ready)
    if typer.confirm(f"Create these {count} item(s) in the PSA?", default=False, err=True):
        return True
    stderr.print("nothing was created", markup=False)
    return False


def _stopped() -> None:
    stderr.print(
        "error: onboarding stopped; what it created is in the audit log, and running the same command "
        "again finishes it without creating anything twice",
        markup=False,
    )


def _show(onboarding: onboard.Onboarding) -> None:
    rows = []
    for customer_plan in onboarding.plans:
        name = customer_plan.customer.name
        if customer_plan.problems:
            rows.append((name, "-", "nothing (see the error)", ""))
            continue
        rows += [(name, step.kind, step.name, step.detail) for step in customer_plan.creates]
        if not customer_plan.creates:
            rows.append((name, "-", "nothing: the PSA holds all of it", ""))
    if not rows:
        stdout.print("Nothing to create: no vendor customer is unmatched.")
        return
    print_table("To create in the PSA", ["PSA customer", "what", "name", "detail"], rows)
    for customer_plan in onboarding.plans:
        for note in customer_plan.notes:
            stdout.print(f"note: {customer_plan.customer.name}: {note}", markup=False)
