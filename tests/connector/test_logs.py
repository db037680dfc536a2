"""Log lines: JSON objects carrying the run id, timestamped unwrapped text off a terminal, secrets masked in both."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.config import settings_from_data
from connector.logs import configure_logging, current_run_id
from connector.redact import register_secret
from connector.store import Store

SECRET = "sk-live-abcdefghijklmnop1234"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    configure_logging()
    current_run_id.set(None)


def test_a_json_line_parses_and_carries_the_run_id_and_context(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(fmt="json")
    with Store.open(tmp_path / "state.db") as store:
        run_id = store.runs.start("sync")
    logging.getLogger("connector.test").warning("fetched %d rows", 3, extra={"source": "altaro", "customer": "Contoso"})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["run_id"] == run_id
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "connector.test", "fetched 3 rows")
    assert (line["source"], line["customer"]) == ("altaro", "Contoso")
    assert line["timestamp"].endswith("+00:00")


def test_text_off_a_terminal_is_one_timestamped_unwrapped_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    long = "word " * 60
    logging.getLogger("connector.test").error(long.strip())
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err[:4].isdigit() and " ERROR   connector.test: word word" in err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_masked_in_every_format(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register_secret(SECRET)
    configure_logging(file=tmp_path / "log.txt", fmt=fmt)  # type: ignore[arg-type]
    logging.getLogger("connector.test").error("called https://x.example/report?api_key=%s", SECRET)
    assert SECRET not in capsys.readouterr().err
    assert SECRET not in (tmp_path / "log.txt").read_text()


def test_the_log_format_is_a_setting() -> None:
    assert settings_from_data({"log": {"format": "json"}}).log.format == "json"
    assert settings_from_data({}).log.format == "text"
