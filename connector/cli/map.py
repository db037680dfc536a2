"""`connector map`: vendor customers against the PSA's (mapped, matched, suggested, unmatched); `--write` a file."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

import providers
from connector.cli import map_onboard as onboard_cli
from connector.cli.options import ConfigOption, FormatOption, state
from connector.cli.output import print_json, print_table, stderr, stdout
from connector.core.config import Settings
from connector.core.errors import ConfigError, Status
from connector.interfaces.usage import UsageReport
from connector.mapping import mapfile, mapper
from connector.operations import fetch_usage
from mappings.templates import MappingSettings

WriteOption = Annotated[
    Path | None,
    typer.Option("--write", help="Write the accepted matches as [[customers]] blocks to this mapping file."),
]
AcceptOption = Annotated[
    Literal["exact", "suggested"] | None,
    typer.Option(
        "--accept",
        help="exact: only exact-name matches; suggested: also each best suggestion. "
        "Not given: asks for each suggestion in a terminal, else exact.",
    ),
]
IgnoreOption = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore", metavar="<name or id>", help="With --write: list this vendor customer in ignored_customers; repeat."
    ),
]
IgnoreUnmatchedOption = Annotated[
    bool, typer.Option("--ignore-unmatched", help="With --write: ignore every vendor customer left unmatched.")
]
CreateOption = Annotated[
    bool,
    typer.Option(
        "--create-customers",
        help="Create each unmatched vendor customer in the PSA: the customer, its main contact and the contracts "
        "[mapping.templates] name. Shows what it will create and asks (or --yes).",
    ),
]
CustomerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--customer", metavar="<name or id>", help="With --create-customers: only this vendor customer; repeat."
    ),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="With --create-customers: create without asking.")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="With --write: replace a file that is not a mapping file new blocks can be added to (a copy is kept as "
        "FILE.bak). A mapping file is always merged into, never replaced.",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what --create-customers and --write would do; change nothing.")
]


def map_customers(
    ctx: typer.Context,
    config: ConfigOption = None,
    output: FormatOption = "table",
    write: WriteOption = None,
    accept: AcceptOption = None,
    ignore: IgnoreOption = None,
    ignore_unmatched: IgnoreUnmatchedOption = False,
    create_customers: CreateOption = False,
    customer: CustomerOption = None,
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    force: ForceOption = False,
) -> Status:
    """Match every vendor customer to a PSA customer; reuses a stored Altaro report inside its 5 minutes."""
    _check_options(bool(customer or yes), create_customers, force=force, write=write)
    options = state(ctx, config)
    settings = options.settings()
    if write is not None:
        # Refused now, before anything is created in the PSA, rather than after.
        _writable(write, options.config_path, force=force)
    reports, problems = vendor_reports(settings)
    result = _classify(settings, reports, problems)
    onboarding = None
    if create_customers:
        if output == "table":
            _print(result)
        picked = customer or []
        onboarding = onboard_cli.run(settings, result, picked, yes=yes, dry_run=dry_run, as_json=output == "json")
        # The new PSA customers (this run's, or another's it found since its plan) now match their vendor customers
        # by name: what --write writes for them.
        result = _classify(settings, reports, problems) if onboarding.changed else result
    if output == "json":
        print_json({**result.to_data(), **({"onboarding": onboarding.to_data()} if onboarding else {})})
    elif onboarding is None:
        _print(result)
    for problem in result.problems:
        stderr.print(f"error: {problem}", markup=False)
    if write is not None and dry_run:
        stderr.print(f"note: --dry-run: {write} is not written", markup=False)
    elif write is not None:
        ignored = _ignored(result, ignore or [], ignore_unmatched)
        taken = [c.psa_customer for c in settings.customers]
        chosen = [item for item in _chosen(result, accept) if item not in ignored]
        made = frozenset(c.customer_id for c in onboarding.created if c.customer_id) if onboarding else frozenset()
        # With JSON on stdout, what was written is said on stderr: stdout stays one JSON document.
        said = stderr if output == "json" else stdout
        _write(
            write, chosen, taken, ignored, settings.mapping, options.config_path, created=made, said=said, force=force
        )
    if onboarding is not None and onboarding.problems:
        return Status.INVALID
    return Status.INCOMPLETE if result.problems else Status.OK


def _check_options(onboarding_options: bool, create_customers: bool, *, force: bool, write: Path | None) -> None:
    if onboarding_options and not create_customers:
        raise ConfigError("--customer and --yes go with --create-customers")
    if force and write is None:
        raise ConfigError("--force goes with --write")


def _classify(settings: Settings, reports: dict[str, UsageReport], problems: list[str]) -> mapper.MapResult:
    result = mapper.map_customers(settings, reports, mapper.psa_customers(settings))
    result.psa_only = mapper.psa_only(settings, result, mapper.psa_contracts(settings))
    result.problems += problems
    return result


def _print(result: mapper.MapResult) -> None:
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
    counts = ", ".join(f"{len(result.of(kind))} {kind}" for kind in mapper.KINDS)
    stdout.print(counts)


def _ignored(result: mapper.MapResult, names: list[str], unmatched: bool) -> list[mapper.MapItem]:
    wanted = {name.casefold() for name in names}
    chosen = [
        item
        for item in result.items
        if item.kind != "mapped"
        and ((unmatched and item.kind == "unmatched") or {item.vendor.name.casefold(), item.vendor.id} & wanted)
    ]
    if missing := wanted - {n for item in chosen for n in (item.vendor.name.casefold(), item.vendor.id)}:
        raise ConfigError(f"--ignore {sorted(missing)[0]}: no such vendor customer left to map")
    return chosen


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


def _writable(path: Path, config_path: Path, *, force: bool) -> mapfile.Held:
    if path.resolve() == config_path.resolve():
        # The user's own file keeps its comments and order: never rewritten.
        raise ConfigError(f"--write {path}: that is the main configuration; name a separate mapping file")
    return mapfile.read(path, force=force)


def _write(
    path: Path,
    chosen: list[mapper.MapItem],
    taken: list[str],
    ignored: list[mapper.MapItem],
    templates: MappingSettings,
    config_path: Path,
    *,
    created: frozenset[int] = frozenset(),
    said: Console = stdout,
    force: bool = False,
) -> None:
    held = _writable(path, config_path, force=force)  # read again: what the file holds now is what is kept
    rendered = mapfile.render(chosen, taken, templates, ignored, created, held)
    for item in rendered.skipped:
        assert item.psa is not None
        where = path if held.names_psa(item.psa) else config_path
        stderr.print(
            f"note: {item.vendor.source} customer {item.vendor.name!r} matches {item.psa.name!r}, which a "
            f"[[customers]] block in {where} maps already: add it to that block by hand",
            markup=False,
        )
    if path.exists() and not rendered.blocks and not rendered.ignores and held.text:
        said.print(f"nothing new to write: {path} holds every mapping already; it is unchanged", markup=False)
        return
    backup = mapfile.write(path, rendered.text)
    kept = f" (added to what it held; its previous content is in {backup})" if backup else ""
    said.print(
        f"wrote {rendered.blocks} mapping(s) and {rendered.ignores} ignored customer(s) to {path}{kept}; "
        + _inclusion(path, config_path),
        markup=False,
    )


def _inclusion(path: Path, config_path: Path) -> str:
    """Whether the main configuration includes the file already, and how to include it if not."""
    included = mapfile.included(config_path)
    if path.resolve() in included:
        return f"{config_path} already includes it: the next sync bills them"
    relative = path.name if path.parent.resolve() == config_path.parent.resolve() else str(path)
    if included:
        # A second [mappings] table would not load: the file joins the list the existing one names.
        names = [p.name if p.parent == config_path.parent.resolve() else str(p) for p in included]
        listed = ", ".join(json.dumps(n) for n in [*names, relative])
        return f"include it from {config_path} by changing its [mappings] table to\n  [mappings]\n  files = [{listed}]"
    return f'include it from {config_path} with\n  [mappings]\n  file = "{relative}"'


def vendor_reports(settings: Settings) -> tuple[dict[str, UsageReport], list[str]]:
    """Each enabled source's usage, fetched through the ledger (a report link called too soon answers from the last
    stored report), and why a source gave none."""
    reports: dict[str, UsageReport] = {}
    problems: list[str] = []
    for provider in providers.sources():
        if not settings.enabled(provider.name):
            continue
        try:
            reports[provider.name] = fetch_usage(settings, provider.name)
        except ConfigError:
            raise
        except Exception as error:  # one vendor down must not hide the other vendors' customers
            problems.append(f"{provider.name}: {error}")
    return reports, problems
