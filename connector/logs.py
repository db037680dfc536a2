"""Logging set-up: readable lines on stderr, an optional file, and every record passed through the secret mask."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from connector.redact import RedactingFilter


def configure_logging(level: str = "INFO", file: Path | None = None, *, verbose: bool = False) -> None:
    root = logging.getLogger()
    # Replace only what an earlier call installed: handlers owned by the host (pytest's caplog) stay.
    for handler in [h for h in root.handlers if getattr(h, "_connector", False)]:
        root.removeHandler(handler)
    console = RichHandler(
        console=Console(stderr=True),
        show_path=False,
        rich_tracebacks=verbose,
        markup=False,
        show_time=verbose,
    )
    console.addFilter(RedactingFilter())
    _install(root, console)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(file, encoding="utf-8")
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        to_file.addFilter(RedactingFilter())
        _install(root, to_file)
    root.setLevel("DEBUG" if verbose else level)
    # httpx logs full URLs (report links may carry tokens) at INFO; our own hooks log safe URLs instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def _install(root: logging.Logger, handler: logging.Handler) -> None:
    handler._connector = True  # type: ignore[attr-defined]
    root.addHandler(handler)
