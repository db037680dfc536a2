"""`connector alerts test` and `connector store check|backup`: the set-up's own checks (an alert sent end to end,
SQLite's integrity check) and an online backup of the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connector.cli.options import ConfigOption, state
from connector.cli.output import stdout
from connector.core.errors import ConfigError, ParameterError, Status, VendorError

alerts_app = typer.Typer(help="Alerts: apprise URLs under [alerts] urls.", no_args_is_help=True)


@alerts_app.command("test")
def test(ctx: typer.Context, config: ConfigOption = None) -> Status:
    """Send one test message to every URL under [alerts] urls."""
    from connector.operations.alerts import TITLE, Alerter

    alerter = Alerter(state(ctx, config).settings().alerts)
    if not alerter.enabled:
        raise ConfigError("no alert URL configured: add [alerts] urls = [...] (see config.example.toml)")
    if not alerter.send(f"{TITLE}: test", "This is a test alert from `connector alerts test`."):
        raise VendorError("alerts", "the test alert was not delivered to every URL (see the log above)")
    stdout.print(f"test alert sent to {len(alerter.settings.urls)} URL(s)")
    return Status.OK


store_app = typer.Typer(help="The state store: check it, back it up (restoring: see the README).", no_args_is_help=True)


@store_app.command("check")
def store_check(ctx: typer.Context, config: ConfigOption = None) -> Status:
    """SQLite's integrity and foreign key checks of the whole store; exit 4 naming what is damaged."""
    from connector.store import maintenance

    path = state(ctx, config).settings().store.path
    version = maintenance.check(path)
    stdout.print(f"state store {path}: ok (schema version {version})", markup=False)
    return Status.OK


@store_app.command("backup")
def store_backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the backup (owner-only; replaced if it exists).")],
    config: ConfigOption = None,
) -> Status:
    """Copy the store to FILE while the connector may be running (SQLite's online backup), checked and owner-only."""
    from connector.store import maintenance

    path = state(ctx, config).settings().store.path
    try:
        version = maintenance.backup(path, file)
    except OSError as error:
        raise ParameterError(f"FILE {file}: cannot write: {error.strerror or error}", param="FILE") from None
    stdout.print(f"state store {path} (schema version {version}) backed up to {file}", markup=False)
    return Status.OK
