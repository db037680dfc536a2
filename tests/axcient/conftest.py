"""Fixtures for the backup portal tests: a fake clock, the sandbox, settings, sources and configs built on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from connector.store import Store
from providers.axcient.client import AxcientClient, build_axcient_client
from providers.axcient.sandbox import DEFAULT_USERNAME, AxcientSandbox
from providers.axcient.settings import AxcientSettings
from providers.axcient.source import AxcientSource

from ..conftest import FakeClock, write_vendor_config

PASSWORD = "axcient-test-password-7d3f9a1c"
OBSERVED_AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def http_settings() -> HttpSettings:
    return HttpSettings(max_attempts=4, backoff_initial_seconds=1.0, timeout_seconds=5, connect_timeout_seconds=2)


@pytest.fixture
def sandbox() -> Iterator[AxcientSandbox]:
    with AxcientSandbox(password=PASSWORD) as server:
        assert isinstance(server, AxcientSandbox)
        yield server


def axcient_settings(base_url: str, password: str = PASSWORD, **overrides: Any) -> AxcientSettings:
    return AxcientSettings(
        enabled=True,
        base_url=base_url,
        username=DEFAULT_USERNAME,
        password=SecretRef(value=SecretStr(password)),
        **overrides,
    )


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as opened:
        yield opened


def client_factory(settings: AxcientSettings, http: HttpSettings, **options: Any) -> Callable[[], AxcientClient]:
    """What the provider hands a source: a client built (and the password read) only when a collection opens it."""
    return lambda: build_axcient_client(settings, http, **options)


@pytest.fixture
def make_source(sandbox: AxcientSandbox, http_settings: HttpSettings, clock: FakeClock) -> Callable[..., AxcientSource]:
    """`make_source(per_page=2, storage=...)`: a source reading the sandbox, sleeping on the fake clock."""

    def make(**overrides: Any) -> AxcientSource:
        settings = axcient_settings(sandbox.url, **overrides)
        open_client = client_factory(settings, http_settings, sleep=clock.sleep, clock=clock)
        return AxcientSource(settings, open_client, now=lambda: OBSERVED_AT)

    return make


PASSWORD_ENV = "AXCIENT_TEST_PASSWORD"


@pytest.fixture
def write_config(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Writes a connector.toml for a sandbox, the password in an environment variable as operators are told to."""

    def write(
        directory: Path, base_url: str, password: str = PASSWORD, *, enabled: bool = True, extra: str = ""
    ) -> Path:
        monkeypatch.setenv(PASSWORD_ENV, password)
        return write_vendor_config(
            directory,
            f"""
[axcient]
enabled = {"true" if enabled else "false"}
base_url = "{base_url}"
username = "{DEFAULT_USERNAME}"
password = {{ env = "{PASSWORD_ENV}" }}
per_page = 2
{extra}
""",
        )

    return write


def account(account_id: int, customer_id: int = 1, **fields: Any) -> dict[str, Any]:
    """An account payload as the portal sends it; `fields` override the defaults."""
    base: dict[str, Any] = {
        "id": account_id,
        "username": f"user-{account_id}",
        "customer_id": customer_id,
        "parent_id": None,
        "service_plan": "Select",
        "computer_name": f"PC-{account_id}",
        "device_type": "pc",
        "used_mb_compressed": 1024,
        "used_mb_uncompressed": 2048,
        "hard_quota_mb": None,
        "user_quota_mb": None,
        "trial_expires": None,
        "status": "active",
    }
    base.update(fields)
    return base


def customer(customer_id: int, name: str | None = None) -> dict[str, Any]:
    return {"id": customer_id, "name": name or f"Customer {customer_id}", "contact": {"name": "A", "email": "a@x.y"}}


@pytest.fixture
def make_account() -> Callable[..., dict[str, Any]]:
    return account


@pytest.fixture
def make_customer() -> Callable[..., dict[str, Any]]:
    return customer
