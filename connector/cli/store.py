"""`connector store check` and `connector store backup FILE`: SQLite's integrity check, and an online backup."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connector.cli.options import ConfigOption, state
from connector.cli.output import stdout
from connector.core.errors import ParameterError, Status
from connector.store import maintenance

store_app = typer.Typer(help="The state store: check it, back it up (restoring: see the README).", no_args_is_help=True)


@store_app.command("check")
def check(ctx: typer.Context, config: ConfigOption = None) -> Status:
    """SQLite's integrity and foreign key checks of the whole store; exit 4 naming what is damaged."""
    path = state(ctx, config).settings().store.path
    version = maintenance.check(path)
    stdout.print(f"state store {path}: ok (schema version {version})", markup=False)
    return Status.OK


@store_app.command("backup")
def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the backup (owner-only; replaced if it exists).")],
    config: ConfigOption = None,
) -> Status:
    """Copy the store to FILE while the connector may be running (SQLite's online backup), checked and owner-only."""
    path = state(ctx, config).settings().store.path
    try:
        version = maintenance.backup(path, file)
    except OSError as error:
        raise ParameterError(f"FILE {file}: cannot write: {error.strerror or error}", param="FILE") from None
    stdout.print(f"state store {path} (schema version {version}) backed up to {file}", markup=False)
    return Status.OK
