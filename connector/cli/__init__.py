"""The `connector` command line (typer): global options, the commands, and how each ending becomes an exit code."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click as click  # typer 0.29 vendors click: commands are its classes, not the click package's
from typer.core import TyperCommand, TyperGroup

from connector import __version__
from connector.cli.options import DEFAULT_CONFIG_PATH, ConfigOption, State
from connector.cli.output import stderr, stdout
from connector.core.errors import ConnectorError, ParameterError, Status, exit_code_for
from connector.core.logs import configure_logging
from connector.core.redact import redact

HELP = (
    "Bill MSP customers for backup usage. Polls Altaro/Hornetsecurity and Axcient, maps usage onto Atera "
    "contracts from your configuration, and pushes each line exactly once.\n\n"
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


# Command name -> (module, function), in help order. A command's module is imported only when that command runs or
# the help lists it, so `connector users FILE` or `--version` never loads the sync stack (issue 14).
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("connector.cli.check", "check"),
    "sync": ("connector.cli.sync", "sync"),
    "demo": ("connector.cli.sync", "demo"),
    "daemon": ("connector.cli.sync", "daemon"),
    "review": ("connector.cli.review", "review"),
    "approve": ("connector.cli.review", "approve"),
    "discard": ("connector.cli.review", "discard"),
    "explain": ("connector.cli.review", "explain"),
}
LATER_COMMANDS: dict[str, tuple[str, str]] = {
    "reconcile": ("connector.cli.reconcile", "reconcile"),
    "map": ("connector.cli.map", "map_customers"),
    "status": ("connector.cli.status", "status"),
    "history": ("connector.cli.status", "history"),
    "export": ("connector.cli.export", "export"),
    "store": ("connector.cli.upkeep", "store_app"),
}


def _loaded(name: str, module: str, attribute: str) -> click.Command:
    """One command as typer builds it (same settings as the application's)."""
    holder = _typer()
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]


def _declared_help(module: str, attribute: str) -> str:
    """A declared command's help as typer would take it (the function's docstring, or a sub-application's `help=`),
    read from its module's source: `--help` lists every command without importing the sync stack (issue 14)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return ""
    for node in ast.parse(Path(spec.origin).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == attribute:
            return ast.get_docstring(node) or ""
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            names = {target.id for target in node.targets if isinstance(target, ast.Name)}
            helps = [
                k.value.value for k in node.value.keywords if k.arg == "help" and isinstance(k.value, ast.Constant)
            ]
            if attribute in names:
                return str(helps[0]) if helps else ""
    return ""


def _views() -> tuple[list[click.Command], list[click.Command]]:
    """The registry's views (top-level commands, then groups), read from the registry as it is now."""
    from connector.cli import views  # the registry imports every provider; only a view's command needs it

    holder = _typer()
    views.add_views(holder)
    built = typer.main.get_group(holder).commands.values()
    return [c for c in built if not isinstance(c, TyperGroup)], [c for c in built if isinstance(c, TyperGroup)]


class LazyGroup(TyperGroup):
    """The root group: its commands are declared by name and built on first use, in the order typer lists them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._view_commands: tuple[list[click.Command], list[click.Command]] | None = None
        self._listing = False

    def _view_lists(self) -> tuple[list[click.Command], list[click.Command]]:
        if self._view_commands is None:
            self._view_commands = _views()
        return self._view_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        top, groups = self._view_lists()
        names = [*COMMANDS, *(c.name or "" for c in top), *LATER_COMMANDS, *(g.name or "" for g in groups)]
        return [*names, "alerts"]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click lists a command by building it; while listing, a declared one is described from its source instead.
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            declared = COMMANDS.get(cmd_name) or LATER_COMMANDS.get(cmd_name)
            if cmd_name == "alerts":
                declared = ("connector.cli.upkeep", "alerts_app")
            if declared is not None and self._listing:
                return TyperCommand(cmd_name, help=_declared_help(*declared))
            if declared is not None:
                self.commands[cmd_name] = _loaded(cmd_name, *declared)
            else:
                self.commands.update((c.name or "", c) for views in self._view_lists() for c in views)
        return self.commands.get(cmd_name)


def _typer(cls: type[TyperGroup] = TyperGroup) -> typer.Typer:
    return typer.Typer(
        name="connector",
        help=HELP,
        no_args_is_help=True,
        add_completion=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        result_callback=_exit,
        cls=cls,
    )


def build_app() -> typer.Typer:
    """The command line, with every registered provider's views as they are registered when it runs."""
    app = _typer(LazyGroup)
    app.callback()(main_options)
    return app


app = build_app()


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
    """Entry point (`connector`, `python -m connector.cli`)."""
    return run(app, argv)
