"""End to end: `connector explain` in table mode reads as tables (inputs, exclusions, history), never raw JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.cli import main
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from tests.clock import MONTH


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    with running_sandboxes(tmp_path, MONTH) as sandboxes:
        yield _config(tmp_path, sandboxes)


def _config(tmp_path: Path, sandboxes: Sandboxes) -> Path:
    path = write_config(tmp_path, sandboxes)
    path.write_text(path.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
    return path


def test_explain_shows_counted_users_exclusions_and_history_as_tables(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    assert main(["sync", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["explain", "Contoso Ltd", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "{" not in out and "}" not in out and '"' not in out
    assert "Contoso Ltd / Microsoft 365 backup (per user)" in out
    assert "8 user x 3.50 = 28.00 (pushed)" in out
    assert "What explains it" in out and "History" in out
    assert "8: Ada Moss, Ben Hart" in out  # the counted users, first few by name
    assert "(shared-reception): shared mailboxes are in Contoso's flat fee" in out
    assert "CONTOSO-PC02: suspended" in out  # an Axcient account left out, with its reason
    assert "observations considered" in out and "peak observed at" in out


def test_explain_json_is_unchanged(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    main(["sync", "--config", str(config)])
    capsys.readouterr()
    assert main(["explain", "Contoso Ltd", "--config", str(config), "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    users = next(i for i in items if i["metric"] == "altaro.billed_users")
    assert users["quantity"] == "8"
    assert users["inputs"]["observations"]["explanation"]["counted"] == 8
    assert [e["status"] for e in users["history"]] == ["pending", "pushed"]
