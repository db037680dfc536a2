"""A store path the connector cannot use ends the command with exit 4 and a message naming the path and the fix."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from connector.cli import main
from connector.core.errors import StoreError
from connector.store import Store


def config_with_store(directory: Path, store: str) -> Path:
    config = directory / "connector.toml"
    config.write_text(f'[store]\npath = "{store}"\n', encoding="utf-8")
    return config


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", [["sync", "--dry-run"], ["sync"], ["review"]])
def test_a_directory_as_the_store_exits_4_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    (tmp_path / "state").mkdir()
    config = config_with_store(tmp_path, "state")
    code, err = run(capsys, *command, "--config", str(config))
    assert code == 4, err
    assert f"{tmp_path / 'state'} is a directory" in err
    assert "store.path" in err and "unexpected" not in err


def test_a_store_under_a_file_exits_4_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain").write_text("not a directory")
    config = config_with_store(tmp_path, "plain/state.db")
    code, err = run(capsys, "sync", "--dry-run", "--config", str(config))
    assert code == 4, err
    assert f"{tmp_path / 'plain'} is not a directory" in err and "store.path" in err


def test_a_lock_file_that_cannot_be_opened_exits_4_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "state.db.lock").mkdir()
    config = config_with_store(tmp_path, "state.db")
    code, err = run(capsys, "sync", "--dry-run", "--config", str(config))
    assert code == 4, err
    assert f"sync lock {tmp_path / 'state.db.lock'}" in err and "is a directory" in err


def test_a_file_that_is_not_a_database_exits_4_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "state.db").write_bytes(b"certainly not SQLite " * 100)
    config = config_with_store(tmp_path, "state.db")
    code, err = run(capsys, "review", "--config", str(config))
    assert code == 4, err
    assert str(tmp_path / "state.db") in err and "not a database" in err


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
        (OSError(errno.EROFS, "Read-only file system"), "Read-only file system"),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
    ],
)
def test_every_os_error_creating_the_store_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, says: str
) -> None:
    # Tests may run as root, which no file mode stops: the operating system's refusal is simulated instead.
    def refuse(*args: object, **kwargs: object) -> int:
        raise error

    monkeypatch.setattr(os, "open", refuse)
    path = tmp_path / "state.db"
    with pytest.raises(StoreError, match=r"store\.path") as raised:
        Store.open(path)
    assert str(path) in str(raised.value) and says in str(raised.value)


def test_every_os_error_opening_the_lock_file_is_a_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(tmp_path / "state.db") as store:

        def refuse(*args: object, **kwargs: object) -> object:
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr("builtins.open", refuse)
        with pytest.raises(StoreError, match=r"sync lock .*state\.db\.lock.*permission denied"):
            store.acquire_sync_lock()


def test_a_store_that_refuses_a_write_is_a_store_error(tmp_path: Path) -> None:
    with Store.open(tmp_path / "state.db") as store:
        store.db.execute("PRAGMA query_only = ON")  # what a read-only file or a full disk look like to a write
        with pytest.raises(StoreError, match=r"state\.db: attempt to write a readonly database: check the disk"):
            store.runs.audit("check", "store", {})
        store.db.execute("PRAGMA query_only = OFF")
        store.runs.audit("check", "store", {})  # the failed write left no transaction open
        assert [event["event"] for event in store.runs.audit_events()] == ["check"]
