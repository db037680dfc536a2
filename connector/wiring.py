"""Wiring from the registry: the usage sources and the PSA sink a configuration enables, built for one run."""

from __future__ import annotations

import providers
from connector.core.config import Settings
from connector.interfaces.usage import Sink, UsageSource
from providers.spec import BuildContext


def enabled_sources(settings: Settings, context: BuildContext) -> dict[str, UsageSource | None]:
    """Every registered source by name, built when the configuration enables it and None otherwise."""
    built: dict[str, UsageSource | None] = {}
    for provider in providers.sources():
        section = provider.section(settings)
        if settings.enabled(provider.name) and provider.build_source is not None:
            built[provider.name] = provider.build_source(section, context)
        else:
            built[provider.name] = None
    return built


def enabled_sink(settings: Settings, context: BuildContext) -> Sink | None:
    """The PSA sink, when the registered PSA is enabled."""
    psa = providers.psa()
    if psa is None or psa.build_sink is None or not settings.enabled(psa.name):
        return None
    return psa.build_sink(psa.section(settings), context)
