"""Configuration loading: no file, dict or environment raises anything but a ConfigError, which never shows a secret."""

from __future__ import annotations

import contextlib
import math
import os
import tomllib
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import providers
from connector.core.config import Settings
from connector.core.errors import ConfigError
from connector.wiring import load_settings, settings_from_data

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[str]:
    seen.add(model)
    for name, field in model.model_fields.items():
        yield name
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            for inner in (candidate, *typing.get_args(candidate)):
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
                    yield from _field_names(inner, seen)


def _vocabulary() -> list[str]:
    """Every key the configuration knows, the registry's names, and the older layout's keys."""
    names = set(_field_names(Settings, set()))
    for name, provider in providers.REGISTRY.items():
        names |= {name, f"{name}_customer", *_field_names(provider.settings, set())}
        names |= set(getattr(provider, "legacy_line_keys", ()))
        if provider.line_options is not None:
            names |= set(_field_names(provider.line_options, set()))
    return sorted(names | {"env", "file", "value", "vendors", "psa", "customer"})


KEYS = _vocabulary()
METRICS = [m.name for p in providers.sources() for m in p.metrics]
SOURCES = [p.name for p in providers.sources()]

leaves = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["altaro", "axcient", "atera", "Contoso", " contoso ", "1.5", "-1", "Monthly", "*", "", "DEBUG"]),
    st.sampled_from(METRICS),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),  # NaN and infinity included: TOML has them
    st.booleans(),
    st.dates(),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
anything = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4), max_leaves=10
)


def _or_anything(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # Mostly what an operator would write, sometimes anything at all: both ends of the input space.
    return st.one_of(plausible, plausible, plausible, anything)


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    line: dict[str, Any] = {
        "metric": draw(_or_anything(st.sampled_from(METRICS))),
        "contract": draw(_or_anything(st.sampled_from(["M365", "m365 ", "Server", "Backup"]))),
        "rate": draw(_or_anything(st.sampled_from(["3.50", "0", 1, 0.1]))),
    }
    optional = {
        "contract_id": _or_anything(st.integers(1, 4)),
        "billing_period": _or_anything(st.sampled_from(["Monthly", "Quarterly", "OnDemand"])),
        "start_date": _or_anything(st.dates()),
        "product": anything,
        "rate_sku": _or_anything(st.sampled_from(["SKU-1", "SKU-2"])),
        "create_if_missing": _or_anything(st.booleans()),
        "atera": _or_anything(st.fixed_dictionaries({}, optional={"rate_sku": st.just("SKU-3")})),
        draw(keys): anything,
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=3, unique=True)):
        line[key] = draw(optional[key])
    return line


@st.composite
def customers(draw: st.DrawFn) -> dict[str, Any]:
    names = st.sampled_from(["Contoso", "CONTOSO", "Fabrikam", "Northwind ", "A"])
    customer: dict[str, Any] = {"psa_customer": draw(_or_anything(names))}
    if draw(st.booleans()):
        customer["psa_customer_id"] = draw(_or_anything(st.integers(1, 3)))
    for source in draw(st.lists(st.sampled_from(SOURCES), max_size=2, unique=True)):
        layout = draw(st.sampled_from(["table", "bare", "legacy"]))
        name = draw(_or_anything(names))
        key = f"{source}_customer" if layout == "legacy" else source
        customer[key] = {"customer": name} if layout == "table" else name
    customer["lines"] = draw(_or_anything(st.lists(lines(), max_size=3)))
    return customer


@st.composite
def configurations(draw: st.DrawFn, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """A configuration in the real one's shape (sections, customers, lines, ignored customers), with random holes."""
    data: dict[str, Any] = draw(st.dictionaries(st.sampled_from(KEYS), anything, max_size=3))
    data["customers"] = draw(_or_anything(st.lists(customers(), max_size=4)))
    ignored = st.fixed_dictionaries(
        {"source": _or_anything(st.sampled_from(SOURCES)), "customer": st.sampled_from(["Contoso", "Other"])},
        optional={"reason": st.just("pilot")},
    )
    data["ignored_customers"] = draw(_or_anything(st.lists(ignored, max_size=2)))
    for section in draw(st.lists(st.sampled_from(["http", "review", "log", "store", *providers.REGISTRY]), max_size=3)):
        data[section] = draw(st.dictionaries(st.sampled_from(KEYS), anything, max_size=3))
    if secrets:
        _place_secrets(draw, data, secrets)
    return data


def _place_secrets(draw: st.DrawFn, data: dict[str, Any], secrets: tuple[str, ...]) -> None:
    """Each secret inline where a secret goes, as a bare string or `{ value = … }`, next to whatever else is drawn."""
    atera, axcient, link = secrets

    def ref(secret: str) -> Any:
        return draw(st.sampled_from([secret, {"value": secret}, {"value": secret, "env": "X"}, [secret]]))

    data["atera"] = {**_table(data.get("atera")), "enabled": draw(st.booleans()), "api_key": ref(atera)}
    data["axcient"] = {**_table(data.get("axcient")), "password": ref(axcient)}
    url = draw(st.sampled_from(["https://cmc.example.invalid/r/1", "not a url", 5]))
    data["altaro"] = {
        **_table(data.get("altaro")),
        "links": [{"name": draw(st.text(max_size=3)), "url": url, "api_key": ref(link)}],
    }


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


environments = st.dictionaries(
    st.one_of(
        st.sampled_from(KEYS).map(lambda key: f"CONNECTOR_{key.upper()}"),
        st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(lambda p: "CONNECTOR_" + "__".join(p).upper()),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", max_size=6).map(lambda s: f"CONNECTOR_{s}"),
    ),
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(['{"max_attempts": "x"}', "[{}]", "[1", "true", "3", "nan", '[{"psa_customer": "A"}]']),
    ).map(lambda value: value.replace("\0", "")),  # no environment holds a NUL
    max_size=3,
)


@contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    # A patch, not monkeypatch: hypothesis runs many examples inside one test function.
    clean = {name: value for name, value in os.environ.items() if not name.upper().startswith("CONNECTOR_")}
    with mock.patch.dict(os.environ, {**clean, **overrides}, clear=True):
        yield


def _toml_key(key: str) -> str:
    return _toml_string(key)


def _toml_string(text: str) -> str:
    escaped = "".join(
        "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text
    )
    return f'"{escaped}"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(data: dict[str, Any]) -> str:
    """Top-level keys with inline tables: every document the strategies draw, written as TOML."""
    return "".join(f"{_toml_key(key)} = {_toml_value(value)}\n" for key, value in data.items())


def test_the_toml_writer_round_trips() -> None:
    data = {"a b": [1, 2.5, 'x"\\\n\x7f', {"k": date(2026, 1, 1)}], "t": {"n": float("inf"), "f": False}}
    assert tomllib.loads(to_toml(data)) == data


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties") / "connector.toml"


@EXAMPLES
@given(data=configurations(), env=environments)
def test_no_dict_or_environment_raises_anything_but_a_config_error(data: dict[str, Any], env: dict[str, str]) -> None:
    before = repr(data)  # repr, not ==: NaN is not equal to itself
    with _environment(env):
        try:
            settings_from_data(data)
        except ConfigError as error:
            assert all(line.startswith(("<data>: ", "environment variable ")) for line in str(error).splitlines())
    assert repr(data) == before, "loading changed the data it was given"


@EXAMPLES
@given(data=configurations(), env=environments)
def test_no_toml_file_or_environment_raises_anything_but_a_config_error(
    config_file: Path, data: dict[str, Any], env: dict[str, str]
) -> None:
    config_file.write_text(to_toml(data), encoding="utf-8")
    with _environment(env):
        try:
            load_settings(config_file)
        except ConfigError as error:
            where = (str(config_file), "environment variable")
            assert all(line.startswith(where) for line in str(error).splitlines()), str(error)


@EXAMPLES
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_no_text_raises_anything_but_a_config_error(config_file: Path, text: str | bytes) -> None:
    if isinstance(text, bytes):
        config_file.write_bytes(text)
    else:
        config_file.write_text(text, encoding="utf-8")
    with _environment({}), contextlib.suppress(ConfigError):
        load_settings(config_file)


secret_values = st.tuples(
    *(st.text("0123456789abcdef", min_size=16, max_size=24).map(f"sk-{p}-".__add__) for p in "abc")
)


@EXAMPLES
@given(st.data(), secret_values, environments)
def test_a_config_error_never_shows_a_secret_given_inline(
    config_file: Path, draw: st.DataObject, secrets: tuple[str, str, str], env: dict[str, str]
) -> None:
    data = draw.draw(configurations(secrets))
    in_env = draw.draw(
        st.sampled_from(
            [
                {},
                {"CONNECTOR_ATERA__API_KEY": secrets[0]},
                {"CONNECTOR_ATERA": f'{{"api_key": 5, "x": "{secrets[0]}"}}'},
            ]
        )
    )
    config_file.write_text(to_toml(data), encoding="utf-8")
    with _environment({**env, **in_env}):
        for load in (lambda: settings_from_data(data), lambda: load_settings(config_file)):
            try:
                load()
            except ConfigError as error:
                assert not any(secret in str(error) for secret in secrets), str(error)
