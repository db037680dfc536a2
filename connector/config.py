"""Configuration: one TOML file plus `CONNECTOR_…` environment overrides, validated with pydantic-settings."""

from __future__ import annotations

import logging
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from connector.errors import ConfigError
from connector.http import HttpSettings
from connector.review import ReviewSettings
from connector.secrets import SecretRef
from mappings.customer import CustomerMapping
from providers.altaro.settings import AltaroSettings
from providers.atera.settings import AteraSettings
from providers.axcient.settings import AxcientSettings

DEFAULT_CONFIG_PATH = Path("connector.toml")
ENV_PREFIX = "CONNECTOR_"

log = logging.getLogger(__name__)


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Field(default=Path("connector-state.db"), description="SQLite state store, created 0600")


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path | None = None


class IgnoredCustomer(BaseModel):
    """A vendor customer you deliberately do not bill (your own tenant, a free pilot): no 'unmapped' error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["altaro", "axcient"]
    customer: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class Settings(BaseSettings):
    """The whole configuration. Precedence: environment (CONNECTOR_SECTION__KEY) over the TOML file over defaults."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        nested_model_default_partial_update=True,
    )
    toml_path: ClassVar[Path | None] = None

    store: StoreSettings = Field(default_factory=StoreSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    altaro: AltaroSettings = Field(default_factory=AltaroSettings)
    axcient: AxcientSettings = Field(default_factory=AxcientSettings)
    atera: AteraSettings = Field(default_factory=AteraSettings)
    customers: list[CustomerMapping] = Field(default_factory=list)
    ignored_customers: list[IgnoredCustomer] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)

    @model_validator(mode="after")
    def _mappings_are_unambiguous(self) -> Settings:
        names = Counter(c.psa_customer.casefold() for c in self.customers)
        twice = sorted(name for name, count in names.items() if count > 1)
        if twice:
            raise ValueError(f"customers: PSA customer mapped more than once: {', '.join(twice)}")
        for source in ("altaro", "axcient"):
            vendor = Counter(name.casefold() for c in self.customers if (name := c.vendor_customer(source)) is not None)
            twice = sorted(name for name, count in vendor.items() if count > 1)
            if twice:
                raise ValueError(
                    f"customers: {source}_customer mapped to more than one PSA customer: {', '.join(twice)}"
                )
        for index, customer in enumerate(self.customers):
            seen: set[tuple[str, str]] = set()
            for line in customer.lines:
                key = (line.contract.casefold(), line.metric.value)
                if key in seen:
                    raise ValueError(
                        f"customers[{index}] ({customer.psa_customer}): {line.metric.value} mapped twice "
                        f"onto contract {line.contract!r}"
                    )
                seen.add(key)
        return self

    def secrets(self) -> dict[str, SecretRef]:
        """Every secret the enabled parts of the configuration need, by key path."""
        found: dict[str, SecretRef] = {}
        if self.altaro.enabled:
            for index, link in enumerate(self.altaro.links):
                found[f"altaro.links[{index}].api_key"] = link.api_key
        if self.axcient.enabled and self.axcient.password is not None:
            found["axcient.password"] = self.axcient.password
        if self.atera.enabled and self.atera.api_key is not None:
            found["atera.api_key"] = self.atera.api_key
        return found


def _key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def describe_validation_error(source: str, error: ValidationError) -> str:
    """One line per problem: `file: key.path: what is expected`. Input values are never shown (they may be secrets)."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        # pydantic adds the failing union member or validator name to the location; operators need the key only.
        location = tuple(p for p in item["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and section)"
        lines.append(f"{source}: {_key_path(location)}: {message}")
    return "\n".join(lines)


def load_settings(path: Path | None = None, *, required: bool = True) -> Settings:
    """Read and validate the configuration; every problem becomes a ConfigError that names file and key."""
    config_path = path or DEFAULT_CONFIG_PATH
    if not config_path.exists():
        if required:
            raise ConfigError(
                f"{config_path}: configuration file not found; copy config.example.toml to {config_path} "
                "or pass --config PATH"
            )
        bound: type[Settings] = type("FileLessSettings", (Settings,), {"toml_path": None})
    else:
        try:
            tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{config_path}: not valid TOML: {error}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{config_path}: cannot read: {error}") from None
        bound = type("FileSettings", (Settings,), {"toml_path": config_path})
    try:
        settings = bound()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(str(config_path), error)) from None
    _resolve_relative_paths(settings, config_path)
    return settings


def _resolve_relative_paths(settings: Settings, config_path: Path) -> None:
    # A relative store path is relative to the configuration file, so a daemon started elsewhere finds the same store.
    if not settings.store.path.is_absolute() and str(settings.store.path) != ":memory:":
        object.__setattr__(settings.store, "path", (config_path.parent / settings.store.path).resolve())


def settings_from_data(data: dict[str, Any], source: str = "<data>") -> Settings:
    """Validate configuration given as a dict (tests, the demo); environment overrides still apply."""
    bound: type[Settings] = type("DataSettings", (Settings,), {"toml_path": None})
    try:
        return bound(**data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(source, error)) from None
