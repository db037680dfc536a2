"""`[autotask]`: the defaults, what an enabled section needs (each missing key named with how to give it), the
bounds of its numbers, a zone lookup that would carry the secret in clear text, and keys never shown in an error."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from connector.core.errors import ConfigError
from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from providers.autotask.connect import build_autotask_client
from providers.autotask.settings import AutotaskSettings, is_loopback

SECRET = "S3cr3t-Value-9f2a"
USERNAME = "api.user@example.test"


def section(**overrides: Any) -> AutotaskSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "username": SecretRef(value=SecretStr(USERNAME)),
        "secret": SecretRef(value=SecretStr(SECRET)),
        "integration_code": SecretRef(env="AUTOTASK_INTEGRATION_CODE"),
    }
    return AutotaskSettings(**{**values, **overrides})


def test_a_disabled_section_needs_nothing_and_has_the_documented_defaults() -> None:
    found = AutotaskSettings()
    assert not found.enabled
    assert str(found.zone_lookup_url) == "https://webservices.autotask.net/ATServicesRest"
    assert (found.page_size, found.threads, found.stop_pushes_at) == (500, 3, 0.8)
    assert (found.company_type, found.contract_period_type, found.owner_resource_id) == ("Customer", "Monthly", None)
    assert found.username is None and found.secret is None and found.integration_code is None


def test_an_enabled_section_names_every_key_it_lacks_and_how_to_give_it() -> None:
    with pytest.raises(ValidationError) as error:
        AutotaskSettings(enabled=True, secret=SecretRef(value=SecretStr(SECRET)))
    text = str(error.value)
    assert 'autotask.username: not set; give { env = "AUTOTASK_USERNAME" } or { file = "..." }' in text
    assert 'autotask.integration_code: not set; give { env = "AUTOTASK_INTEGRATION_CODE" }' in text
    assert "autotask.secret" not in text
    assert SECRET not in text


def test_a_complete_section_is_accepted() -> None:
    found = section(owner_resource_id=29682885, company_type="Client")
    assert (found.owner_resource_id, found.company_type) == (29682885, "Client")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("page_size", 0),
        ("page_size", 501),
        ("threads", 0),
        ("threads", 4),
        ("stop_pushes_at", 0),
        ("stop_pushes_at", 1.01),
        ("company_type", ""),
        ("owner_resource_id", -1),
    ],
)
def test_a_value_out_of_bounds_is_refused_with_its_key(key: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=key):
        section(**{key: value})


def test_the_bounds_themselves_are_accepted() -> None:
    found = section(page_size=1, threads=1, stop_pushes_at=1)
    assert (found.page_size, found.threads, found.stop_pushes_at) == (1, 1, 1)
    assert section(page_size=500, threads=3).page_size == 500


def test_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="zone_url"):
        section(zone_url="https://webservices14.autotask.net/ATServicesRest")


def test_a_plain_http_zone_lookup_is_refused_off_this_machine() -> None:
    with pytest.raises(ValidationError, match="not https"):
        section(zone_lookup_url="http://webservices.autotask.net/ATServicesRest")
    assert str(section(zone_lookup_url="http://127.0.0.1:8080/ATServicesRest").zone_lookup_url).startswith("http://")
    assert section(zone_lookup_url="http://localhost:9/ATServicesRest").enabled


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("webservices.autotask.net", False),
        (None, False),
        ("localhost.example.test", False),
    ],
)
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_building_a_client_without_its_keys_names_them() -> None:
    # A section left disabled is not validated for completeness; building a client from it still needs the keys.
    incomplete = AutotaskSettings(secret=SecretRef(value=SecretStr(SECRET)))
    with pytest.raises(ConfigError, match=r"autotask\.username, autotask\.integration_code not set") as error:
        build_autotask_client(incomplete, HttpSettings())
    assert SECRET not in str(error.value)


def test_a_key_whose_source_is_missing_is_a_config_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOTASK_INTEGRATION_CODE", raising=False)
    with pytest.raises(ConfigError, match=r"autotask\.integration_code: environment variable AUTOTASK_INTEGRATION"):
        build_autotask_client(section(), HttpSettings())


def test_the_keys_never_show_in_the_section_repr() -> None:
    text = repr(section()) + str(section().model_dump())
    assert SECRET not in text and USERNAME not in text
