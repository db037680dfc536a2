"""The one clock every test runs at: a fixed instant (or TESTS_FROZEN_AT), never the wall clock.

`conftest.py` freezes time at `FROZEN_AT` for the whole session and moves it back there before every module and
every test, so a test sees the same date whenever and wherever it runs. CI runs the suite again with
TESTS_FROZEN_AT set to a month's first hour and to New Year's Eve to prove no test leans on a particular day.
A process a test starts runs on the same clock through `frozen_python`.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

FROZEN_AT = datetime.fromisoformat(os.environ.get("TESTS_FROZEN_AT") or "2026-11-18T10:00:00+00:00").astimezone(UTC)
# The billing month that contains the frozen instant, in UTC: what sandboxes that serve "today's" data serve.
MONTH = FROZEN_AT.strftime("%Y-%m")

# Run by `python -c` in a child process: start the clock at the instant the parent passes, then run `-m module` or
# `-c code` with the remaining arguments, as `python` itself would.
_BOOT = """
import runpy, sys, time_machine
time_machine.travel(sys.argv[1], tick=True).start()
mode, target, *rest = sys.argv[2:]
if mode == "-m":
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
"""


def frozen_python(mode: str, target: str, *args: str) -> list[str]:
    """`python -m module args` or `python -c code args`, as a command whose process starts at this process's now
    (the frozen clock, as it has ticked so far)."""
    assert mode in {"-m", "-c"}, mode
    return [sys.executable, "-c", _BOOT, datetime.now(UTC).isoformat(), mode, target, *args]
