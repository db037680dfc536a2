"""Commands built from the registry: every provider's read-only views (`usage <source>`, `users FILE`, `<psa> …`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.status import Status as Spinner

import providers
from connector.cli.options import DEFAULT_CONFIG_PATH, ConfigOption, FormatOption, state
from connector.cli.output import print_json, print_table, stderr, stdout
from connector.core.errors import ParameterError, Status
from providers.spec import CONFIG, FORMAT, Param, Provider, View, ViewInput, ViewResult

if TYPE_CHECKING:
    from connector.core.config import Settings  # pydantic-settings: loaded only when a view reads the configuration

USAGE_HELP = "Fetch usage from one vendor and print it per customer (nothing is pushed)."


def psa_titles() -> str:
    return " or ".join(psa.title for psa in providers.psas())


def add_views(app: typer.Typer) -> None:
    """Every registered view as a command: `connector usage <name>`, `connector <provider> <name>` or `connector
    <name>`, in registration order."""
    usage = typer.Typer(help=USAGE_HELP)
    app.add_typer(usage, name="usage")
    for provider in providers.REGISTRY.values():
        own = typer.Typer(help=provider.views_help)
        for view in provider.views:
            group = {"usage": usage, "provider": own, "top": app}[view.group]
            group.command(view.name)(view_command(provider, view))
        if any(view.group == "provider" for view in provider.views):
            app.add_typer(own, name=provider.name)


def view_command(provider: Provider[Any], view: View) -> Callable[..., Status]:
    """A typer command for a view: its parameters from the declaration, its result printed, its status returned."""

    def command(ctx: typer.Context, **args: Any) -> Status:
        config, output = args.pop("config", None), args.pop("output", "table")
        options = state(ctx, config)
        # Offline views use the defaults when no configuration file was named and the default one is absent.
        required = view.needs_config or config is not None or options.config_path != DEFAULT_CONFIG_PATH
        for param in view.params:
            if param.type is date and args.get(param.name) is not None:
                args[param.name] = _day(args[param.name], param.flag or param.name)
        defaults = not required and not options.config_path.exists()
        view_input = ViewInput(args, settings=lambda: options.settings(required=required), defaults=defaults)
        try:
            if view.group == "usage":
                view_input = replace(view_input, fetched=_fetch(provider, view, view_input.settings()))
            result = view.runner()(view_input)
        except ParameterError as error:
            raise typer.BadParameter(str(error), param_hint=error.param) from error
        return show(result, output)

    parameters = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    parameters.extend(_parameter(param) for param in view.params)
    # typer reads a command's parameters from its signature and annotations: these are the view's, as declared.
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = view.help
    return command


def _parameter(param: Param) -> inspect.Parameter:
    annotation: Any
    default: Any = None
    if param == CONFIG:
        annotation = ConfigOption
    elif param == FORMAT:
        annotation, default = FormatOption, "table"
    else:
        # A date is typed as text and parsed here, so a bad one is reported like any bad value of that option.
        kind: Any = str if param.type is date else param.type
        info = typer.Argument(help=param.help) if param.flag is None else typer.Option(param.flag, help=param.help)
        if param.required:
            annotation, default = Annotated[kind, info], inspect.Parameter.empty
        elif kind is bool:
            annotation, default = Annotated[bool, info], False
        else:
            annotation = Annotated[kind | None, info]
    return inspect.Parameter(param.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (yyyy-mm-dd)", param_hint=option) from None


def _fetch(provider: Provider[Any], view: View, settings: Settings) -> Any:
    """A usage view's fetch, through the operations (which record what was fetched), beside a spinner."""
    from connector import operations  # the sync stack: only a usage view needs it, not `users FILE`

    with Spinner(view.progress or f"Fetching usage from {provider.name}…", console=stderr):
        collect = view.collector()
        if collect is None:
            return operations.fetch_usage(settings, provider.name)
        return operations.fetch_usage(settings, provider.name, collect)


def show(result: ViewResult, output: str) -> Status:
    """Print a view's result (JSON, or tables then notes; problems on stderr) and end as it says."""
    if output == "json":
        print_json(result.data)
    else:
        for table in result.tables:
            print_table(table.title, table.columns, table.rows, numeric=table.numeric)
        for note in result.notes:
            stdout.print(note, markup=False)
    for problem in result.problems:
        stderr.print(problem, markup=False)
    if result.error is not None:
        raise result.error
    return result.status
