"""Keeps every secret the process has seen out of logs, errors, reports and the store."""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any
from urllib.parse import quote

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
# The forms of every secret, computed once per registration rather than once per string redacted: the store
# redacts hundreds of thousands of strings in a large run. None until the first use after a registration.
_forms: tuple[list[str], list[str]] | None = None
# Words that may start a credential header; JSON never escapes them, so their absence from a JSON text is final.
# The last four: the non-ASCII letters an ignore-case pattern takes for i, s or k, as JSON escapes them.
_HEADER_WORDS = ("x-api-key", "authorization", "\\u0130", "\\u0131", "\\u017f", "\\u212a")
# Header values that carry credentials, whatever the secret registry knows.
_HEADER_PATTERN = re.compile(r"(?i)((?:x-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',}]+")
_HEADER_PATTERN_BYTES = re.compile(_HEADER_PATTERN.pattern.encode())


def register_secret(value: str | None) -> None:
    """Remember a secret so that every later `redact` call masks it."""
    # Very short values would mask ordinary words; nobody issues keys that short.
    global _forms
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)
            _forms = None


def _cached_forms() -> tuple[list[str], list[str]]:
    """Every registered secret as it may be written (as is, URL-encoded, JSON-escaped; longest first), and each of
    those forms as it reads inside a JSON string (what `to_json`'s text holds)."""
    global _forms
    with _lock:
        if _forms is None:
            escaped = {json.dumps(s)[1:-1] for s in _secrets}
            # Some encoders escape "/" in JSON strings as well; a key with a slash would slip past the plain form.
            forms = _secrets | escaped | {e.replace("/", "\\/") for e in escaped}
            forms |= {quote(s, safe="") for s in _secrets}
            known = sorted(forms, key=len, reverse=True)
            _forms = (known, [json.dumps(f)[1:-1] for f in known])
        return _forms


def json_may_hold_secret(text: str) -> bool:
    """Whether `redact_data` could change anything in the value `text` was dumped from (`json.dumps`, ASCII).

    Conservative: JSON escapes each character on its own, so a string holding a secret's form puts that form,
    escaped, in the text; and a credential header's name is never escaped. False lets a caller skip the walk.
    """
    lowered = text.casefold()
    if any(word in lowered for word in _HEADER_WORDS):
        return True
    return any(form in text for form in _cached_forms()[1])


def redact(text: str) -> str:
    """Mask registered secrets and credential headers in free text."""
    for secret in _cached_forms()[0]:
        if secret in text:
            text = text.replace(secret, MASK)
    return _HEADER_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{MASK}", text)


def redact_bytes(data: bytes) -> bytes:
    """Mask registered secrets and credential headers in a raw body, as `redact` does in text.

    Matched as UTF-8, the encoding a key is sent in; the rest of the body is left byte for byte as it was, so a
    stored report still parses as the one received.
    """
    mask = MASK.encode()
    for secret in _cached_forms()[0]:
        encoded = secret.encode()
        if encoded in data:
            data = data.replace(encoded, mask)
    return _HEADER_PATTERN_BYTES.sub(lambda m: m.group(1) + (m.group(2) or b"") + mask, data)


def redact_data(value: Any) -> Any:
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
