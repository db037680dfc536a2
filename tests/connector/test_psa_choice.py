"""Several PSAs in the registry: a configuration enables one, lines carry that one's options, and `check` says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import providers
from connector.cli import main
from connector.core.errors import ConfigError
from connector.wiring import settings_from_data
from mappings.lines import Line
from mappings.truth import ContractRef, psa_options

ATERA = {"enabled": True, "base_url": "https://atera.example.invalid", "api_key": "k-atera"}
CONNECTWISE = {
    "enabled": True,
    "company_id": "examplemsp",
    "public_key": "k-public",
    "private_key": "k-private",
    "client_id": "0000-client",
}
LINE = {
    "metric": "altaro.billed_users",
    "contract": "Microsoft 365 backup",
    "rate": "3.50",
    "atera": {"rate_sku": "M365"},
    "connectwise": {"agreement": "Managed Backup", "product": "BKP-M365-USER"},
}
CUSTOMER = {"psa_customer": "Contoso Ltd", "altaro": {"customer": "Contoso"}, "lines": [LINE]}


def test_every_registered_psa_is_listed_and_the_first_is_the_default() -> None:
    names = [p.name for p in providers.psas()]
    assert names[0] == "atera" and "connectwise" in names
    assert providers.psa() is providers.REGISTRY["atera"]
    assert providers.psa(settings_from_data({})) is providers.REGISTRY["atera"]  # none enabled: the default


def test_the_enabled_psa_is_the_psa_and_its_options_are_the_lines() -> None:
    settings = settings_from_data({"connectwise": CONNECTWISE, "customers": [CUSTOMER]})
    assert providers.psa_name(settings) == "connectwise"
    assert settings.problems() == []
    # Each PSA's options are checked against its own declaration, whichever is enabled.
    [mapping] = settings.customers[0].lines
    assert mapping.psa["atera"] == {"rate_sku": "M365"}


def test_two_enabled_psas_are_a_configuration_problem_naming_both() -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from_data({"atera": ATERA, "connectwise": CONNECTWISE})
    assert "[atera] and [connectwise] are all enabled" in str(raised.value)
    assert "set enabled = false in the others" in str(raised.value)


def test_options_a_psa_does_not_take_name_the_key() -> None:
    wrong = {**LINE, "connectwise": {"agreement": "Managed Backup", "sku": "X"}}
    with pytest.raises(ConfigError, match=r"customers\[0\]\.lines\[0\]\.connectwise\.sku: unknown key"):
        settings_from_data({"customers": [{**CUSTOMER, "lines": [wrong]}]})


def test_a_contract_reference_carries_the_psa_options_of_its_line() -> None:
    options = {"agreement": "Managed Backup", "product": "BKP-M365-USER", "addition_id": 7, "skip": None}
    line = Line("Contoso Ltd", "M365", "2026-11", "altaro.billed_users", 1, "user", 1, 1, psa=options)  # type: ignore[arg-type]
    ref = ContractRef.of_line(line)
    assert ref.options == (("addition_id", "7"), ("agreement", "Managed Backup"), ("product", "BKP-M365-USER"))
    assert ref.option("product") == "BKP-M365-USER" and ref.option("skip") is None
    assert ref == ContractRef("Contoso Ltd", None, "M365", None, psa_options(options))
    # Without options it is the reference it always was: Atera's lines keep their keys.
    assert ContractRef("Contoso Ltd", None, "M365", None) == ("Contoso Ltd", None, "M365", None, ())


def _config(tmp_path: Path, sections: str) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(f'[store]\npath = "state.db"\n{sections}', encoding="utf-8")
    return path


def test_check_says_which_psa_lines_are_pushed_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    section = (
        '\n[connectwise]\nenabled = true\ncompany_id = "examplemsp"\npublic_key = "p"\nprivate_key = "q"\n'
        'client_id = "c"\n'
    )
    config = _config(tmp_path, section)
    assert main(["check", "--config", str(config), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["psa"] == "connectwise"
    assert main(["check", "--config", str(config)]) == 0
    assert "Lines are pushed to ConnectWise, the enabled PSA." in capsys.readouterr().out
    assert main(["check", "--config", str(_config(tmp_path, "")), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["psa"] is None


def test_two_enabled_psas_stop_check_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sections = (
        '\n[atera]\nenabled = true\napi_key = "a"\n'
        '\n[connectwise]\nenabled = true\ncompany_id = "m"\npublic_key = "p"\nprivate_key = "q"\nclient_id = "c"\n'
    )
    assert main(["check", "--config", str(_config(tmp_path, sections))]) == 2
    assert "[atera] and [connectwise] are all enabled" in capsys.readouterr().err


def test_the_demo_refuses_a_psa_it_does_not_know(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path), "--psa", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "--psa nosuch" in err and "atera" in err
