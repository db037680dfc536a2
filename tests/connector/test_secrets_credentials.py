"""A secret file's path may name environment variables: systemd's LoadCredential= puts each secret under
$CREDENTIALS_DIRECTORY, and the configuration points there."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.cli import main
from connector.core.errors import ConfigError
from connector.core.secrets import SecretRef

SECRET = "credential-9f3b2c71e0"


def _credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "credentials"
    directory.mkdir(mode=0o700)
    (directory / "atera.key").write_text(SECRET + "\n", encoding="utf-8")
    (directory / "atera.key").chmod(0o400)  # what systemd gives the service: its user may read, nobody else
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    return directory


@pytest.mark.parametrize("spelled", ["${CREDENTIALS_DIRECTORY}/atera.key", "$CREDENTIALS_DIRECTORY/atera.key"])
def test_a_secret_file_under_the_credentials_directory_is_read(
    spelled: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _credentials(tmp_path, monkeypatch)
    ref = SecretRef(file=Path(spelled))
    assert ref.secret("atera.api_key").get_secret_value() == SECRET
    assert ref.describe() == f"file {spelled}"  # the configured spelling, not the resolved directory
    assert ref.exposure("atera.api_key") is None


def test_outside_systemd_the_missing_variable_is_named_with_what_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    ref = SecretRef(file=Path("${CREDENTIALS_DIRECTORY}/atera.key"))
    with pytest.raises(ConfigError, match=r"atera.api_key: .*CREDENTIALS_DIRECTORY is not set \(systemd sets it .*"):
        ref.secret("atera.api_key")
    assert ref.exposure("atera.api_key") is None  # reading reports it; no second message


def test_check_strict_accepts_a_configuration_using_systemd_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(
        '[atera]\nenabled = true\napi_key = { file = "${CREDENTIALS_DIRECTORY}/atera.key" }\n', encoding="utf-8"
    )
    config.chmod(0o600)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert main(["check", "--strict", "--config", str(config)]) == 2
    assert "CREDENTIALS_DIRECTORY is not set" in capsys.readouterr().err
    _credentials(tmp_path, monkeypatch)
    assert main(["check", "--strict", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
