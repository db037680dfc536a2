"""Log lines: JSON objects carrying the run id, timestamped unwrapped text off a terminal, secrets masked in both."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.core.errors import ConfigError
from connector.core.logs import configure_logging, current_run_id
from connector.core.redact import register_secret
from connector.store import Store
from connector.wiring import settings_from_data

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


def test_a_new_log_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "connector.log"
    configure_logging(file=log)
    logging.getLogger("connector.test").warning("written")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "written" in log.read_text(encoding="utf-8")


def test_a_log_file_that_is_a_symbolic_link_is_refused_naming_the_setting(tmp_path: Path) -> None:
    target = tmp_path / "not-a-log"
    target.write_text("keep me\n", encoding="utf-8")
    log = tmp_path / "connector.log"
    log.symlink_to(target)
    with pytest.raises(ConfigError, match=r"\[log\] file .*connector\.log.* symbolic link"):
        configure_logging(file=log)
    logging.getLogger("connector.test").warning("never in the target")
    assert target.read_text(encoding="utf-8") == "keep me\n"
