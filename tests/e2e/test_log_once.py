"""End to end: each cause is logged once per run (issue 13 item 4), checked on a sync with one vendor down.

Repetitions once found: the engine logged the failed source's whole error again for every line it blocked, and the
push stage asked Atera again (with its retries) for every line once Atera was down; now the first failure of the
PSA as a whole stops that run's pushes (each line still failed with the one cause, pushed by the next run).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connector.cli import main
from connector.operations.demo import Sandboxes, write_config
from providers.sandbox import Fault

CAUSE = "HTTP 503 after retries where safe"


def _sync_with_down(vendor: str, tmp_path: Path, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture) -> list[str]:
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
    sandboxes[vendor].inject(Fault(status=503), times=500)
    caplog.set_level(logging.INFO)
    main(["sync", "--config", str(config), "--format", "json"])
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and CAUSE in r.getMessage()]


def test_a_vendor_down_is_logged_as_an_error_with_its_cause(
    tmp_path: Path, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture
) -> None:
    assert _sync_with_down("axcient", tmp_path, sandboxes, caplog)


def test_a_source_down_logs_its_cause_once(
    tmp_path: Path, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture
) -> None:
    assert len(_sync_with_down("axcient", tmp_path, sandboxes, caplog)) == 1


def test_the_psa_down_logs_its_cause_once(
    tmp_path: Path, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture
) -> None:
    assert len(_sync_with_down("atera", tmp_path, sandboxes, caplog)) == 1
