"""`connector map --create-customers`: show what onboarding will create, ask (or --yes), create, say what was made."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from connector.cli.output import print_json, print_table, stderr, stdout
from connector.core.config import Settings
from connector.core.errors import ConfigError, StoreBusyError
from connector.mapping import onboard
from connector.mapping.mapper import MapResult
from connector.store import Store


def _in_terminal() -> bool:
    return sys.stdin.isatty()


def run(
    settings: Settings, result: MapResult, chosen: Sequence[str], *, yes: bool, dry_run: bool, as_json: bool
) -> onboard.Onboarding:
    """Plan, show, confirm and create; a refusal to create without a terminal is a ConfigError (exit 2)."""
    with Store.open(settings.store.path) as store:
        onboarding = onboard.plan(settings, result, chosen, store)
        try:
            if not as_json:
                _show(onboarding)
            for customer_plan in onboarding.plans:
                for problem in customer_plan.problems:
                    stderr.print(f"error: {customer_plan.customer.name}: {problem}", markup=False)
            if dry_run:
                return onboarding
            if onboarding.ready and not _confirmed(onboarding, yes=yes, as_json=as_json, result=result):
                stderr.print("nothing was created", markup=False)
                return onboarding
            _execute(onboarding, store)
        finally:
            onboarding.onboarder.close()
    for found in onboarding.found:
        stderr.print(f"note: {found}: not created again", markup=False)
    for problem in onboarding.stale:
        stderr.print(f"error: {problem}", markup=False)
    if not as_json:
        _show_created(onboarding)
    return onboarding


def _execute(onboarding: onboard.Onboarding, store: Store) -> None:
    try:
        onboard.execute(onboarding, store)
    except StoreBusyError as error:
        raise StoreBusyError(f"--create-customers: nothing was created: {error}") from None
    except Exception:
        # Nothing made is lost: each create is in the audit, and a rerun finds it before creating anything.
        stderr.print(
            "error: onboarding stopped; what it created is in the audit log, and running the same command "
            "again finishes it without creating anything twice",
            markup=False,
        )
        raise


def _confirmed(onboarding: onboard.Onboarding, *, yes: bool, as_json: bool, result: MapResult) -> bool:
    if yes:
        return True
    if not _in_terminal():
        if as_json:
            print_json({**result.to_data(), "onboarding": onboarding.to_data()})
        raise ConfigError(
            "--create-customers: nothing was created: confirm with --yes when not in a terminal (or --dry-run to "
            "only see the plan)"
        )
    count = sum(len(p.creates) for p in onboarding.ready)
    return typer.confirm(f"Create these {count} item(s) in the PSA?", default=False, err=True)


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


def _show_created(onboarding: onboard.Onboarding) -> None:
    if not onboarding.created:
        return
    rows = [(kind, name, made) for created in onboarding.created for kind, name, made in created.made]
    print_table("Created (recorded in the audit log)", ["what", "name", "id"], rows)
