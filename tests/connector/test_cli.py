"""The command line: help, version, check, and the single mapping of errors to exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector import __version__
from connector.cli import app, main
from tests.clock import frozen_python

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        frozen_python("-m", "connector.cli", *args), capture_output=True, text=True, cwd=cwd or REPO, timeout=60
    )


def test_help_and_version() -> None:
    helped = run("--help")
    assert helped.returncode == 0
    assert "check" in helped.stdout and "Bill MSP customers" in helped.stdout
    versioned = run("--version")
    assert versioned.returncode == 0 and versioned.stdout.strip() == f"connector {__version__}"


def test_check_example_configuration_as_json() -> None:
    done = run("check", "--config", "config.example.toml", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["customers"] == 2 and summary["lines"] == 3
    assert summary["sources"]["atera"]["enabled"] is False
    assert summary["sources"]["atera"]["detail"].endswith(
        "[atera] enabled = true turns it on (https://app.atera.com/api/v3)"
    )


def test_check_works_with_global_option_before_the_command() -> None:
    assert run("--config", "config.example.toml", "check").returncode == 0


def test_invalid_configuration_exits_2_with_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[http]\nmax_attempts = 0\n")
    done = run("check", "--config", str(bad))
    assert done.returncode == 2
    assert f"{bad}: http.max_attempts: Input should be greater than or equal to 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[http]\nmax_attempts = 0\n")
    done = run("--verbose", "check", "--config", str(bad))
    assert done.returncode == 2 and "Traceback" in done.stderr


def test_missing_secret_is_a_warning_and_strict_makes_it_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[atera]\nenabled = true\napi_key = { env = "NOT_SET_ANYWHERE_42" }\n')
    monkeypatch.delenv("NOT_SET_ANYWHERE_42", raising=False)
    relaxed = CliRunner().invoke(app, ["check", "--config", str(config)])
    assert relaxed.exit_code == 0
    assert "atera.api_key: environment variable NOT_SET_ANYWHERE_42 is not set" in relaxed.output
    assert main(["check", "--strict", "--config", str(config)]) == 2


def test_unknown_option_is_a_usage_error() -> None:
    assert main(["check", "--no-such-option"]) == 2


def test_a_dry_run_with_vendors_disabled_blocks_every_line_and_says_which_section(tmp_path: Path) -> None:
    config = tmp_path / "connector.toml"
    config.write_text((REPO / "config.example.toml").read_text())
    done = subprocess.run(
        frozen_python("-m", "connector.cli", "sync", "--config", str(config), "--dry-run"),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 3
    # Brackets in messages are text, not console markup: the section to enable is named in the table.
    assert "[altaro] is not enabled in the configuration" in done.stdout
    assert "[axcient] is not enabled in the configuration" in done.stdout
    assert "INCOMPLETE" in done.stdout


def test_memory_running_out_in_any_command_exits_1_and_says_what_to_raise(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from connector.cli import run as run_command_line

    application = typer.Typer()

    @application.command()
    def export() -> None:
        raise MemoryError

    @application.command()
    def other() -> None:
        pass

    code = run_command_line(application, ["export"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "memory ran out running `connector export`" in err and "unexpected" not in err
    assert "raise the memory limit" in err
