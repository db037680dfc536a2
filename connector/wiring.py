"""Where the application meets the registry: the configuration with every provider's section, and the usage sources
and PSA sink a configuration enables, built for one run. Below it nothing names the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import providers
from connector.core import config
from connector.core.config import Settings
from connector.interfaces.psa import Sink
from connector.interfaces.usage import UsageSource
from providers.spec import BuildContext


def load_settings(path: Path | None = None, *, required: bool = True) -> Settings:
    """The configuration file (`config.load_settings`) with a section per registered provider."""
    return config.load_settings(path, tuple(providers.REGISTRY.values()), required=required)


def settings_from_data(data: dict[str, Any], source: str = "<data>") -> Settings:
    """Configuration given as a dict (tests, the demo), with a section per registered provider."""
    return config.settings_from_data(data, tuple(providers.REGISTRY.values()), source)


def enabled_sources(settings: Settings, context: BuildContext) -> dict[str, UsageSource | None]:
    """Every registered source by name, built when the configuration enables it and None otherwise."""
    built: dict[str, UsageSource | None] = {}
    for provider in providers.sources():
        # A provider's factories (its HTTP client) load only when the configuration enables it.
        build = provider.load().build_source if settings.enabled(provider.name) else None
        built[provider.name] = build(provider.section(settings), context) if build is not None else None
    return built


def enabled_sink(settings: Settings, context: BuildContext) -> Sink | None:
    """The PSA sink, when the registered PSA is enabled."""
    psa = providers.psa(settings)
    if psa is None or not settings.enabled(psa.name):
        return None
    build = psa.load().build_sink
    return build(psa.section(settings), context) if build is not None else None
