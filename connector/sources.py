"""The registry of vendor adapters: which usage sources and which PSA sink the configuration enables."""

from __future__ import annotations

from collections.abc import Callable

from connector.config import Settings
from connector.store import Store
from connector.usage import Sink, UsageSource


def _altaro(settings: Settings, store: Store) -> UsageSource:
    from providers.altaro.source import AltaroSource

    return AltaroSource(settings.altaro, settings.http, store)


def _axcient(settings: Settings, store: Store) -> UsageSource:
    from providers.axcient.source import AxcientSource

    return AxcientSource(settings.axcient, settings.http, store)


SOURCES: dict[str, Callable[[Settings, Store], UsageSource]] = {"altaro": _altaro, "axcient": _axcient}


def enabled_sources(settings: Settings, store: Store) -> dict[str, UsageSource]:
    return {name: build(settings, store) for name, build in SOURCES.items() if getattr(settings, name).enabled}


def enabled_sink(settings: Settings, store: Store) -> Sink | None:
    if not settings.atera.enabled:
        return None
    from providers.atera.sink import AteraSink

    sink: Sink = AteraSink.from_settings(settings.atera, settings.http)
    return sink
