"""A secret named in configuration: read from an environment variable, a file, or (discouraged) inline."""

from __future__ import annotations

import logging
import os
import re
import shlex
import stat
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr, model_validator

from connector.core.errors import ConfigError
from connector.core.redact import register_secret

log = logging.getLogger(__name__)


def open_to_others(path: Path, *, written: bool = True) -> str | None:
    """What every user on the machine may do with `path` ("can be read by every user (mode 0644)"), or None.

    Written matters for a secret file (another user could swap the key); `written=False` asks about reading only.
    """
    try:
        mode = stat.S_IMODE(path.expanduser().stat().st_mode)
    except OSError:
        return None  # reading it reports that
    # Group access is left alone: a key shared with the service's group (0640) is a deliberate setup.
    bits = (("read", stat.S_IROTH), ("written", stat.S_IWOTH if written else 0))
    may = [verb for verb, bit in bits if mode & bit]
    return f"can be {' and '.join(may)} by every user (mode {mode:04o})" if may else None


# `${NAME}` or `$NAME` in a secret file's path: systemd's LoadCredential= puts each credential under
# $CREDENTIALS_DIRECTORY, whose path differs per service and per systemd version, so the configuration names the
# variable rather than the directory.
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_path(path: Path, key: str = "secret") -> Path:
    """A secret file's path with its environment variables and `~` filled in; a variable not set is a ConfigError."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        found = os.environ.get(name)
        if not found:
            why = " (systemd sets it for a service with LoadCredential=)" if name == "CREDENTIALS_DIRECTORY" else ""
            raise ConfigError(f"{key}: secret file {path}: environment variable {name} is not set{why}")
        return found

    return Path(_VARIABLE.sub(value, str(path))).expanduser()


def chmod_hint(path: Path) -> str:
    """The command that takes other users' access away."""
    return f"chmod o-rwx {shlex.quote(str(path))}"


class SecretRef(BaseModel):
    """Where a secret lives. `api_key = { env = "PSA_API_KEY" }`, `{ file = "/etc/connector/psa.key" }`,
    `{ file = "${CREDENTIALS_DIRECTORY}/psa.key" }` (a systemd credential).

    A bare string is taken as the secret itself; that works, but keeps a credential in the TOML file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: Path | None = None
    value: SecretStr | None = None
    # The last value read and the last exposure warned about: a file is read at every use, but a value is registered
    # for redaction, and an exposure warned about, once until it changes.
    _last: SecretStr | None = PrivateAttr(default=None)
    _warned: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _bare_string_is_a_value(cls, data: Any) -> Any:
        if isinstance(data, str | SecretStr):
            return {"value": data}
        return data

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SecretRef:
        given = [name for name in ("env", "file", "value") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of env (variable name), file (path) or value")
        if self.value is not None:
            register_secret(self.value.get_secret_value())
        return self

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        if self.env is not None:
            return f"environment variable {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        return "inline value in the configuration file"

    def problem(self, key: str = "secret") -> str | None:
        """Why the secret cannot be read right now, or None when it can."""
        try:
            self._read(key)
        except ConfigError as error:
            return str(error)
        return None

    def exposure(self, key: str = "secret") -> str | None:
        """Why other users could read (or replace) the secret's file, with the command that fixes it; or None."""
        if self.file is None:
            return None
        try:
            path = expand_path(self.file, key)
        except ConfigError:
            return None  # reading it reports that
        if (found := open_to_others(path)) is None:
            return None
        return f"{key}: secret file {path} {found}: run {chmod_hint(path)}"

    def secret(self, key: str = "secret") -> SecretStr:
        """The secret as its source holds it now; a missing source is a ConfigError naming `key` and the source.

        A file is read at every use, not once: the daemon keeps its configuration for weeks, and a key file fixed
        meanwhile must be used by the next cycle without a restart.
        """
        exposure = self.exposure(key)
        if exposure and exposure != self._warned:
            # Said where the secret is used (sync, daemon), not only by `connector check`; once, not every cycle.
            log.warning("%s", exposure)
        self._warned = exposure
        return self._read(key)

    def _read(self, key: str) -> SecretStr:
        if self.value is not None:
            found = self.value
        elif self.env is not None:
            raw = os.environ.get(self.env)
            if not raw:
                raise ConfigError(f"{key}: environment variable {self.env} is not set or empty")
            found = SecretStr(raw.strip())
        else:
            assert self.file is not None
            path = expand_path(self.file, key)
            try:
                text = path.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(f"{key}: cannot read secret file {self.file}: {error.strerror}") from None
            if not text:
                raise ConfigError(f"{key}: secret file {self.file} is empty")
            found = SecretStr(text)
        if found != self._last:
            # A key changed in its file is masked from now on too (the old one stays masked).
            register_secret(found.get_secret_value())
            self._last = found
        return found
