"""The provider registry: the one place a backup vendor or a PSA is added (declared in its own folder)."""

from __future__ import annotations

from typing import Any

from providers.altaro.provider import PROVIDER as ALTARO
from providers.atera.provider import PROVIDER as ATERA
from providers.axcient.provider import PROVIDER as AXCIENT
from providers.spec import MetricSpec, Provider

REGISTRY: dict[str, Provider[Any]] = {provider.name: provider for provider in (ALTARO, AXCIENT, ATERA)}


def sources() -> list[Provider[Any]]:
    """Registered usage sources, in registration order."""
    return [p for p in REGISTRY.values() if p.role == "source"]


def psa() -> Provider[Any] | None:
    """The registered PSA lines are pushed to (one per configuration)."""
    return next((p for p in REGISTRY.values() if p.role == "psa"), None)


def metric(name: str) -> MetricSpec | None:
    """A metric by its full name (`altaro.billed_users`), from the source it names."""
    provider = REGISTRY.get(name.split(".", 1)[0])
    return provider.metric(name) if provider is not None else None
