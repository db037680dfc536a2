"""`connector usage` and what `connector map` reads: one source's usage fetched now (through the fetch ledger) and
recorded as observations; nothing is computed or pushed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

import providers
from connector.core.config import Settings
from connector.core.errors import ConfigError
from connector.interfaces.usage import UsageReport, UsageSource
from connector.store import Store
from connector.sync.observe import observe
from providers.spec import BuildContext

T = TypeVar("T")


def _report(source: UsageSource) -> tuple[UsageReport, UsageReport]:
    report = source.collect()
    return report, report


@overload
def fetch_usage(settings: Settings, source_name: str) -> UsageReport: ...
@overload
def fetch_usage(settings: Settings, source_name: str, collect: Callable[[UsageSource], tuple[UsageReport, T]]) -> T: ...
def fetch_usage(
    settings: Settings, source_name: str, collect: Callable[[UsageSource], tuple[UsageReport, Any]] = _report
) -> Any:
    """Fetch one source's usage now and record it as observations; nothing is computed or pushed.

    `collect` takes the built source and returns the report to observe and what the caller wants back (by default
    the report itself; a view that shows account-level detail asks its source for more).
    """
    provider = providers.REGISTRY.get(source_name)
    build = provider.load().build_source if provider is not None else None
    if provider is None or build is None:
        raise ConfigError(f"{source_name!r} is not a registered usage source")
    section = provider.enabled_section(settings)
    with Store.open(settings.store.path) as store:
        source = build(section, BuildContext(settings.http, store.ledger, timezone=settings.billing.timezone))
        report, fetched = collect(source)
        observe(store, report)
    return fetched
