"""Keeps every secret the process has seen out of logs, errors, reports and the store."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
# Header values that carry credentials, whatever the secret registry knows.
_HEADER_PATTERN = re.compile(r"(?i)((?:x-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',}]+")


def register_secret(value: str | None) -> None:
    """Remember a secret so that every later `redact` call masks it."""
    # Very short values would mask ordinary words; nobody issues keys that short.
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Mask registered secrets and credential headers in free text."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return _HEADER_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{MASK}", text)


def redact_data(value: Any) -> Any:
    """Redact every string inside a JSON-like structure."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that renders each record once and masks secrets in the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatted tracebacks include exception messages; render them now so they pass the mask too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
