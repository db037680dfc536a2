"""Secrets come from the environment or a file, and never reach output, logs, errors or the store."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.config import load_settings
from connector.errors import ConfigError
from connector.redact import RedactingFilter, redact
from connector.secrets import SecretRef
from connector.store import Store
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
