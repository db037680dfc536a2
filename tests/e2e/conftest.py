"""What the end-to-end tests share: the demo's sandboxes on ephemeral ports, its configuration, and the CLI runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from tests.clock import MONTH


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Sandboxes]:
    with running_sandboxes(tmp_path, MONTH) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, sandboxes: Sandboxes) -> Path:
    path = write_config(tmp_path, sandboxes)
    # Retries should not make the tests wait.
    path.write_text(path.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """Run the CLI in-process: exit code, stdout (parsed when it is JSON) and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith(("{", "[")) else out), err


def sync(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    """`connector sync --format json` and its run report."""
    code, report, err = cli(capsys, "sync", "--config", str(config), "--format", "json", *extra)
    assert isinstance(report, dict), err
    return code, report, err
