"""The long-running mode: a sync every interval, each cycle isolated, stopping cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from connector.errors import ConnectorError
from connector.report import RunReport
from mappings.lines import Outcome

log = logging.getLogger(__name__)

# Told after every cycle: its report (None when it raised), how long it took, and the exception it raised.
CycleObserver = Callable[[RunReport | None, float, BaseException | None], None]


def install_stop_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping after the current cycle", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run_forever(
    cycle: Callable[[], RunReport],
    interval_seconds: float,
    stop: threading.Event,
    *,
    max_cycles: int | None = None,
    on_cycle: CycleObserver | None = None,
) -> int:
    """Run `cycle` every `interval_seconds` until `stop` is set; returns how many cycles failed.

    A failed cycle never ends the daemon: configuration, vendor and store errors are logged as errors, and an
    unexpected exception is logged with its traceback (loud, so it gets fixed) before the next cycle.
    """
    failures = 0
    cycles = 0
    while not stop.is_set():
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
            level = logging.INFO if report.status == "ok" else logging.ERROR
            log.log(
                level,
                "sync cycle %d: %s (%d pushed, %d unchanged, %d held, %d blocked, %d failed, %d unmapped)",
                cycles,
                report.status,
                report.count(Outcome.PUSHED),
                report.count(Outcome.UNCHANGED),
                report.count(Outcome.HELD),
                report.count(Outcome.BLOCKED),
                report.count(Outcome.FAILED),
                len(report.unmapped),
            )
        if on_cycle is not None:
            on_cycle(report, time.monotonic() - began, raised)
        if max_cycles is not None and cycles >= max_cycles:
            break
        stop.wait(interval_seconds)
    return failures
