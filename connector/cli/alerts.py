"""`connector alerts test`: send one message to every configured alert URL, to check the setup end to end."""

from __future__ import annotations

import typer

from connector.cli.options import ConfigOption, state
from connector.cli.output import stdout
from connector.core.errors import ConfigError, Status, VendorError
from connector.operations.alerts import TITLE, Alerter

alerts_app = typer.Typer(help="Alerts: apprise URLs under [alerts] urls.", no_args_is_help=True)


@alerts_app.command("test")
def test(ctx: typer.Context, config: ConfigOption = None) -> Status:
    """Send one test message to every URL under [alerts] urls."""
    alerter = Alerter(state(ctx, config).settings().alerts)
    if not alerter.enabled:
        raise ConfigError("no alert URL configured: add [alerts] urls = [...] (see config.example.toml)")
    if not alerter.send(f"{TITLE}: test", "This is a test alert from `connector alerts test`."):
        raise VendorError("alerts", "the test alert was not delivered to every URL (see the log above)")
    stdout.print(f"test alert sent to {len(alerter.settings.urls)} URL(s)")
    return Status.OK
