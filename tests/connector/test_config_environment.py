"""Environment overrides: an error in one names the variable, never the file, and never shows its value."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.cli import main
from connector.core.errors import ConfigError
from connector.wiring import load_settings

VALUE = "sk-live-0c2d9e7f41a84b6b"  # may be a secret: never printed


def check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str = "[http]\nmax_attempts = 3\n"
) -> tuple[int, str]:
    config = tmp_path / "connector.toml"
    config.write_text(toml, encoding="utf-8")
    code = main(["check", "--config", str(config)])
    return code, capsys.readouterr().err


def test_a_bad_override_names_the_variable_not_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECTOR_HTTP__MAX_ATTEMPTS", VALUE)
    code, err = check(tmp_path, capsys)
    assert code == 2
    assert "error: environment variable CONNECTOR_HTTP__MAX_ATTEMPTS: Input should be a valid integer" in err
    assert "connector.toml" not in err
    assert VALUE not in err


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CONNECTOR_HTTP__TIMEOUT_SECS", "3", "environment variable CONNECTOR_HTTP__TIMEOUT_SECS: unknown key"),
        ("connector_log__level", VALUE, "environment variable connector_log__level: Input should be 'DEBUG'"),
        (
            "CONNECTOR_HTTP",
            f'{{"max_attempts": "{VALUE}"}}',
            "environment variable CONNECTOR_HTTP: max_attempts: Input should be a valid integer",
        ),
        (
            "CONNECTOR_CUSTOMERS",
            "[{}]",
            "environment variable CONNECTOR_CUSTOMERS: [0].psa_customer: Field required",
        ),
        (
            "CONNECTOR_CUSTOMERS",
            '[{"psa_customer": "A", "altaro": "A"}, {"psa_customer": "a", "altaro": "B"}]',
            "environment variable CONNECTOR_CUSTOMERS: customers[0] and customers[1]: both map PSA customer 'A'",
        ),
        (
            "CONNECTOR_CUSTOMERS",
            VALUE,
            "environment variable CONNECTOR_CUSTOMERS: not valid JSON (a list or table set from the environment is "
            "written as JSON)",
        ),
        ("CONNECTOR_ALTARO__LINKS", VALUE, "environment variable CONNECTOR_ALTARO__LINKS: not valid JSON"),
        (
            "CONNECTOR_HTTP_MAX_ATTEMPTS",
            "3",
            "environment variable CONNECTOR_HTTP_MAX_ATTEMPTS: no such setting (CONNECTOR_<SECTION>__<KEY>, e.g. "
            "CONNECTOR_LOG__LEVEL)",
        ),
    ],
)
def test_every_kind_of_bad_override_names_its_variable(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(name, value)
    code, err = check(tmp_path, capsys)
    assert code == 2, err
    assert expected in err
    assert "connector.toml" not in err and VALUE not in err and "Traceback" not in err


def test_a_bad_value_in_the_file_is_still_the_files_when_the_environment_sets_the_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "connector.toml"
    config.write_text('[http]\nmax_attempts = "lots"\n', encoding="utf-8")
    monkeypatch.setenv("CONNECTOR_HTTP", '{"timeout_seconds": 5}')
    monkeypatch.setenv("CONNECTOR_HTTP__BACKOFF_MAX_SECONDS", "9")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert (
        str(caught.value)
        == f"{config}: http.max_attempts: Input should be a valid integer, unable to parse string as an integer"
    )


def test_the_cli_s_own_variable_is_not_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "connector.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("CONNECTOR_CONFIG", str(config))
    assert main(["check"]) == 0
