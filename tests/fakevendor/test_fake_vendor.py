"""A third backup vendor plugs in through the registry alone and is billed end to end by `connector sync`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import providers
from connector.cli import main
from providers.atera.sandbox import AteraSandbox

from .provider import PROVIDER


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one change a new vendor needs: its registry entry (here made at test time, not in providers/__init__.py).
    monkeypatch.setitem(providers.REGISTRY, PROVIDER.name, PROVIDER)


@pytest.fixture
def atera() -> Iterator[AteraSandbox]:
    with AteraSandbox() as sandbox:
        assert isinstance(sandbox, AteraSandbox)
        yield sandbox


def write_config(directory: Path, atera: AteraSandbox) -> Path:
    key = directory / "atera.key"
    key.write_text(atera.api_key, encoding="utf-8")
    config = directory / "connector.toml"
    config.write_text(
        f"""
[store]
path = "state.db"

[seats]
enabled = true
seats = {{ "Acme Corporation" = 7, "Globex" = 3 }}

[atera]
enabled = true
base_url = "{atera.api_url}"
api_key = {{ file = "{key}" }}

[[customers]]
psa_customer = "Contoso Ltd"
seats = {{ customer = "Acme Corporation" }}

[[customers.lines]]
metric = "seats.licensed"
contract = "Seat licences"
rate = "2.45"
atera = {{ rate_sku = "SEATS", create_if_missing = true }}

[[ignored_customers]]
source = "seats"
customer = "Globex"
reason = "a pilot"
""",
        encoding="utf-8",
    )
    return config


def sync(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, dict[str, Any]]:
    code = main(["sync", "--config", str(config), "--format", "json"])
    out, err = capsys.readouterr()
    assert out.strip().startswith("{"), err
    return code, json.loads(out)


def test_a_registered_vendor_is_configured_observed_billed_and_pushed(
    registered: None, atera: AteraSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, atera)
    code, report = sync(capsys, config)
    assert code == 0, report
    assert {s["name"]: s["status"] for s in report["sources"]} == {
        "altaro": "disabled",
        "axcient": "disabled",
        "seats": "ok",
    }
    (line,) = report["lines"]
    assert (line["psa_customer"], line["metric"], line["outcome"]) == ("Contoso Ltd", "seats.licensed", "pushed")
    assert (Decimal(str(line["quantity"])), line["unit"], Decimal(str(line["amount"]))) == (7, "user", Decimal("17.15"))
    held = [c for c in atera.contracts.values() if c["ContractName"] == "Seat licences"]
    assert [c["RetainerFlatFeeContract"]["Quantity"] for c in held] == [7]

    code, again = sync(capsys, config)
    assert code == 0 and [line["outcome"] for line in again["lines"]] == ["unchanged"]


def test_an_unknown_vendor_section_is_a_configuration_error_until_it_is_registered(
    atera: AteraSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, atera)
    assert main(["check", "--config", str(config)]) == 2
    assert "seats" in capsys.readouterr().err
