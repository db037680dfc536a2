"""Files a user names: written whole and owner-only, never through a symbolic link (`connector.core.files`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from connector.core.files import open_private_append, write_private
from connector.mapping.mapfile import write as write_mapping_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_new_file_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    old = os.umask(0o022)
    try:
        write_private(target, "a,b\r\n1,2\r\n")
    finally:
        os.umask(old)
    assert _mode(target) == 0o600
    assert target.read_bytes() == b"a,b\r\n1,2\r\n"  # line endings as given
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left


def test_a_symbolic_link_is_replaced_and_its_target_kept(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    write_private(link, b"new")
    assert not link.is_symlink() and link.read_bytes() == b"new" and _mode(link) == 0o600
    assert target.read_text(encoding="utf-8") == "keep me"


def test_an_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("a much longer old content", encoding="utf-8")
    target.chmod(0o644)
    write_private(target, "{}\n")
    assert target.read_text(encoding="utf-8") == "{}\n" and _mode(target) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()  # a directory where the file would go: the rename fails
    with pytest.raises(OSError):
        write_private(tmp_path / "out", "text")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and (tmp_path / "out").is_dir()


def test_appending_creates_an_owner_only_file_and_keeps_what_was_there(tmp_path: Path) -> None:
    log = tmp_path / "connector.log"
    with open_private_append(log) as file:
        file.write("one\n")
    with open_private_append(log) as file:
        file.write("two\n")
    assert log.read_text(encoding="utf-8") == "one\ntwo\n" and _mode(log) == 0o600


def test_appending_never_follows_a_symbolic_link(tmp_path: Path) -> None:
    target = tmp_path / "passwd"
    target.write_text("root\n", encoding="utf-8")
    link = tmp_path / "connector.log"
    link.symlink_to(target)
    with pytest.raises(OSError):
        open_private_append(link)
    dangling = tmp_path / "dangling.log"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OSError):
        open_private_append(dangling)
    assert target.read_text(encoding="utf-8") == "root\n" and not (tmp_path / "nowhere").exists()


def test_a_mapping_file_written_over_keeps_its_mode_a_backup_and_its_link_target(tmp_path: Path) -> None:
    shared = tmp_path / "shared.toml"
    shared.write_text("# the team's file\n", encoding="utf-8")
    shared.chmod(0o640)
    link = tmp_path / "mappings.toml"
    link.symlink_to(shared)
    backup = write_mapping_file(link, "# merged\n")
    assert backup == tmp_path / "mappings.toml.bak" and backup.read_text(encoding="utf-8") == "# the team's file\n"
    assert not link.is_symlink() and link.read_text(encoding="utf-8") == "# merged\n" and _mode(link) == 0o640
    assert shared.read_text(encoding="utf-8") == "# the team's file\n"  # never written through the link
    assert write_mapping_file(tmp_path / "new.toml", "# new\n") is None and _mode(tmp_path / "new.toml") == 0o600
