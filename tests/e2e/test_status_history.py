"""End to end: `connector status` and `connector history` on the store the demo leaves, as real CLI processes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clock import frozen_python

REPO = Path(__file__).resolve().parents[2]


def connector(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        frozen_python("-m", "connector.cli", *args),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    where = tmp_path_factory.mktemp("demo")
    done = connector("demo", "--dir", str(where / "demo"), "--format", "json", cwd=where)
    return where, json.loads(done.stdout)


def test_status_after_the_demo_lists_its_runs_and_the_report_links(demo: tuple[Path, dict[str, Any]]) -> None:
    where, result = demo
    done = connector("status", "--config", result["config"], "--format", "json", cwd=where)
    data = json.loads(done.stdout)
    assert done.returncode == {"ok": 0, "held": 5, "incomplete": 3}[data["status"]]
    assert [run["status"] for run in data["runs"]] and all(run["finished_at"] for run in data["runs"])
    assert any(run["totals"].get("pushed") for run in data["runs"])
    assert data["links"] and all(link["last_call_at"] for link in data["links"])
    table = connector("status", "--config", result["config"], cwd=where)
    assert "Last runs" in table.stdout and "schema v" in table.stdout


def test_history_after_the_demo_shows_what_was_pushed_for_a_customer(demo: tuple[Path, dict[str, Any]]) -> None:
    where, result = demo
    done = connector("history", "Contoso Ltd", "--config", result["config"], "--format", "json", cwd=where)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows and {row["psa_customer"] for row in rows} == {"Contoso Ltd"}
    assert "pushed" in {row["status"] for row in rows}
