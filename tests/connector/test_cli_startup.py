"""Start-up: `connector --version` and `connector users FILE` load no module of the sync stack (issue 14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from connector.cli.options import DEFAULT_CONFIG_PATH
from connector.config import DEFAULT_CONFIG_PATH as CONFIG_DEFAULT

SYNC_STACK = ("connector.operations", "connector.sync", "connector.engine", "connector.store", "sqlite_utils")
SCRIPT = """
import sys
from connector.cli import main
code = main(sys.argv[1:])
print(sorted(m for m in sys.modules if m in {heavy!r} or m.split('.')[0] in {{'apprise', 'pandas'}}))
"""


def loaded(*args: str) -> str:
    """What a command line printed, then (last line) the heavy modules it imported."""
    script = SCRIPT.format(heavy=set(SYNC_STACK) | {"httpx", "pydantic_settings"})
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def test_version_imports_nothing_heavy() -> None:
    assert loaded("--version").splitlines()[-1] == "[]"


def test_users_imports_no_sync_stack(tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    header = "Customer Name,Customer ID,Product,Month,Object Type Backed Up,Object Name,Backed Up Size (GB)\n"
    report.write_text(header + "Acme,1,365 Total Backup,2026-11,MAILBOX,Ann,1.5\n")
    output = loaded("users", str(report), "--format", "json")
    assert '"billed_users": 1' in output
    modules = output.splitlines()[-1]
    assert not [m for m in SYNC_STACK if f"'{m}'" in modules], modules
    assert "apprise" not in modules and "pandas" not in modules


def test_the_cli_default_config_path_is_the_configurations() -> None:
    assert DEFAULT_CONFIG_PATH == CONFIG_DEFAULT
