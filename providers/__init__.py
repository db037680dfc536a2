"""The provider registry: the one place a backup vendor or a PSA is added (declared in its own folder)."""

from __future__ import annotations

from typing import Any

from providers.altaro.provider import PROVIDER as ALTARO
from providers.atera.provider import PROVIDER as ATERA
from providers.autotask.provider import PROVIDER as AUTOTASK
from providers.axcient.provider import PROVIDER as AXCIENT
from providers.connectwise.provider import PROVIDER as CONNECTWISE
from providers.spec import MetricSpec, Provider

REGISTRY: dict[str, Provider[Any]] = {
    provider.name: provider for provider in (ALTARO, AXCIENT, ATERA, CONNECTWISE, AUTOTASK)
}


def sources() -> list[Provider[Any]]:
    """Registered usage sources, in registration order."""
    return [p for p in REGISTRY.values() if p.role == "source"]


def psas() -> list[Provider[Any]]:
    """Registered PSAs, in registration order (the first is the default)."""
    return [p for p in REGISTRY.values() if p.role == "psa"]


def psa(settings: Any = None) -> Provider[Any] | None:
    """The PSA lines are pushed to: the one the configuration enables (it enables one at most), else the first
    registered, which a configuration that enables none (a dry run) still names its line options after."""
    enabled = [p for p in psas() if settings is not None and settings.enabled(p.name)]
    return next(iter(enabled or psas()), None)


def metric(name: str) -> MetricSpec | None:
    """A metric by its full name (`altaro.billed_users`), from the source it names."""
    provider = REGISTRY.get(name.split(".", 1)[0])
    return provider.metric(name) if provider is not None else None


def psa_name(settings: Any = None) -> str:
    """The name of `psa(settings)`: the key its options have in mappings (`[customers.lines.<name>]`)."""
    chosen = psa(settings)
    return chosen.name if chosen is not None else ""
