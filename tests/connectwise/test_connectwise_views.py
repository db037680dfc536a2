"""End to end: `connector connectwise …` views and `check --online`'s parts against the sandbox, with a generated
configuration (keys in environment variables, as operators are told to); the keys show up nowhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import cast

import pytest
from typer.testing import CliRunner

from connector.core.errors import Status
from connector.interfaces.ledger import FetchLedger
from connector.wiring import load_settings
from mappings.customer import CustomerMapping
from providers.connectwise.provider import PROVIDER
from providers.connectwise.resolve import contracts, customers, probe, resolve
from providers.connectwise.sandbox import ConnectWiseSandbox
from providers.connectwise.settings import ConnectWiseSettings
from providers.spec import BuildContext

from ..conftest import write_vendor_config

try:
    from connector.cli import app
except ModuleNotFoundError as missing:  # the command line lands in parallel with the engine it calls
    pytest.skip(f"connector.cli cannot be imported yet ({missing})", allow_module_level=True)


@pytest.fixture
def sandbox() -> Iterator[ConnectWiseSandbox]:
    with ConnectWiseSandbox() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, sandbox: ConnectWiseSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CW_TEST_PUBLIC", sandbox.public_key)
    monkeypatch.setenv("CW_TEST_PRIVATE", sandbox.private_key)
    return write_vendor_config(
        tmp_path,
        f"""
[billing]
timezone = "America/New_York"

[connectwise]
enabled = true
base_url = "{sandbox.api_url}"
company_id = "{sandbox.company_id}"
public_key = {{ env = "CW_TEST_PUBLIC" }}
private_key = {{ env = "CW_TEST_PRIVATE" }}
client_id = "{sandbox.client_id}"
""",
    )


def run(sandbox: ConnectWiseSandbox, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    for secret in (sandbox.public_key, sandbox.private_key):
        assert secret not in result.output
    return result.exit_code, result.stdout


def context(config: Path) -> tuple[ConnectWiseSettings, BuildContext]:
    settings = load_settings(config)
    # No check here keeps a call-rate rule: the fetch ledger is not needed.
    return PROVIDER.section(settings), BuildContext(settings.http, cast(FetchLedger, None), timezone="America/New_York")


def test_companies_as_json_and_as_a_table(config: Path, sandbox: ConnectWiseSandbox) -> None:
    code, output = run(sandbox, "connectwise", "companies", "--config", str(config), "--format", "json")
    assert code == 0, output
    names = {c["name"] for c in json.loads(output)}
    assert {"Contoso Ltd", "Fabrikam Inc", "Northwind Traders"} <= names
    code, table = run(sandbox, "connectwise", "companies", "--config", str(config))
    assert code == 0 and "Contoso Ltd" in table


def test_agreements_of_one_company(config: Path, sandbox: ConnectWiseSandbox) -> None:
    args = ("connectwise", "agreements", "--config", str(config), "--company-id", "251", "--format", "json")
    code, output = run(sandbox, *args)
    assert code == 0, output
    found = json.loads(output)
    assert [(a["id"], a["name"], a["company"]["id"]) for a in found] == [(501, "Managed Backup", 251)]


def test_additions_of_an_agreement_keep_exact_numbers(config: Path, sandbox: ConnectWiseSandbox) -> None:
    args = ("connectwise", "additions", "--agreement-id", "501", "--config", str(config), "--format", "json")
    code, output = run(sandbox, *args)
    assert code == 0, output
    by_product = {a["product"]["identifier"]: a for a in json.loads(output)}
    assert by_product["BKP-SERVER-GB"]["unitPrice"] == "0.12"
    code, table = run(sandbox, "connectwise", "additions", "--agreement-id", "501", "--config", str(config))
    assert code == 0 and "BKP-M365-USER" in table


def test_invoices_dated_in_a_range(config: Path, sandbox: ConnectWiseSandbox) -> None:
    made = sandbox.invoice_agreements(date(2026, 11, 1))
    args = ("connectwise", "invoices", "--from", "2026-11-01", "--to", "2026-11-30", "--config", str(config))
    code, output = run(sandbox, *args, "--format", "json")
    assert code == 0, output
    assert {i["id"] for i in json.loads(output)} == {i["id"] for i in made}
    code, _ = run(
        sandbox, "connectwise", "invoices", "--from", "2026-11-30", "--to", "2026-11-01", "--config", str(config)
    )
    assert code == 2


def test_the_credentials_are_probed_with_system_info(config: Path, sandbox: ConnectWiseSandbox) -> None:
    section, built = context(config)
    assert probe(section, built)[0].status is Status.OK
    sandbox.private_key = "rotated"
    refused = probe(section, built)[0]
    assert refused.status is Status.INVALID and "[connectwise] company_id, public_key" in (refused.problem or "")


def test_every_mapped_company_agreement_and_addition_is_looked_up(config: Path, sandbox: ConnectWiseSandbox) -> None:
    sandbox.add_catalog_item("BKP-PC-DEVICE", "Workstation backup, per device", 4.25)
    mapping = CustomerMapping.model_validate(
        {
            "psa_customer": "Contoso Ltd",
            "lines": [
                {"metric": "axcient.server_gb", "contract": "Managed Backup",
                 "connectwise": {"product": "BKP-SERVER-GB"}},
                {"metric": "axcient.pc_devices", "contract": "Managed Backup",
                 "connectwise": {"product": "BKP-PC-DEVICE", "create_if_missing": True}},
                {"metric": "axcient.total_gb", "contract": "Managed Backups",
                 "connectwise": {"product": "BKP-SERVER-GB"}},
            ],
        }
    )  # fmt: skip
    lost = CustomerMapping.model_validate({"psa_customer": "Contoso Limited", "lines": []})
    section, built = context(config)
    found = resolve(section, built, [mapping, lost])
    assert [f.status for f in found] == [Status.OK, Status.OK, Status.OK, Status.INVALID, Status.INVALID]
    assert "would be added to agreement 'Managed Backup'" in (found[2].note or "")
    assert found[3].suggestion == "did you mean 'Managed Backup'?"
    assert found[4].suggestion == "did you mean 'Contoso Ltd'?"


def test_the_lists_connector_map_matches_against(config: Path, sandbox: ConnectWiseSandbox) -> None:
    section, built = context(config)
    assert (251, "Contoso Ltd") in customers(section, built)
    assert (251, "Contoso Ltd", "Managed Backup") in contracts(section, built)
