"""Start-up: `connector --version`, `connector --help` and `connector users FILE` load no module of the sync stack
(issue 14): no HTTP stack, no configuration machinery, no store, no data-frame libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer import _click as click
from typer.core import TyperGroup

from connector.cli import build_app
from connector.cli.options import DEFAULT_CONFIG_PATH
from connector.core.config import DEFAULT_CONFIG_PATH as CONFIG_DEFAULT

SYNC_STACK = (
    "connector.operations",
    "connector.operations.run",
    "connector.sync.engine",
    "connector.store",
    "connector.core.config",
)
# Top-level packages none of these commands needs; sqlite-utils imports pandas and numpy when they are installed.
HEAVY = ("httpx", "pydantic_settings", "sqlite_utils", "tenacity", "apprise", "pandas", "numpy", "pyarrow")
# httpx's command line imports rich's progress bars; the connector's own output never needs them.
HEAVY_MODULES = ("rich.progress",)
SCRIPT = """
import json, sys
from connector.cli import main
code = main(sys.argv[1:])
print(json.dumps(sorted(m for m in sys.modules if m in {exact!r} or m.split('.')[0] in {tops!r})))
"""
HEADER = "Customer Name,Customer ID,Product,Month,Object Type Backed Up,Object Name,Backed Up Size (GB)\n"


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """What a command line printed, and the heavy modules it imported (its last line)."""
    script = SCRIPT.format(exact=set(SYNC_STACK) | set(HEAVY_MODULES), tops=set(HEAVY))
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONNECTOR_")}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**environment, **(env or {})},
    )
    *printed, modules = done.stdout.strip().splitlines()
    return "\n".join(printed), json.loads(modules)


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    assert run(tmp_path, "--version")[1] == []


def test_help_lists_every_command_and_imports_nothing_heavy(tmp_path: Path) -> None:
    printed, modules = run(tmp_path, "--help")
    assert modules == []
    for command in ("check", "sync", "users", "reconcile", "usage", "atera", "alerts"):
        assert f"\n  {command} " in printed, command


def test_help_lists_the_commands_in_their_order() -> None:
    """Typer lists commands as they are added, then groups: the views fall where the help has always shown them."""
    group = typer.main.get_command(build_app())
    assert isinstance(group, TyperGroup)
    context = click.Context(group, info_name="connector", terminal_width=200)
    listed = group.list_commands(context)
    assert listed[:9] == ["check", "sync", "demo", "daemon", "review", "approve", "discard", "explain", "users"]
    assert listed[9:] == [
        "reconcile",
        "map",
        "status",
        "history",
        "export",
        "console",
        "store",
        "usage",
        "atera",
        "connectwise",
        "autotask",
        "alerts",
    ]


def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.csv"
    rows = ["Acme,1,365 Total Backup,2026-11,MAILBOX,Ann,1.5\n", "Acme,1,365 Total Backup,2026-11,OneDrive,Bo,2.25\n"]
    path.write_text(HEADER + "".join(rows))
    return path


def test_users_imports_no_sync_stack(tmp_path: Path) -> None:
    printed, modules = run(tmp_path, "users", str(report(tmp_path)), "--format", "json")
    assert modules == []
    [acme] = json.loads(printed)
    assert (acme["billed_users"], acme["backup_gb"]) == (2, "3.75")


@pytest.mark.parametrize("where", ["file", "environment"])
def test_users_reads_the_configuration_when_one_applies(tmp_path: Path, where: str) -> None:
    """With a configuration file, or a CONNECTOR_ variable that could override the defaults, `users` loads the
    configuration as every command does (and honours it), rather than taking the defaults."""
    env = {}
    if where == "file":
        (tmp_path / "connector.toml").write_text('[altaro]\nbillable_object_types = ["Mailbox"]\n')
    else:
        env["CONNECTOR_ALTARO__BILLABLE_OBJECT_TYPES"] = '["Mailbox"]'
    printed, modules = run(tmp_path, "users", str(report(tmp_path)), "--format", "json", env=env)
    assert json.loads(printed)[0]["billed_users"] == 1
    assert "connector.core.config" in modules


def test_the_cli_default_config_path_is_the_configurations() -> None:
    assert DEFAULT_CONFIG_PATH == CONFIG_DEFAULT


def test_version_is_answered_before_the_command_line_and_the_registry_load(tmp_path: Path) -> None:
    script = (
        "import json, sys\nfrom connector.cli import main\ncode = main(['--version'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {'providers', 'pydantic'})))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    *printed, modules = done.stdout.strip().splitlines()
    assert printed[-1].startswith("connector ") and json.loads(modules) == []
