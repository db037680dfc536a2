"""The billing console served by the daemon (`[console] listen` set): the same application `connector console`
serves, with uvicorn in a background thread of the daemon's process, stopped with the daemon."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from connector.console.server import server
from connector.core.config import Settings
from connector.core.errors import ConfigError

log = logging.getLogger(__name__)

START_SECONDS = 10.0  # how long the daemon waits for the console to listen before it says it could not
STOP_SECONDS = 10.0


class ConsoleThread:
    """The console on `[console] listen`, in a daemon thread: `start()` returns once it listens, `stop()` ends it."""

    def __init__(self, settings: Settings, config_path: Path | None = None) -> None:
        # The same server `connector console` runs; in a thread, uvicorn installs no signal handlers.
        self.server = server(settings, config_path=config_path)
        self.thread = threading.Thread(target=self._run, name="connector-console", daemon=True)
        self.failed: BaseException | None = None

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as error:  # uvicorn exits (SystemExit) when it cannot bind: told by `start`
            self.failed = error

    def start(self, timeout: float = START_SECONDS) -> str:
        """Serve, and return the `host:port` served on once it listens; ConfigError when it could not start."""
        self.thread.start()
        end = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < end:
            time.sleep(0.02)
        if not self.server.started:
            self.stop()
            why = f" ({type(self.failed).__name__})" if self.failed is not None else ""
            raise ConfigError(f"[console] listen: the console could not be served{why}; see the log above")
        served = self.address()
        log.info("console: serving on http://%s/ (sign in with a [[console.users]] name)", served)
        return served

    def address(self) -> str:
        """The `host:port` the console listens on (the port chosen when `listen` gave 0)."""
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        log.info("console: stopped")


def serve_console(settings: Settings, config_path: Path | None = None) -> ConsoleThread | None:
    """The console started on `[console] listen`, or None when it is not set."""
    if settings.console.listen is None:
        return None
    console = ConsoleThread(settings, config_path)
    console.start()
    return console
