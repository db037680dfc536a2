"""The long-running mode: a sync every interval, each cycle isolated, stopping cleanly on SIGTERM or SIGINT and
reloading its configuration on SIGHUP; with `[console] listen` set, the billing console `connector console` serves,
with uvicorn in a background thread of the daemon's process, stopped with the daemon."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from connector.console.server import server
from connector.core.config import Settings
from connector.core.errors import ConfigError, ConnectorError
from connector.operations.alerts import TITLE, Alerter
from connector.sync.report import RunReport
from mappings.lines import Outcome

log = logging.getLogger(__name__)

# Told after every cycle: its report (None when it raised), how long it took, and the exception it raised.
CycleObserver = Callable[[RunReport | None, float, BaseException | None], None]
# How often the wait between cycles looks for a SIGHUP: a signal handler cannot wake the wait itself, and an
# operator who runs `systemctl reload` should read the outcome in the log now, not an interval later.
RELOAD_CHECK_SECONDS = 1.0
CONSOLE_START_SECONDS = 10.0  # how long the daemon waits for the console to listen before it says it could not
CONSOLE_STOP_SECONDS = 10.0
# The counts a cycle's log line gives, in its order.
_LOGGED = (Outcome.PUSHED, Outcome.UNCHANGED, Outcome.HELD, Outcome.BLOCKED, Outcome.FAILED)


class ConfigReload:
    """The configuration the daemon's cycles use, replaced on request (SIGHUP) only by one that loads and validates.

    A signal handler only sets `requested`; the loading, logging and alerting happen in the loop, between cycles.
    """

    def __init__(self, settings: Settings, load: Callable[[], Settings]) -> None:
        self.settings = settings
        self.load = load
        self.requested = threading.Event()

    def apply(self) -> None:
        """Load the configuration again if asked to: a valid one is used from the next cycle, an invalid one is
        logged and alerted, and the one in use stays."""
        if not self.requested.is_set():
            return
        self.requested.clear()
        try:
            loaded = self.load()
        except ConfigError as error:
            log.error("configuration not reloaded, the previous one stays in use: %s", error)
            self._alert(str(error))
            return
        except Exception as error:  # a bug, not the file: loud, but the daemon goes on with what it has
            log.exception("configuration not reloaded, the previous one stays in use")
            self._alert(f"{type(error).__name__}: {error}")
            return
        self.settings = _keep_start_only(self.settings, loaded)
        log.info("configuration reloaded")

    def _alert(self, message: str) -> None:
        # Told through the alert URLs in use: the new file's may be the very thing that is broken.
        alerter = Alerter(self.settings.alerts)
        if not alerter.enabled:
            return
        try:
            alerter.send(f"{TITLE}: configuration not reloaded", f"the previous configuration stays in use: {message}")
        except ConnectorError as error:  # an alert URL that cannot be read must not end the daemon
            log.error("the alert that the configuration was not reloaded could not be sent: %s", error)


def _keep_start_only(old: Settings, new: Settings) -> Settings:
    """`new`, with what the daemon set up at start kept from `old`: the endpoints ([daemon]), the logging ([log]), the
    console it serves ([console]) and the store's path (/healthz checks the store the daemon started with). A change
    there is told, not ignored."""
    changed = [
        name
        for name, differs in (
            ("[daemon]", new.daemon != old.daemon),
            ("[log]", new.log != old.log),
            ("[console]", new.console.model_dump() != old.console.model_dump()),
            ("[store] path", new.store.path != old.store.path),
        )
        if differs
    ]
    if not changed:
        return new
    verb = "takes" if len(changed) == 1 else "take"
    log.warning("configuration reloaded, but %s %s effect at the next restart", " and ".join(changed), verb)
    store = new.store.model_copy(update={"path": old.store.path})
    return new.model_copy(update={"daemon": old.daemon, "log": old.log, "console": old.console, "store": store})


def install_stop_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping after the current cycle", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def install_reload_signal(reload: ConfigReload) -> None:
    """SIGHUP (`systemctl reload`) asks for the configuration to be loaded again, between cycles."""

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received SIGHUP: reloading the configuration")
        reload.requested.set()

    signal.signal(signal.SIGHUP, handle)


def run_forever(
    cycle: Callable[[], RunReport],
    interval_seconds: float,
    stop: threading.Event,
    *,
    max_cycles: int | None = None,
    on_cycle: CycleObserver | None = None,
    reload: ConfigReload | None = None,
    config_path: Path | None = None,
) -> int:
    """Run `cycle` every `interval_seconds` until `stop` is set; returns how many cycles failed.

    A failed cycle never ends the daemon: configuration, vendor and store errors are logged as errors, and an
    unexpected exception is logged with its traceback (loud, so it gets fixed) before the next cycle. A reload asked
    for is done before the next cycle, or during the wait for it.

    With `[console] listen` set (in the configuration `reload` starts with), the billing console is served in a
    background thread of this process from the start, and stopped when the loop ends; one that cannot be served
    ends the daemon before its first cycle (ConfigError); `config_path` is where its Mapping page writes beside.
    """
    console = None
    if reload is not None and reload.settings.console.listen is not None:
        console = ConsoleThread(reload.settings, config_path)
        console.start()
    failures = cycles = 0
    try:
        while not stop.is_set():
            if reload is not None:
                reload.apply()
            cycles += 1
            began = time.monotonic()
            report: RunReport | None = None
            raised: BaseException | None = None
            try:
                report = cycle()
            except ConnectorError as error:
                failures, raised = failures + 1, error
                log.error("sync cycle %d failed: %s", cycles, error)
            except Exception as error:
                failures, raised = failures + 1, error
                log.exception("sync cycle %d failed unexpectedly", cycles)
            else:
                counts = [f"{report.count(outcome)} {outcome.value}" for outcome in _LOGGED]
                counts.append(f"{len(report.unmapped)} unmapped")
                level = logging.INFO if report.status == "ok" else logging.ERROR
                log.log(level, "sync cycle %d: %s (%s)", cycles, report.status, ", ".join(counts))
            if on_cycle is not None:
                on_cycle(report, time.monotonic() - began, raised)
            if max_cycles is not None and cycles >= max_cycles:
                break
            _wait(stop, interval_seconds, reload)
    finally:
        if console is not None:
            console.stop()
    return failures


def _wait(stop: threading.Event, seconds: float, reload: ConfigReload | None) -> None:
    """Wait `seconds` or until stopped; a reload asked for meanwhile is done at once."""
    if reload is None:
        stop.wait(seconds)
        return
    end = time.monotonic() + seconds
    while not stop.is_set() and (left := end - time.monotonic()) > 0:
        stop.wait(min(left, RELOAD_CHECK_SECONDS))
        reload.apply()


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

    def start(self, timeout: float = CONSOLE_START_SECONDS) -> None:
        """Serve, and return once it listens; ConfigError when it could not start."""
        self.thread.start()
        end = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < end:
            time.sleep(0.02)
        if not self.server.started:
            self.stop()
            why = f" ({type(self.failed).__name__})" if self.failed is not None else ""
            raise ConfigError(f"[console] listen: the console could not be served{why}; see the log above")
        # The port chosen when `listen` gave 0.
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        served = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
        log.info("console: serving on http://%s/ (sign in with a [[console.users]] name)", served)

    def stop(self, timeout: float = CONSOLE_STOP_SECONDS) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        log.info("console: stopped")
