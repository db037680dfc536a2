"""Logging set-up: timestamped text or JSON lines on stderr, an optional file, every record through the secret mask."""

from __future__ import annotations

import errno
import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from io import TextIOWrapper
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.logging import RichHandler

from connector.core.errors import ConfigError
from connector.core.files import open_private_append
from connector.core.redact import RedactingFilter, redact

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# The run being logged for: set when a run starts, so every line of it (the engine's, a provider's) carries its id.
current_run_id: ContextVar[int | None] = ContextVar("current_run_id", default=None)
# Record attributes a JSON line keeps when a caller passes them in `extra=`.
_CONTEXT_FIELDS = ("source", "customer", "cycle")


class RunIdFilter(logging.Filter):
    """Stamps each record with the current run's id (None outside a run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = current_run_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: timestamp, level, logger, run id, source, customer, message (already masked)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "run_id": getattr(record, "run_id", None),
            "message": record.getMessage(),
        }
        data |= {name: getattr(record, name) for name in _CONTEXT_FIELDS if getattr(record, name, None) is not None}
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, default=str, ensure_ascii=False)


def _console(fmt: LogFormat, *, verbose: bool) -> logging.Handler:
    if fmt == "json":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif sys.stderr.isatty():
        handler = RichHandler(
            console=Console(stderr=True),
            show_path=False,
            rich_tracebacks=verbose,
            markup=False,
            show_time=True,
            log_time_format="%Y-%m-%d %H:%M:%S",
        )
    else:
        # Not a terminal (journald, a pipe, a CI log): one unwrapped line per record, kept whole by grep and journald.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(
    level: str = "INFO", file: Path | None = None, *, verbose: bool = False, fmt: LogFormat = "text"
) -> None:
    root = logging.getLogger()
    # Replace only what an earlier call installed: handlers owned by the host (pytest's caplog) stay.
    for handler in [h for h in root.handlers if getattr(h, "_connector", False)]:
        root.removeHandler(handler)
    _install(root, _console(fmt, verbose=verbose))
    if file is not None:
        to_file = _file_handler(file)
        to_file.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
        _install(root, to_file)
    root.setLevel("DEBUG" if verbose else level)
    # httpx logs full URLs (report links may carry tokens) at INFO; our own hooks log safe URLs instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


class PrivateFileHandler(logging.FileHandler):
    """A log file created 0600 (it names customers and runs, like the store) and never opened through a link."""

    def _open(self) -> TextIOWrapper:
        return open_private_append(Path(self.baseFilename))


def _file_handler(file: Path) -> logging.Handler:
    """The `[log] file` handler; a file that cannot be opened is a configuration error naming the setting."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        return PrivateFileHandler(file, encoding="utf-8")
    except OSError as error:
        if error.errno == errno.ELOOP:
            # Appended to for months, the log is opened rather than replaced: a link there is refused, not followed.
            raise ConfigError(
                f"[log] file {file} is a symbolic link: the connector never writes a log through one; "
                "name the file itself"
            ) from None
        raise ConfigError(f"[log] file {file}: cannot open: {error.strerror or error}") from None


def _install(root: logging.Logger, handler: logging.Handler) -> None:
    handler.addFilter(RedactingFilter())
    handler.addFilter(RunIdFilter())
    handler._connector = True  # type: ignore[attr-defined]
    root.addHandler(handler)
