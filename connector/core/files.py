"""Files a user names (an export, a run report, a log): owner-only (0600) and never written through a symbolic link."""

from __future__ import annotations

import contextlib
import os
import tempfile
from io import TextIOWrapper
from pathlib import Path

# Windows has no O_NOFOLLOW (and a symbolic link there needs privileges to create): nothing to refuse.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def write_private(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` (text as UTF-8, line endings as given), readable by its owner only (or `mode`:
    a file the user edits, such as a mapping file, keeps the mode it had).

    The data goes to a new file beside `path`, created 0600 whatever the umask, and is renamed onto `path` once it is
    on disk: a reader sees the old file or the whole new one, never half of it, and a symbolic link at `path` is
    itself replaced, its target left untouched (a rename never follows a link). Raises OSError, `path` unchanged.
    """
    body = data.encode("utf-8") if isinstance(data, str) else data
    # mkstemp creates with O_EXCL and mode 0600: no one else can have opened or linked the file first.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Put the rename itself on disk, so a crash right after cannot bring the old file back."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # a directory cannot be opened on Windows; the rename is as durable as the system makes it
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def open_private_append(path: Path) -> TextIOWrapper:
    """`path` opened to append UTF-8 text, created 0600 when new. A symbolic link at `path` is never followed: the
    open fails (OSError, ELOOP), so a link planted there cannot make the connector write into another file."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o600)
    return os.fdopen(descriptor, "a", encoding="utf-8")
