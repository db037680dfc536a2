"""Fixtures for the Altaro tests: a fake clock shared by the ledger and the sandbox, sandboxes, settings, stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from connector.store import Store
from providers.altaro.client import AltaroClient, build_altaro_client
from providers.altaro.sandbox import DEFAULT_API_KEY, AltaroSandbox, generate_report
from providers.altaro.settings import AltaroLink, AltaroSettings
from providers.altaro.source import AltaroSource


class FakeClock:
    """Wall and monotonic time that move only when someone sleeps or the test advances them."""

    def __init__(self, start: datetime = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)) -> None:
        self.moment = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return self.moment.timestamp()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def http_settings() -> HttpSettings:
    return HttpSettings(max_attempts=3, backoff_initial_seconds=1.0, timeout_seconds=5, connect_timeout_seconds=2)


@pytest.fixture
def report_text() -> str:
    return generate_report(customers=4, users_per_customer=12, seed=3, month="2026-11")


@pytest.fixture
def sandbox(clock: FakeClock, report_text: str) -> Iterator[AltaroSandbox]:
    with AltaroSandbox(report_text, clock=clock.monotonic) as server:
        assert isinstance(server, AltaroSandbox)
        yield server


def link(url: str, name: str = "all-customers", api_key: str = DEFAULT_API_KEY, **extra: Any) -> AltaroLink:
    return AltaroLink(name=name, url=url, api_key=SecretRef(value=SecretStr(api_key)), **extra)


def altaro_settings(*links: AltaroLink, **overrides: Any) -> AltaroSettings:
    return AltaroSettings(enabled=True, links=list(links), **overrides)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.db") as opened:
        yield opened


@pytest.fixture
def make_source(store: Store, http_settings: HttpSettings, clock: FakeClock) -> Callable[..., AltaroSource]:
    """`make_source(settings, on=store, transport=..., **options)`: a source on the fake clock (no real sleeping)."""

    def make(
        settings: AltaroSettings,
        *,
        on: Store | None = None,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> AltaroSource:
        options.setdefault("now", clock.now)
        options.setdefault("sleep", clock.sleep)

        def open_client() -> AltaroClient:
            return build_altaro_client(http_settings, transport=transport, sleep=clock.sleep)

        return AltaroSource(settings, (on or store).ledger, open_client, **options)

    return make
