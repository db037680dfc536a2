"""End to end: `connector sync` from the sandbox portal into the sandbox ConnectWise, twice. The first run sets one
addition's quantity (one PATCH) and adds another (one POST); the second writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from providers.axcient.generate import demo_dataset
from providers.axcient.sandbox import DEFAULT_PASSWORD, AxcientSandbox
from providers.connectwise.sandbox import ConnectWiseSandbox
from providers.record import parse_record

from ..conftest import write_vendor_config

try:
    from connector.cli import app
except ModuleNotFoundError as missing:  # the command line lands in parallel with the engine it calls
    pytest.skip(f"connector.cli cannot be imported yet ({missing})", allow_module_level=True)


@pytest.fixture
def sandboxes() -> Iterator[tuple[AxcientSandbox, ConnectWiseSandbox]]:
    with AxcientSandbox(demo_dataset(), password=DEFAULT_PASSWORD) as portal, ConnectWiseSandbox() as psa:
        psa.add_catalog_item("BKP-PC-GB", "Workstation backup, per GB", 0.15)
        yield portal, psa


@pytest.fixture
def config(
    tmp_path: Path, sandboxes: tuple[AxcientSandbox, ConnectWiseSandbox], monkeypatch: pytest.MonkeyPatch
) -> Path:
    portal, psa = sandboxes
    monkeypatch.setenv("AX_TEST_PASSWORD", DEFAULT_PASSWORD)
    monkeypatch.setenv("CW_TEST_PUBLIC", psa.public_key)
    monkeypatch.setenv("CW_TEST_PRIVATE", psa.private_key)
    return write_vendor_config(
        tmp_path,
        f"""
[axcient]
enabled = true
base_url = "{portal.url}"
username = "{portal.username}"
password = {{ env = "AX_TEST_PASSWORD" }}

[connectwise]
enabled = true
base_url = "{psa.api_url}"
company_id = "{psa.company_id}"
public_key = {{ env = "CW_TEST_PUBLIC" }}
private_key = {{ env = "CW_TEST_PRIVATE" }}
client_id = "{psa.client_id}"

[[customers]]
psa_customer = "Contoso Ltd"
axcient = {{ customer = "Contoso" }}

[[customers.lines]]
metric = "axcient.server_gb"
contract = "Managed Backup"
rate = "0.12"
connectwise = {{ product = "BKP-SERVER-GB" }}

[[customers]]
psa_customer = "Fabrikam Inc"
axcient = {{ customer = "Fabrikam Inc" }}

[[customers.lines]]
metric = "axcient.pc_gb"
contract = "Managed Backup"
rate = "0.15"
connectwise = {{ product = "BKP-PC-GB", create_if_missing = true }}

[[ignored_customers]]
source = "axcient"
customer = "Northwind Traders"
reason = "billed on another line"

[[ignored_customers]]
source = "axcient"
customer = "Tailspin Toys"
reason = "a prospect"
""",
    )


def sync(config: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["sync", "--config", str(config), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_a_sync_pushes_once_and_a_second_writes_nothing(
    config: Path, sandboxes: tuple[AxcientSandbox, ConnectWiseSandbox]
) -> None:
    _, psa = sandboxes
    code, first = sync(config)
    assert code == 0, first
    assert [line["outcome"] for line in first["lines"]] == ["pushed", "pushed"]
    writes = [(w.method, w.path.rsplit("/apis/3.0", 1)[1]) for w in psa.writes()]
    assert writes == [
        ("PATCH", "/finance/agreements/501/additions/602"),
        ("POST", "/finance/agreements/502/additions"),
    ]
    recorded = parse_record(psa.custom_value(602))
    assert recorded is not None and recorded[0].metric == "axcient.server_gb"
    before = len(psa.requests)
    code, second = sync(config)
    assert code == 0, second
    assert [line["outcome"] for line in second["lines"]] == ["unchanged", "unchanged"]
    assert len(psa.writes()) == 2
    assert psa.unpinned == []
    # A re-sync reads list pages only (companies, agreements, each mapped agreement's additions): no addition is
    # read on its own, nothing is written.
    read = [(r.method, r.path.rsplit("/apis/3.0", 1)[1]) for r in psa.requests[before:]]
    assert read == [
        ("GET", "/company/companies"),
        ("GET", "/finance/agreements"),
        ("GET", "/finance/agreements/501/additions"),
        ("GET", "/finance/agreements/502/additions"),
    ], read
