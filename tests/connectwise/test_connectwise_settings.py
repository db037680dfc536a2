"""`[connectwise]` and `[customers.lines.connectwise]`: what an enabled section needs (each missing key named), the
line options' rules, the registry's declaration, and keys that never show in a repr, a log line or an error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import respx
from pydantic import SecretStr, ValidationError

import providers
from connector.core.errors import ConfigError, VendorAuthError
from connector.core.secrets import SecretRef
from connector.wiring import load_settings
from providers.connectwise.client import build_connectwise_client
from providers.connectwise.provider import PROVIDER, ConnectWiseLineOptions
from providers.connectwise.settings import ConnectWiseSettings

from ..conftest import write_vendor_config
from .support import BASE, HTTP, PRIVATE, PUBLIC, settings


def test_a_disabled_section_needs_nothing_and_pins_version_2025_8() -> None:
    section = ConnectWiseSettings()
    assert (section.enabled, section.api_version, section.page_size) == (False, "2025.8", 1000)
    assert str(section.base_url) == "https://na.myconnectwise.net/v4_6_release/apis/3.0"
    assert (section.custom_field, section.agreement_type, section.create_products) == (
        "Billing connector record",
        "Managed Services",
        False,
    )


def test_an_enabled_section_names_every_key_it_lacks() -> None:
    with pytest.raises(ValidationError) as error:
        ConnectWiseSettings(enabled=True, public_key=SecretRef(value=SecretStr(PUBLIC)))
    text = str(error.value)
    for key in ("connectwise.company_id", "connectwise.private_key", "connectwise.client_id"):
        assert key in text
    assert "connectwise.public_key" not in text
    assert PUBLIC not in text


@pytest.mark.parametrize("size", [0, 1001])
def test_a_page_size_connectwise_does_not_serve_is_refused(size: int) -> None:
    with pytest.raises(ValidationError, match="page_size"):
        settings(page_size=size)


def test_the_loaded_configuration_names_the_file_and_the_missing_keys(tmp_path: Path) -> None:
    config = write_vendor_config(tmp_path, '[connectwise]\nenabled = true\ncompany_id = "examplemsp"\n')
    with pytest.raises(ConfigError, match=r"connector\.toml: connectwise: .*connectwise\.public_key: not set"):
        load_settings(config)


def test_an_enabled_connectwise_is_the_psa_and_its_line_options_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CW_PUBLIC", PUBLIC)
    monkeypatch.setenv("CW_PRIVATE", PRIVATE)
    config = write_vendor_config(
        tmp_path,
        f"""
[connectwise]
enabled = true
base_url = "{BASE}"
company_id = "examplemsp"
public_key = {{ env = "CW_PUBLIC" }}
private_key = {{ env = "CW_PRIVATE" }}
client_id = "3f2b8c1e"

[[customers]]
psa_customer = "Contoso Ltd"
axcient = {{ customer = "Contoso" }}

[[customers.lines]]
metric = "axcient.server_gb"
contract = "Server backup"
rate = "0.12"

[customers.lines.connectwise]
agreement = "Managed Backup"
product = "BKP-SERVER-GB"
""",
    )
    loaded = load_settings(config)
    assert providers.psa_name(loaded) == "connectwise"
    assert loaded.customers[0].lines[0].psa["connectwise"] == {
        "agreement": "Managed Backup",
        "product": "BKP-SERVER-GB",
    }
    assert set(loaded.secrets()) >= {"connectwise.public_key", "connectwise.private_key"}


def test_a_line_names_its_addition_by_product_or_id() -> None:
    assert ConnectWiseLineOptions(product="BKP-SERVER-GB").agreement is None
    assert ConnectWiseLineOptions(addition_id=602, agreement_id=501).product is None
    with pytest.raises(ValidationError, match=r"give product .* or addition_id"):
        ConnectWiseLineOptions(agreement="Managed Backup")
    with pytest.raises(ValidationError, match="create_if_missing needs product"):
        ConnectWiseLineOptions(addition_id=602, create_if_missing=True)
    with pytest.raises(ValidationError, match="rate_sku"):
        ConnectWiseLineOptions.model_validate({"product": "X", "rate_sku": "X"})


def test_the_manifest_declares_a_psa_with_its_views_and_secrets() -> None:
    assert providers.REGISTRY["connectwise"] is PROVIDER
    assert [p.name for p in providers.psas()] == ["atera", "connectwise", "autotask"]
    assert (PROVIDER.role, PROVIDER.line_options) == ("psa", ConnectWiseLineOptions)
    assert [v.name for v in PROVIDER.views] == ["companies", "agreements", "additions", "invoices"]
    assert set(PROVIDER.secrets(settings())) == {"connectwise.public_key", "connectwise.private_key"}
    factories = PROVIDER.load()
    for name in ("build_sink", "probe", "resolve", "customers", "contracts"):
        assert getattr(factories, name) is not None, name


def test_the_keys_are_in_no_repr_no_log_line_and_no_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    section = settings()
    assert PUBLIC not in repr(section) and PRIVATE not in repr(section)
    with respx.mock(base_url=BASE) as router:
        router.get("/system/info").respond(401, json={"code": "Unauthorized", "message": f"bad key {PRIVATE}"})
        client = build_connectwise_client(section, HTTP)
        with pytest.raises(VendorAuthError) as refused:
            client.system_info()
        sent = router.calls.last.request.headers["Authorization"]
    message = str(refused.value)
    assert "[connectwise] company_id, public_key, private_key and client_id" in message
    token = sent.split()[1]
    for text in (message, caplog.text):
        assert PUBLIC not in text and PRIVATE not in text and token not in text
