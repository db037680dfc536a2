"""The store's file: a new store only where none exists; an empty, foreign or damaged file ends in exit 4 with the fix;
`connector store check` and `connector store backup FILE`, and a restore from that backup."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connector.cli import main
from connector.core.errors import StoreError
from connector.store import MIGRATIONS, SCHEMA_VERSION, Store
from mappings.lines import Line, LineIdentity, LineStatus

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
HELD = LineIdentity("Contoso Ltd", "Backup users", "2026-11", "billed_users")


def config_with_store(directory: Path, store: Path) -> Path:
    config = directory / "connector.toml"
    config.write_text(f'[store]\npath = "{store}"\n', encoding="utf-8")
    return config


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def store_with_a_held_line(path: Path) -> None:
    """A store with history: a line held for review (a jump), and its audit."""
    with Store.open(path) as store:
        line = Line(*HELD, quantity=Decimal(40), unit="user", rate=Decimal("3.50"), amount=Decimal(140))
        store.outbox.stage(line, "a jump of 233% needs review", now=T0)
        store.runs.audit("held", HELD.psa_customer, {"quantity": "40"}, now=T0)


def damage(path: Path, table: str) -> None:
    """Overwrite the first page of a table with bytes no SQLite page holds: what a bad disk sector leaves."""
    conn = sqlite3.connect(path)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()
    (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(b"\xff" * size)


def test_the_first_run_creates_the_store_whole_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "state.db"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.db"]


def test_a_store_another_first_run_created_meanwhile_is_the_one_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = tmp_path / "winner.db"
    store_with_a_held_line(winner)
    path = tmp_path / "state.db"

    def created_meanwhile(source: object, target: object) -> None:
        shutil.copyfile(winner, path)
        raise FileExistsError(17, "File exists")

    monkeypatch.setattr(os, "link", created_meanwhile)
    with Store.open(path) as store:
        assert store.outbox.get(HELD) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db", "winner.db"]


def test_a_file_system_without_hard_links_still_gets_its_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("command", [["review"], ["sync", "--dry-run"]])
def test_an_empty_store_file_is_refused_not_taken_for_a_new_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = tmp_path / "state.db"
    store_with_a_held_line(path)
    path.write_bytes(b"")  # truncated: history, audit and outbox gone
    code, _, err = run(capsys, *command, "--config", str(config_with_store(tmp_path, path)))
    assert code == 4, err
    assert f"state store {path} is empty" in err and "connector store backup" in err and "unexpected" not in err
    assert path.read_bytes() == b""  # nothing was created in its place


def test_an_sqlite_file_that_is_not_a_connector_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes (body TEXT)")
    other.commit()
    other.close()
    with pytest.raises(StoreError, match=r"is not a connector store") as raised:
        Store.open(path)
    assert str(path) in str(raised.value) and raised.value.exit_code == 4
    assert sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]


def test_a_store_with_damaged_pages_ends_in_exit_4_with_the_path_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.db"
    store_with_a_held_line(path)
    damage(path, "line_items")
    code, _, err = run(capsys, "review", "--config", str(config_with_store(tmp_path, path)))
    assert code == 4, err
    assert f"state store {path} is damaged" in err and "connector store backup" in err
    assert "unexpected" not in err


def test_store_check_says_ok_for_a_sound_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state.db"
    store_with_a_held_line(path)
    code, out, err = run(capsys, "store", "check", "--config", str(config_with_store(tmp_path, path)))
    assert code == 0, err
    assert f"{path}: ok" in out and f"schema version {SCHEMA_VERSION}" in out


def test_store_check_names_what_is_damaged_and_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state.db"
    store_with_a_held_line(path)
    damage(path, "audit")
    code, _, err = run(capsys, "store", "check", "--config", str(config_with_store(tmp_path, path)))
    assert code == 4, err
    assert f"state store {path} is damaged" in err and "connector store backup" in err


def test_store_check_does_not_upgrade_an_older_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state.db"
    Store.open(path, migrations=MIGRATIONS[:5]).close()
    code, out, err = run(capsys, "store", "check", "--config", str(config_with_store(tmp_path, path)))
    assert code == 0, err
    assert "schema version 5" in out
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (5,)


def test_store_backup_writes_an_owner_only_copy_that_restores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.db"
    store_with_a_held_line(path)
    backup = tmp_path / "backups" / "state-backup.db"
    backup.parent.mkdir()
    config = config_with_store(tmp_path, path)
    code, out, err = run(capsys, "store", "backup", str(backup), "--config", str(config))
    assert code == 0, err
    assert str(backup) in out
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert sorted(p.name for p in backup.parent.iterdir()) == ["state-backup.db"]
    # The store is lost; the restore is a copy of the backup while nothing runs.
    path.write_bytes(b"")
    shutil.copyfile(backup, path)
    with Store.open(path) as store:
        stored = store.outbox.get(HELD)
        assert stored is not None and stored.status is LineStatus.HELD
        assert [event["event"] for event in store.runs.audit_events()] == ["held"]
    assert run(capsys, "store", "check", "--config", str(config))[0] == 0


def test_store_backup_replaces_a_symbolic_link_never_writing_through_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.db"
    store_with_a_held_line(path)
    target = tmp_path / "elsewhere.txt"
    target.write_text("not to be overwritten")
    backup = tmp_path / "backup.db"
    backup.symlink_to(target)
    code, _, err = run(capsys, "store", "backup", str(backup), "--config", str(config_with_store(tmp_path, path)))
    assert code == 0, err
    assert target.read_text() == "not to be overwritten"
    assert not backup.is_symlink() and stat.S_IMODE(backup.stat().st_mode) == 0o600
    with Store.open(backup) as copy:
        assert copy.outbox.get(HELD) is not None


def test_store_backup_copies_an_older_store_as_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The backup taken before an upgrade must be of the store before it: the command migrates nothing.
    path = tmp_path / "state.db"
    Store.open(path, migrations=MIGRATIONS[:7]).close()
    backup = tmp_path / "backup.db"
    code, _, err = run(capsys, "store", "backup", str(backup), "--config", str(config_with_store(tmp_path, path)))
    assert code == 0, err
    for copied in (path, backup):
        assert sqlite3.connect(copied).execute("PRAGMA user_version").fetchone() == (7,)


@pytest.mark.parametrize("content", [b"", b"certainly not SQLite " * 100])
def test_store_backup_refuses_a_file_that_is_no_store_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(content)
    backup = tmp_path / "backup.db"
    code, _, err = run(capsys, "store", "backup", str(backup), "--config", str(config_with_store(tmp_path, path)))
    assert code == 4, err
    assert str(path) in err and not backup.exists()
    assert sorted(os.listdir(tmp_path)) == ["connector.toml", "state.db"]


def test_store_backup_of_a_missing_store_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state.db"
    code, _, err = run(
        capsys, "store", "backup", str(tmp_path / "b.db"), "--config", str(config_with_store(tmp_path, path))
    )
    assert code == 4, err
    assert f"state store {path} does not exist" in err
    assert sorted(os.listdir(tmp_path)) == ["connector.toml"]
