"""A secret named in configuration: read from an environment variable, a file, or (discouraged) inline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr, model_validator

from connector.errors import ConfigError
from connector.redact import register_secret


class SecretRef(BaseModel):
    """Where a secret lives. `api_key = { env = "ATERA_API_KEY" }`, `{ file = "/etc/connector/atera.key" }`.

    A bare string is taken as the secret itself; that works, but keeps a credential in the TOML file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: Path | None = None
    value: SecretStr | None = None
    _cached: SecretStr | None = PrivateAttr(default=None)

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
            self.secret(key)
        except ConfigError as error:
            return str(error)
        return None

    def secret(self, key: str = "secret") -> SecretStr:
        """The secret, read once; a missing source is a ConfigError naming `key` and the source."""
        if self._cached is not None:
            return self._cached
        if self.value is not None:
            found = self.value
        elif self.env is not None:
            raw = os.environ.get(self.env)
            if not raw:
                raise ConfigError(f"{key}: environment variable {self.env} is not set or empty")
            found = SecretStr(raw.strip())
        else:
            assert self.file is not None
            try:
                text = self.file.expanduser().read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(f"{key}: cannot read secret file {self.file}: {error.strerror}") from None
            if not text:
                raise ConfigError(f"{key}: secret file {self.file} is empty")
            found = SecretStr(text)
        register_secret(found.get_secret_value())
        self._cached = found
        return found
