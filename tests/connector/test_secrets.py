"""Secrets come from the environment or a file, and never reach output, logs, errors or the store."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app, main
from connector.core.errors import ConfigError
from connector.core.redact import RedactingFilter, redact
from connector.core.secrets import SecretRef
from connector.store import Store
from connector.wiring import load_settings
from mappings.lines import Line

SECRET = "sk-live-7f3c9a1e55b04d2c8e1f"


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CONNECTOR_KEY", f"  {SECRET}\n")
    assert SecretRef(env="TEST_CONNECTOR_KEY").secret().get_secret_value() == SECRET


def test_secret_from_file(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(SECRET + "\n")
    assert SecretRef(file=path).secret().get_secret_value() == SECRET


def test_unreadable_secret_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_CONNECTOR_MISSING", raising=False)
    with pytest.raises(ConfigError, match=r"atera.api_key: environment variable TEST_CONNECTOR_MISSING is not set"):
        SecretRef(env="TEST_CONNECTOR_MISSING").secret("atera.api_key")
    with pytest.raises(ConfigError, match=r"axcient.password: cannot read secret file"):
        SecretRef(file=tmp_path / "absent").secret("axcient.password")


def test_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one of env"):
        SecretRef(env="A", file=Path("/x"))


def test_inline_secret_is_masked_everywhere(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(
        f'[store]\npath = "state.db"\n[atera]\nenabled = true\napi_key = "{SECRET}"\n'
        '[[customers]]\npsa_customer = "A"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert '"atera.api_key"' in result.output

    settings = load_settings(config)
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())

    logger = logging.getLogger("test.secrets")
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.error("request failed with header X-API-KEY: %s and body %s", SECRET, {"key": SECRET})
        try:
            raise RuntimeError(f"vendor said no to {SECRET}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert SECRET not in caplog.text
    assert "***" in caplog.text

    with Store.open(settings.store.path) as store:
        run = store.runs.start(f"sync --key {SECRET}")
        store.runs.finish(run, "failed", {"error": f"401 for {SECRET}"})
        store.runs.audit("push", "A", {"header": f"Authorization: Bearer {SECRET}"})
        line = Line("A", "C", "2026-11", "m", Decimal(1), "user", Decimal(1), Decimal(1), inputs={"note": SECRET})
        store.outbox.stage(line, None)
        store.outbox.mark_failed(line.identity, f"rejected key {SECRET}")
        fetch = store.ledger.reserve("altaro", "link", __import__("datetime").timedelta(0))
        assert not isinstance(fetch, type(None))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert SECRET.encode() not in raw


def test_credential_headers_are_masked_even_when_unregistered() -> None:
    text = redact("headers: {'X-API-KEY': 'abc123unknown', 'Authorization': 'Bearer eyJunknown.token'}")
    assert "abc123unknown" not in text and "eyJunknown.token" not in text


def test_a_secret_file_every_user_can_read_is_a_warning_and_strict_makes_it_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "atera.key"
    key.write_text(SECRET + "\n")
    key.chmod(0o644)
    config = tmp_path / "connector.toml"
    config.write_text(f'[atera]\nenabled = true\napi_key = {{ file = "{key}" }}\n', encoding="utf-8")

    assert main(["check", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert (
        f"warning: atera.api_key: secret file {key} can be read by every user (mode 0644): run chmod o-rwx {key}" in err
    )
    assert main(["check", "--strict", "--config", str(config)]) == 2
    assert "atera.api_key" in capsys.readouterr().err

    key.chmod(0o640)  # a service group may share the key: only other users are refused
    assert main(["check", "--strict", "--config", str(config)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_reading_an_exposed_secret_file_logs_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = tmp_path / "axcient.password"
    key.write_text(SECRET)
    key.chmod(0o666)
    with caplog.at_level(logging.WARNING):
        assert SecretRef(file=key).secret("axcient.password").get_secret_value() == SECRET
    assert f"axcient.password: secret file {key} can be read and written by every user (mode 0666)" in caplog.text


def test_an_inline_secret_in_a_configuration_file_every_user_can_read_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(f'[atera]\nenabled = true\napi_key = "{SECRET}"\n', encoding="utf-8")
    config.chmod(0o644)
    assert main(["check", "--strict", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"atera.api_key: given inline in {config}, a file that can be read by every user (mode 0644)" in err
    assert SECRET not in err
    config.chmod(0o600)
    assert main(["check", "--strict", "--config", str(config)]) == 0


def test_a_secret_file_is_read_again_at_each_use(tmp_path: Path) -> None:
    # The daemon keeps one configuration for weeks: a key file fixed meanwhile is used at the next cycle.
    key = tmp_path / "atera.key"
    key.write_text("old-key-0a1b2c\n")
    ref = SecretRef(file=key)
    assert ref.secret("atera.api_key").get_secret_value() == "old-key-0a1b2c"
    key.write_text(SECRET + "\n")
    assert ref.secret("atera.api_key").get_secret_value() == SECRET
    assert redact(f"key {SECRET}") == "key ***"  # the new key is masked like the first
    key.unlink()
    with pytest.raises(ConfigError, match=r"atera\.api_key: cannot read secret file"):
        ref.secret("atera.api_key")


def test_an_exposed_secret_file_read_at_each_cycle_is_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = tmp_path / "atera.key"
    key.write_text(SECRET)
    key.chmod(0o644)
    ref = SecretRef(file=key)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            ref.secret("atera.api_key")
    assert caplog.text.count("can be read by every user") == 1
