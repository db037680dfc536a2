"""`connector console`: serve the billing console (a web application for people) until stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from connector.cli.options import ConfigOption, state
from connector.core.errors import Status


def console(
    ctx: typer.Context,
    config: ConfigOption = None,
    listen: Annotated[
        str | None,
        typer.Option(
            help="host:port to serve on [default: [console] listen, else 127.0.0.1:8765]; another address than "
            "loopback needs [console] allow_non_loopback = true."
        ),
    ] = None,
) -> Status:
    """Serve the billing console until SIGINT/SIGTERM: sign in as a [[console.users]] person to see the month and
    review held lines (approve, discard), as `connector review`, `approve` and `discard` do."""
    # Starlette, Jinja2 and uvicorn load only for this command: `connector --help` stays fast.
    from connector.console import serve

    options = state(ctx, config)
    serve(options.settings(), listen, options.config_path)
    return Status.OK
