"""What a provider declares once: its name, settings, metrics, how to build its source or sink, and its secrets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from connector.http import HttpSettings
from connector.secrets import SecretRef

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.store import Store
    from connector.usage import Sink, UsageSource

Clock = Callable[[], datetime]


class Section(Protocol):
    """A provider's configuration section: every one can be switched off."""

    @property
    def enabled(self) -> bool: ...


S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class MetricSpec:
    """A quantity a source measures per vendor customer, named `<provider>.<metric>` in mappings."""

    name: str
    unit: str
    description: str


@dataclass(frozen=True)
class BuildContext:
    """What every source and sink is built with: the HTTP settings, the state store and the one clock."""

    http: HttpSettings
    store: Store
    now: Clock = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Provider(Generic[S]):
    """One vendor or PSA, declared once in its own folder and listed in `providers.REGISTRY`.

    A source provider measures `metrics` and builds a usage source; a PSA provider builds the sink lines are pushed
    to, and may declare per-line options (`line_options`) that mappings give under the PSA's own key.
    """

    name: str
    role: Literal["source", "psa"]
    settings: type[S]
    summary: str
    describe: Callable[[S], str]
    secrets: Callable[[S], dict[str, SecretRef]]
    metrics: tuple[MetricSpec, ...] = ()
    build_source: Callable[[S, BuildContext], UsageSource] | None = None
    build_sink: Callable[[S, BuildContext], Sink] | None = None
    line_options: type[BaseModel] | None = None
    # Keys of `line_options` that older configurations wrote on the line itself; read from there still.
    legacy_line_keys: tuple[str, ...] = ()

    def metric(self, name: str) -> MetricSpec | None:
        return next((m for m in self.metrics if m.name == name), None)

    def section(self, settings: Settings) -> S:
        """This provider's section of a whole configuration."""
        value = settings.section(self.name)
        if not isinstance(value, self.settings):
            raise TypeError(f"[{self.name}] is a {type(value).__name__}, not {self.settings.__name__}")
        return value
