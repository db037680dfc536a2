"""Configuration: one TOML file plus `CONNECTOR_…` environment overrides, validated with pydantic-settings."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from connector.core.errors import ConfigError
from connector.core.http import HttpSettings
from connector.core.matching import did_you_mean
from connector.core.overrides import Overrides
from connector.core.secrets import SecretRef
from connector.core.sections import (
    AlertSettings,
    BillingSettings,
    ConsoleSettings,
    DaemonSettings,
    LogSettings,
    StoreSettings,
)
from mappings.ambiguity import ambiguities
from mappings.customer import CustomerMapping, LineMapping
from mappings.review import ReviewSettings
from mappings.templates import MappingSettings

DEFAULT_CONFIG_PATH = Path("connector.toml")
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # where str.splitlines breaks
ENV_PREFIX = "CONNECTOR_"

log = logging.getLogger(__name__)


class Metric(Protocol):
    """A quantity a source measures, as mappings name it (`altaro.billed_users`)."""

    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def description(self) -> str: ...


class Section(Protocol):
    """What the configuration knows of a registered provider; the registry is handed in where the application is
    wired (`connector.wiring`), so configuration imports no provider."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def settings(self) -> type[BaseModel]: ...
    @property
    def secrets(self) -> Callable[[Any], dict[str, SecretRef]]: ...
    @property
    def metrics(self) -> Sequence[Metric]: ...
    @property
    def line_options(self) -> type[BaseModel] | None: ...
    @property
    def legacy_line_keys(self) -> tuple[str, ...]: ...


Registry = Sequence[Section]


class IgnoredCustomer(BaseModel):
    """A vendor customer you deliberately do not bill (your own tenant, a free pilot): no 'unmapped' error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1, description="The source's registry name (altaro, axcient)")
    customer: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class Settings(BaseSettings):
    """The whole configuration. Precedence: environment (CONNECTOR_SECTION__KEY) over the TOML file over defaults.

    Each registered provider adds its own section (`[altaro]`, a PSA's, …): `settings_model()` builds the class
    with them, and `section(name)` reads one.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        nested_model_default_partial_update=True,
    )
    file_data: ClassVar[dict[str, Any] | None] = None  # the parsed file, or the dict given to settings_from_data
    registry: ClassVar[tuple[Section, ...]] = ()  # the providers whose sections this class holds

    store: StoreSettings = Field(default_factory=StoreSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    customers: list[CustomerMapping] = Field(default_factory=list)
    ignored_customers: list[IgnoredCustomer] = Field(default_factory=list)
    mapping: MappingSettings = Field(default_factory=MappingSettings)

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
        if cls.file_data is not None:
            # The very data load_settings parsed and checked: the file is not read a second time.
            sources.append(InitSettingsSource(settings_cls, init_kwargs=cls.file_data))
        return tuple(sources)

    @model_validator(mode="before")
    @classmethod
    def _psa_options_under_the_psa(cls, data: Any) -> Any:
        # Configurations written before PSA options had their own table kept them on the line itself.
        for psa in _of_role(cls.registry, "psa"):
            customers = data.get("customers") if isinstance(data, dict) else None
            if not psa.legacy_line_keys or not isinstance(customers, list):
                continue  # a customers field of another type: its own validation names the key and the type
            moved = [_legacy_line_options(i, c, psa.name, psa.legacy_line_keys) for i, c in enumerate(customers)]
            data = {**data, "customers": moved}
        return data

    def section(self, name: str) -> Any:
        """A provider's section (`[altaro]`), by its registry name."""
        return getattr(self, name)

    def enabled(self, name: str) -> bool:
        return bool(getattr(self.section(name), "enabled", False))

    def secrets(self) -> dict[str, SecretRef]:
        """Every secret the enabled parts of the configuration need, by key path."""
        found: dict[str, SecretRef] = {}
        for provider in self.registry:
            if self.enabled(provider.name):
                found.update(provider.secrets(self.section(provider.name)))
        return found

    def problems(self) -> list[str]:
        """What the registry refuses (unknown sources and metrics, PSA options the PSA does not take, two PSAs
        enabled), and mappings that name one customer or contract twice."""
        enabled = [f"[{p.name}]" for p in _of_role(self.registry, "psa") if self.enabled(p.name)]
        one = "lines are billed into one PSA, set enabled = false in the others"
        found = [f"{' and '.join(enabled)} are all enabled: {one}"] if len(enabled) > 1 else []
        found += [
            f"ignored_customers[{index}].source: {problem}"
            for index, ignored in enumerate(self.ignored_customers)
            if (problem := _unknown_source(self.registry, ignored.source))
        ]
        for index, customer in enumerate(self.customers):
            where = f"customers[{index}]"
            found += [f"{where}.{_key(s)}: {p}" for s in customer.vendors if (p := _unknown_source(self.registry, s))]
            found += [f"{where}: {problem}" for problem in customer.unmapped_sources()]
            for number, line in enumerate(customer.lines):
                found += _line_problems(self.registry, f"{where}.lines[{number}]", line)
        for source, lines in self.mapping.templates.items():
            found += [f"mapping.templates.{source}: {p}" for p in [_unknown_source(self.registry, source)] if p]
            for number, line in enumerate(lines):
                found += _line_problems(self.registry, f"mapping.templates.{source}[{number}]", line)
        return found + ambiguities(self.customers, self.ignored_customers)


def _legacy_line_options(index: int, customer: Any, psa: str, keys: Iterable[str]) -> Any:
    """A customer block with its lines' legacy PSA keys moved under the PSA's table (a copy: the input is kept)."""
    lines = customer.get("lines") if isinstance(customer, dict) else None
    if not isinstance(lines, list):
        return customer
    moved_lines = []
    for number, line in enumerate(lines):
        moved = [key for key in keys if isinstance(line, dict) and key in line]
        options = line.get(psa, {}) if moved else None
        if not isinstance(options, dict):
            moved_lines.append(line)
            continue
        if twice := [key for key in moved if key in options]:
            # One would silently replace the other.
            raise ValueError(
                f"customers[{index}].lines[{number}]: {twice[0]} given twice (on the line and under "
                f"[customers.lines.{psa}]): keep one"
            )
        rest = {key: value for key, value in line.items() if key not in moved}
        moved_lines.append({**rest, psa: {**options, **{key: line[key] for key in moved}}})
    return {**customer, "lines": moved_lines}


def _of_role(registry: Registry, role: str) -> list[Section]:
    return [p for p in registry if p.role == role]


def _unknown_source(registry: Registry, name: str) -> str | None:
    sources = [p.name for p in _of_role(registry, "source")]
    return None if name in sources else f"no source named {name!r} is registered (known: {', '.join(sources)})"


def _line_problems(registry: Registry, where: str, line: LineMapping) -> list[str]:
    found = []
    metrics = [m for p in _of_role(registry, "source") for m in p.metrics]
    if line.metric not in {m.name for m in metrics}:
        hint = did_you_mean(line.metric, [m.name for m in metrics])
        known = "; ".join(f"{m.name!r} ({m.unit}: {m.description})" for m in metrics)
        found.append(f"{where}.metric: {line.metric!r} is not a metric{hint}. The metrics: {known}")
    psas = {p.name: p for p in _of_role(registry, "psa")}
    for name, options in line.psa.items():
        psa = psas.get(name)
        if psa is None or psa.line_options is None:
            found.append(f"{where}.{_key(name)}: unknown key (check its spelling and section)")
            continue
        try:
            psa.line_options.model_validate(options)
        except ValidationError as error:
            found += describe_validation_error("", error, prefix=f"{where}.{name}").splitlines()
    return found


@cache
def settings_model(registered: tuple[tuple[str, type[BaseModel]], ...]) -> type[Settings]:
    """The Settings class with one section per registered provider."""
    fields: dict[str, Any] = {name: (model, Field(default_factory=model)) for name, model in registered}
    model: type[Settings] = create_model("Settings", __base__=Settings, **fields)
    return model


def _key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{_key(part)}" if path else _key(part)
    return path


def _key(name: str) -> str:
    """A key as TOML writes it: quoted when it holds spaces or invisible characters, so the operator sees them."""
    return name if BARE_KEY.fullmatch(name) else json.dumps(name)


def _one_line(text: str) -> str:
    # One problem per line: a line break inside a name (a key, a customer) is shown escaped.
    return "".join(repr(c)[1:-1] if c in LINE_BREAKS else c for c in text)


Origin = Callable[[tuple[int | str, ...], str], "tuple[str, tuple[int | str, ...]] | None"]


def describe_validation_error(
    source: str, error: ValidationError, *, prefix: str = "", origin: Origin | None = None
) -> str:
    """One line per problem: `file: key.path: what is expected`. Input values are never shown (they may be secrets).

    `origin` says which other source (an environment variable) a failing value came from, and its key path there.
    """
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        # pydantic adds the failing union member or validator name to the location; operators need the key only.
        location = tuple(p for p in item["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and section)"
        where, location = (origin and origin(location, item["type"])) or (source, location)
        # Without a location the message is the whole configuration's, and names its own keys.
        path = ".".join(p for p in (prefix, _key_path(location)) if p)
        lines.append(_one_line(": ".join(part for part in (where, path, message) if part)))
    return "\n".join(lines)


def load_settings(path: Path | None, registry: Registry, *, required: bool = True) -> Settings:
    """Read and validate the configuration, with a section per provider of `registry`; every problem becomes a
    ConfigError that names file and key."""
    config_path = path or DEFAULT_CONFIG_PATH
    file_data: dict[str, Any] = {}
    if config_path.exists():
        file_data = _read_toml(config_path, "cannot read")
    elif required:
        raise ConfigError(
            f"{config_path}: configuration file not found; copy config.example.toml to {config_path} "
            "or pass --config PATH"
        )
    settings = settings_from_data(_with_included_mappings(config_path, file_data), registry, str(config_path))
    # A relative store path is relative to the configuration file, so a daemon started elsewhere finds the same store.
    if not settings.store.path.is_absolute() and str(settings.store.path) != ":memory:":
        object.__setattr__(settings.store, "path", (config_path.parent / settings.store.path).resolve())
    return settings


def _read_toml(path: Path, cannot_read: str) -> dict[str, Any]:
    try:
        # Bytes decoded as tomllib.load does: read_text would turn a bare CR into a line break TOML refuses.
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: {cannot_read}: {error}") from None


def _with_included_mappings(config_path: Path, file_data: dict[str, Any]) -> dict[str, Any]:
    """`[mappings] file = "mappings.toml"` (or `files = [...]`): mapping files `connector map --write` writes, their
    `[[customers]]` and `[[ignored_customers]]` appended to the main file's (which is never rewritten)."""
    included = file_data.get("mappings")
    if included is None:
        return file_data
    if not isinstance(included, dict) or set(included) - {"file", "files"}:
        raise ConfigError(f'{config_path}: mappings: expected file = "mappings.toml" or files = ["a.toml", …]')
    names = ([included["file"]] if "file" in included else []) + list(included.get("files", []))
    merged = {key: value for key, value in file_data.items() if key != "mappings"}
    for name in names:
        path = config_path.parent / str(name)
        data = _read_toml(path, f"cannot read (included by {config_path} [mappings])")
        if extra := sorted(set(data) - {"customers", "ignored_customers"}):
            raise ConfigError(f"{path}: {extra[0]}: a mapping file holds only [[customers]] and [[ignored_customers]]")
        for key in ("customers", "ignored_customers"):
            merged[key] = list(merged.get(key, [])) + list(data.get(key, []))
    return merged


def settings_from_data(data: dict[str, Any], registry: Registry, source: str = "<data>") -> Settings:
    """Validate configuration given as a dict (a file's, the tests', the demo's); environment overrides still apply."""
    # The data goes in as a file's would, not as keyword arguments: the environment overrides it, and keys such as
    # `_env_file` are unknown keys rather than pydantic-settings' own options.
    registered = tuple((p.name, p.settings) for p in registry)
    bound: type[Settings] = type(
        "BoundSettings", (settings_model(registered),), {"file_data": data, "registry": tuple(registry)}
    )
    env = Overrides(ENV_PREFIX, data)
    unknown = env.unknown(bound.model_fields)
    try:
        settings = bound()
    except ValidationError as error:
        raise ConfigError("\n".join([*unknown, describe_validation_error(source, error, origin=env.origin)])) from None
    except SettingsError as error:
        # pydantic-settings could not decode a variable (a list or table that is not JSON); its message names the
        # field, never the value.
        raise ConfigError(env.unparsable(str(error)) or f"{source}: {error}") from None
    problems = [_one_line(f"{env.owner_of(problem) or source}: {problem}") for problem in settings.problems()]
    if unknown or problems:
        raise ConfigError("\n".join(unknown + problems))
    return settings
