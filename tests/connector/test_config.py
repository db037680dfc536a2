"""Configuration loading: errors name the file and key; environment overrides; the example is valid."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import providers
from connector.core.config import Settings
from connector.core.errors import ConfigError
from connector.core.secrets import SecretRef
from connector.wiring import load_settings, settings_from_data
from mappings.customer import VendorCustomer

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_configuration_is_valid() -> None:
    settings = load_settings(REPO / "config.example.toml")
    assert [c.psa_customer for c in settings.customers] == ["Contoso Ltd", "Fabrikam Inc"]
    assert settings.customers[0].lines[0].rate == Decimal("3.50")
    assert settings.altaro.min_interval_seconds == 300


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[atera]\nmax_requests = "lots"\n', "atera.max_requests: Input should be a valid integer"),
        ("[http]\ntimeout_secs = 3\n", "http.timeout_secs: unknown key"),
        (
            '[[customers]]\npsa_customer = "A"\naltaro_customer = "A"\n[[customers.lines]]\nmetric = "altaro.users"\n'
            'contract = "C"\nrate = "1"\n',
            "customers[0].lines[0].metric: 'altaro.users' is not a metric (did you mean 'altaro.billed_users'",
        ),
        (
            '[[customers]]\npsa_customer = "A"\n[[customers.lines]]\nmetric = "altaro.billed_users"\n'
            'contract = "C"\nrate = "1"\n',
            "customers[0]: lines[0] bills altaro.billed_users but no altaro customer is given",
        ),
        (
            '[[customers]]\npsa_customer = "A"\n[[customers]]\npsa_customer = "a"\n',
            "customers[0] and customers[1]: both map PSA customer 'A'",
        ),
        ("[axcient]\nenabled = true\n", "axcient: enabled, but base_url, username, password not set"),
        ("[store\npath = 1\n", "not valid TOML"),
        (
            '[[customers]]\npsa_customer = "A"\nlines = [{metric = "axcient.pc_gb", contract = "C", rate = "-1"}]\n'
            'axcient_customer = "A"\n',
            "customers[0].lines[0].rate: Input should be greater than or equal to 0",
        ),
    ],
)
def test_invalid_configuration_names_file_and_key(tmp_path: Path, toml: str, expected: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)
    assert caught.value.exit_code == 2


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"configuration file not found; copy config.example.toml"):
        load_settings(tmp_path / "nope.toml")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[log]\nlevel = "INFO"\n[http]\nmax_attempts = 3\n')
    monkeypatch.setenv("CONNECTOR_LOG__LEVEL", "DEBUG")
    settings = load_settings(path)
    assert settings.log.level == "DEBUG"
    assert settings.http.max_attempts == 3


def test_relative_store_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\npath = "state/connector.db"\n')
    assert load_settings(path).store.path == tmp_path / "state" / "connector.db"


def test_float_rates_are_taken_exactly(tmp_path: Path) -> None:
    settings = settings_from_data(
        {
            "customers": [
                {
                    "psa_customer": "A",
                    "axcient_customer": "A",
                    "lines": [{"metric": "axcient.pc_gb", "contract": "C", "rate": 0.1}],
                }
            ]
        }
    )
    assert settings.customers[0].lines[0].rate == Decimal("0.1")


def test_same_metric_twice_on_one_contract_is_refused() -> None:
    line = {"metric": "axcient.pc_gb", "contract": "Backup", "rate": "1"}
    with pytest.raises(
        ConfigError, match=r"lines\[0\] and customers\[0\].lines\[1\]: both bill axcient.pc_gb onto contract 'Backup'"
    ):
        settings_from_data({"customers": [{"psa_customer": "A", "axcient_customer": "A", "lines": [line, line]}]})


def test_a_billing_period_the_sync_cannot_compute_is_refused_up_front() -> None:
    line = {"metric": "axcient.pc_gb", "contract": "Backup", "rate": "1", "billing_period": "OnDemand"}
    with pytest.raises(ConfigError, match=r"customers\[0\].lines\[0\].billing_period: .*OnDemand"):
        settings_from_data({"customers": [{"psa_customer": "A", "axcient_customer": "A", "lines": [line]}]})


def _keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every configuration key, dotted, through nested sections and lists of blocks."""
    for name, field in model.model_fields.items():
        yield prefix + name
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            inner = typing.get_args(candidate)[0] if typing.get_origin(candidate) is list else candidate
            if isinstance(inner, type) and issubclass(inner, BaseModel) and inner is not SecretRef:
                yield from _keys(inner, f"{prefix}{name}.")


def _every_key() -> Iterator[str]:
    """The core sections, every registered provider's section, and what mappings give per source and per PSA."""
    containers = {
        "customers.vendors",
        "customers.lines.psa",
        "mapping.templates.psa",
    }  # written as [customers.<source>], [customers.lines.<psa>], [mapping.templates.<source>] with <psa> = {…}
    yield from (key for key in _keys(Settings) if key not in containers)
    for name, provider in providers.REGISTRY.items():
        yield name
        yield from _keys(provider.settings, f"{name}.")
        if provider.role == "source":
            yield from _keys(VendorCustomer, f"customers.{name}.")
        if provider.line_options is not None:
            yield from _keys(provider.line_options, f"customers.lines.{name}.")


def test_the_example_configuration_shows_every_key() -> None:
    text = (REPO / "config.example.toml").read_text()
    shown = set(re.findall(r"^\s*#?\s*([a-z_]+)\s*=", text, flags=re.MULTILINE))
    for section in re.findall(r"^\[\[?([a-z_.]+)\]", text, flags=re.MULTILINE):
        shown.update(section.split("."))
    missing = sorted(key for key in _every_key() if key.rsplit(".", 1)[-1] not in shown)
    assert missing == []


def test_the_example_uses_the_vendor_keyed_layout_and_the_old_one_still_loads(tmp_path: Path) -> None:
    new = load_settings(REPO / "config.example.toml")
    old_text = (
        '[[customers]]\npsa_customer = "Contoso Ltd"\naltaro_customer = "Contoso Ltd"\naxcient_customer = "Contoso"\n'
        '[[customers.lines]]\nmetric = "altaro.billed_users"\ncontract = "M365"\nrate = "3.50"\n'
        'rate_sku = "M365-BACKUP-USER"\ncreate_if_missing = true\n'
    )
    old = load_settings(write(tmp_path, old_text))
    assert new.customers[0].vendor_customer("altaro") == old.customers[0].vendor_customer("altaro") == "Contoso Ltd"
    assert old.customers[0].vendor_customer("axcient") == "Contoso"
    assert old.customers[0].lines[0].psa == {"atera": {"rate_sku": "M365-BACKUP-USER", "create_if_missing": True}}
    assert new.customers[0].lines[0].psa["atera"]["rate_sku"] == "M365-BACKUP-USER"


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        ({"altrao": {"customer": "A"}}, "customers[0].altrao: no source named 'altrao' is registered"),
        (
            {"altaro": {"customer": "A"}, "lines": [{"metric": "altaro.users", "contract": "C", "rate": "1"}]},
            "The metrics: 'altaro.billed_users' (user: Total Backup 365 billed users: distinct objects",
        ),
        (
            {"altaro": "A", "lines": [{"metric": "altaro.billed_users", "contract": "C", "rate": "1", "halo": {}}]},
            "customers[0].lines[0].halo: unknown key",
        ),
        (
            {
                "altaro": "A",
                "lines": [{"metric": "altaro.billed_users", "contract": "C", "rate": "1", "atera": {"sku": "X"}}],
            },
            "customers[0].lines[0].atera.sku: unknown key",
        ),
    ],
)
def test_sources_metrics_and_psa_options_are_checked_against_the_registry(
    customer: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_data({"customers": [{"psa_customer": "A", **customer}]})
    assert expected in str(caught.value)


def test_a_file_tomllib_refuses_is_not_valid_toml_even_where_text_mode_would_hide_it(tmp_path: Path) -> None:
    # Read as text, a bare CR became a line break and passed the check, then the settings source read the bytes
    # and failed with exit 70.
    path = tmp_path / "connector.toml"
    path.write_bytes(b'[log]\rlevel = "INFO"\n')
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_settings(path)


@pytest.mark.parametrize("key", ["_env_file", "_env_prefix", "_secrets_dir", "_cli_parse_args"])
def test_pydantic_settings_own_options_are_unknown_keys_in_data(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"<data>: {key}: unknown key"):
        settings_from_data({key: 5})


def test_the_environment_overrides_data_as_it_overrides_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_HTTP__MAX_ATTEMPTS", "7")
    assert settings_from_data({"http": {"max_attempts": 2, "timeout_seconds": 9}}).http.max_attempts == 7


def test_a_key_with_spaces_or_a_line_break_is_shown_quoted_on_its_own_line() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_data({"log": {"level ": "INFO"}, "http": {"max\u2028attempts": 1}})
    assert str(caught.value).splitlines() == [
        '<data>: log."level ": unknown key (check its spelling and section)',
        '<data>: http."max\\u2028attempts": unknown key (check its spelling and section)',
    ]
