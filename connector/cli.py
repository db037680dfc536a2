"""The `connector` command line (typer): global options, commands, and the one mapping of errors to exit codes."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Annotated

import typer

import providers
from connector import __version__, sync_commands
from connector.config import DEFAULT_CONFIG_PATH
from connector.context import ConfigOption, State, state
from connector.errors import ConnectorError, exit_code_for
from connector.logs import configure_logging
from connector.output import print_json, print_table, stderr, stdout
from connector.redact import redact
from providers.altaro import commands as altaro_commands
from providers.atera import commands as atera_commands
from providers.axcient import commands as axcient_commands

log = logging.getLogger("connector")

app = typer.Typer(
    name="connector",
    help=(
        "Bill MSP customers for backup usage. Polls Altaro/Hornetsecurity and Axcient, maps usage onto Atera "
        "contracts from your configuration, and pushes each line exactly once.\n\n"
        "New here? `connector demo` runs the whole job against bundled sandbox vendors. With your own "
        "connector.toml: `connector check`, then `connector sync --dry-run`, then `connector sync`."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
usage_app = typer.Typer(help="Fetch usage from one vendor and print it per customer (nothing is pushed).")
app.add_typer(usage_app, name="usage")


def _version(value: bool) -> None:
    if value:
        stdout.print(f"connector {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging and full tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    configure_logging(verbose=verbose)
    ctx.obj = State(config_path=config or DEFAULT_CONFIG_PATH, verbose=verbose)


@app.command()
def check(
    ctx: typer.Context,
    config: ConfigOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Also fail when a secret cannot be read.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Validate the configuration and mappings and summarise what is configured (exit 0, or 2 when invalid)."""
    settings = state(ctx, config).settings()
    sources = {
        name: (settings.enabled(name), provider.describe(settings.section(name)))
        for name, provider in providers.REGISTRY.items()
    }
    secrets = {key: (ref.describe(), ref.problem(key)) for key, ref in settings.secrets().items()}
    warnings = [problem for _, problem in secrets.values() if problem]
    for customer in settings.customers:
        for line in customer.lines:
            if not sources[line.source][0]:
                warnings.append(
                    f"customers '{customer.psa_customer}': {line.metric} needs [{line.source}] enabled = true"
                )
    summary = {
        "config": str(state(ctx).config_path),
        "store": str(settings.store.path),
        "sources": {name: {"enabled": on, "detail": detail} for name, (on, detail) in sources.items()},
        "secrets": {key: {"from": where, "ok": problem is None} for key, (where, problem) in secrets.items()},
        "customers": len(settings.customers),
        "lines": sum(len(c.lines) for c in settings.customers),
        "warnings": warnings,
    }
    if as_json:
        print_json(summary)
    else:
        stdout.print(f"Configuration [bold]{state(ctx).config_path}[/bold] is valid.")
        print_table(
            "Sources",
            ["source", "enabled", "detail"],
            [(n, "yes" if on else "no", d) for n, (on, d) in sources.items()],
        )
        if secrets:
            print_table(
                "Secrets",
                ["key", "from", "readable"],
                [(key, where, "yes" if problem is None else "NO") for key, (where, problem) in secrets.items()],
            )
        vendors = [p.name for p in providers.sources()]
        print_table(
            "Customer mappings",
            ["PSA customer", *(f"{name.capitalize()} customer" for name in vendors), "lines"],
            [
                (c.psa_customer, *(c.vendor_customer(name) or "-" for name in vendors), len(c.lines))
                for c in settings.customers
            ],
        )
        for warning in warnings:
            stderr.print(f"warning: {warning}", markup=False)
    if strict and warnings:
        raise typer.Exit(2)


sync_commands.register(app)
altaro_commands.register(app, usage_app)
axcient_commands.register(app, usage_app)
atera_commands.register(app, usage_app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app and maps every exception to a one-line message and an exit code."""
    verbose = "--verbose" in (argv or sys.argv[1:]) or "-v" in (argv or sys.argv[1:])
    try:
        result = app(args=argv, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        stderr.print("aborted")
        return 130
    except typer.TyperException as error:  # usage errors: unknown option, bad parameter value
        show = getattr(error, "show", None)
        if show is not None:
            show()
        return int(getattr(error, "exit_code", 2))
    except Exception as error:  # the one place every failure becomes a message and an exit code
        if verbose:
            stderr.print(redact("".join(traceback.format_exception(error))), markup=False)
        kind = "error" if isinstance(error, ConnectorError) else f"unexpected error ({type(error).__name__})"
        stderr.print(f"{kind}: {redact(str(error))}", markup=False)
        return exit_code_for(error)


if __name__ == "__main__":
    sys.exit(main())
