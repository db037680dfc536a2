"""The `connector` command line (typer): global options, the commands, and how each ending becomes an exit code."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Annotated, Any

import typer

from connector import __version__
from connector.cli import check, console, reconcile, review, status, sync, upkeep
from connector.cli import map as map_command
from connector.cli.options import DEFAULT_CONFIG_PATH, ConfigOption, State
from connector.cli.output import stderr, stdout
from connector.core.errors import ConnectorError, ParameterError, Status, exit_code_for
from connector.core.logs import configure_logging
from connector.core.redact import redact

HELP = (
    "Bill MSP customers for backup usage. Polls Altaro/Hornetsecurity and Axcient, maps usage onto your PSA's "
    "contracts ({psas}) from your configuration, and pushes each line exactly once.\n\n"
    "New here? `connector demo` runs the whole job against bundled sandbox vendors. With your own "
    "connector.toml: `connector check`, then `connector sync --dry-run`, then `connector sync`."
)


def _version(value: bool) -> None:
    if value:
        stdout.print(f"connector {__version__}")
        raise typer.Exit(exit_code_for(Status.OK))


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


def _exit(status: object, **global_options: object) -> None:
    """Every command returns how it ended; the one table turns that into the exit code (here, so `app` alone,
    under a test runner, exits as `main` does)."""
    if isinstance(status, Status):
        raise typer.Exit(exit_code_for(status))


def build_app() -> typer.Typer:
    """The command line, with every registered provider's views as they are registered when it runs. Typer lists the
    commands in the order they are added, then the groups: the views' top-level commands (`users`) fall between
    `explain` and `reconcile`, their groups (`usage`, each PSA's) between `store` and `alerts`."""
    # The registry's settings models are a tenth of a second of start-up that `--version` does not pay.
    from connector.cli import views

    app = typer.Typer(
        name="connector",
        help=HELP.format(psas=views.psa_titles()),
        no_args_is_help=True,
        add_completion=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        result_callback=_exit,
    )
    app.callback()(main_options)
    first: list[Callable[..., Status]] = [check.check, sync.sync, sync.demo, sync.daemon]
    first += [review.review, review.approve, review.discard, review.explain]
    for command in first:
        app.command()(command)
    app.add_typer(upkeep.store_app, name="store")
    views.add_views(app)
    app.command()(reconcile.reconcile)
    app.command("map")(map_command.map_customers)
    for command in (status.status, status.history, reconcile.export, console.console):
        app.command()(command)
    app.add_typer(upkeep.alerts_app, name="alerts")
    return app


def __getattr__(name: str) -> Any:
    """`connector.cli.app`, built on first use (and kept)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = globals()["app"] = build_app()
    return built


def run(application: typer.Typer, argv: list[str] | None = None) -> int:
    """Run a command line and map every way it can end to a one-line message and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        # Not standalone, click hands back the code of the typer.Exit raised by `_exit`, instead of exiting.
        code = application(args=args, standalone_mode=False)
        return code if isinstance(code, int) else exit_code_for(Status.OK)
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        stderr.print("aborted")
        return exit_code_for(Status.ABORTED)
    except typer.TyperException as error:  # usage errors: unknown option, bad parameter value
        show = getattr(error, "show", None)
        if show is not None:
            show()
        return exit_code_for(ParameterError)
    except MemoryError as error:
        # No bug but a limit: say what to change. The traceback goes first, and with it every frame that held memory.
        error.__traceback__ = None
        command = " ".join(a for a in args[:1] if not a.startswith("-"))
        stderr.print(
            f"error: memory ran out running `connector {command}`: raise the memory limit it runs under (ulimit -v, "
            "the container's limit, systemd's MemoryMax) or free memory, then run it again",
            markup=False,
        )
        return exit_code_for(error)
    except Exception as error:  # the one place every failure becomes a message
        if "--verbose" in args or "-v" in args:
            stderr.print(redact("".join(traceback.format_exception(error))), markup=False)
        kind = "error" if isinstance(error, ConnectorError) else f"unexpected error ({type(error).__name__})"
        stderr.print(f"{kind}: {redact(str(error))}", markup=False)
        return exit_code_for(error)


def main(argv: list[str] | None = None) -> int:
    """Entry point (`connector`, `python -m connector.cli`). `connector --version` is answered before the command
    line is built: it needs none of it."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        stdout.print(f"connector {__version__}")
        return exit_code_for(Status.OK)
    return run(__getattr__("app"), args)
