"""The shipped systemd unit: hardened, secrets as credentials the configuration can read, the daemon command the CLI
has; `systemd-analyze verify` checks its syntax where systemd is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

import pytest

from connector.cli import main

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "deploy" / "backup-billing-connector.service"


def service() -> dict[str, list[str]]:
    """[Service] as key -> every value given (systemd keys repeat: LoadCredential=)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def credentials() -> dict[str, str]:
    """Credential id -> the file systemd reads it from."""
    return dict(value.split(":", 1) for value in service().get("LoadCredential", []))


def test_the_unit_is_hardened_and_restarts_on_failure() -> None:
    given = {key: values[-1] for key, values in service().items()}
    assert given.get("DynamicUser") == "yes" or given.get("User") not in (None, "root", "0")
    assert given["ProtectSystem"] == "strict" and given["ProtectHome"] == "true"
    assert given["NoNewPrivileges"] == "true" and given["PrivateTmp"] == "true"
    assert given["StateDirectory"] == "backup-billing-connector" and given["StateDirectoryMode"] == "0700"
    assert given["Restart"] == "on-failure" and given["CapabilityBoundingSet"] == ""
    assert "EnvironmentFile" not in given  # secrets are credentials, not environment a child process inherits


def test_every_secret_is_a_credential_the_configuration_reads_from_the_credentials_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded = credentials()
    assert set(loaded) == {"atera.key", "axcient.key", "altaro.key"}
    assert all(path.startswith("/etc/backup-billing-connector/credentials/") for path in loaded.values())
    # The unit's comments show the configuration lines; each names a credential the unit loads.
    text = UNIT.read_text(encoding="utf-8")
    named = re.findall(r"\$\{CREDENTIALS_DIRECTORY\}/([\w.]+)", text)
    assert set(named) >= set(loaded)
    # What systemd gives the service: one file per credential id in $CREDENTIALS_DIRECTORY.
    directory = tmp_path / "credentials"
    directory.mkdir()
    for number, name in enumerate(loaded, start=1):
        (directory / name).write_text(f"credential-value-{number}-5e0c9a\n", encoding="utf-8")
        (directory / name).chmod(0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    config = tmp_path / "connector.toml"
    config.write_text(
        '[altaro]\nenabled = true\n[[altaro.links]]\nname = "all"\nurl = "https://example.invalid/report"\n'
        'api_key = { file = "${CREDENTIALS_DIRECTORY}/altaro.key" }\n'
        '[axcient]\nenabled = true\nbase_url = "https://example.invalid"\nusername = "partner-api"\n'
        'password = { file = "${CREDENTIALS_DIRECTORY}/axcient.key" }\n'
        '[atera]\nenabled = true\napi_key = { file = "${CREDENTIALS_DIRECTORY}/atera.key" }\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    assert main(["check", "--strict", "--config", str(config)]) == 0, capsys.readouterr().err


def test_execstart_is_the_daemon_command_with_options_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    (command,) = service()["ExecStart"]
    program, subcommand, *options = command.split()
    assert program.endswith("/connector") and subcommand == "daemon"
    assert main(["daemon", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert all(option in help_text for option in options if option.startswith("--"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze on this machine")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # verify insists the program exists: point ExecStart at this environment's connector for the check.
    connector = Path(sys.executable).parent / "connector"
    if not connector.exists():
        pytest.skip("the connector script is not installed beside this interpreter")
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/usr/local/bin/connector", str(connector)))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_the_unit_parses_as_ini_with_the_three_sections() -> None:
    parser = ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    assert parser.sections() == ["Unit", "Service", "Install"]
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_systemctl_reload_sends_the_daemon_sighup() -> None:
    # The daemon reloads its configuration on SIGHUP (a valid one only); `systemctl reload` is how an operator asks.
    assert service()["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
