"""Serving the console: the address it listens on (loopback unless allowed) and uvicorn, until stopped."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from connector.console.app import create_app
from connector.core.config import Settings
from connector.core.errors import ParameterError
from connector.core.sections import DEFAULT_CONSOLE_LISTEN, is_loopback

log = logging.getLogger(__name__)


def address(settings: Settings, listen: str | None = None) -> tuple[str, int]:
    """The host and port to serve on: `listen` (the command's --listen) or `[console] listen`; an address other
    machines can reach needs `[console] allow_non_loopback = true`, as the configured one does."""
    chosen = listen or settings.console.listen or DEFAULT_CONSOLE_LISTEN
    if not settings.console.allow_non_loopback and not is_loopback(chosen):
        raise ParameterError(
            f"--listen {chosen}: not a loopback address; set [console] allow_non_loopback = true to serve on it",
            param="listen",
        )
    host, _, port = chosen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ParameterError(f"--listen {chosen}: expected host:port, e.g. 127.0.0.1:8765", param="listen")
    return host.strip("[]"), int(port)


def server(settings: Settings, listen: str | None = None, config_path: Path | None = None) -> uvicorn.Server:
    """The console's server on its address, not started; `config_path` is the configuration the Mapping page writes
    beside (its mappings file, as `connector map --write` does)."""
    host, port = address(settings, listen)
    app = create_app(settings, listen=listen)  # requests are served under this address's name (and localhost)
    app.state.config_path = config_path
    # log_config=None: uvicorn's loggers go through the connector's logging (its format, its redaction). Forwarded
    # scheme and client are believed from a reverse proxy on this host only.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    return uvicorn.Server(config)


def serve(settings: Settings, listen: str | None = None, config_path: Path | None = None) -> None:
    """Serve the console until SIGINT or SIGTERM."""
    host, port = address(settings, listen)
    log.info("console: serving on http://%s:%d/ (sign in with a [[console.users]] name)", host, port)
    server(settings, listen, config_path).run()
