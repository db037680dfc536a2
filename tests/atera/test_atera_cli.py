"""End to end: the real CLI against the sandbox with a generated config; the API key shows up nowhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from providers.atera.sandbox import AteraSandbox

try:
    from connector.cli import app, main
except ModuleNotFoundError as missing:  # connector.cli imports the engine, whose mappings modules land in parallel
    pytest.skip(f"connector.cli cannot be imported yet ({missing})", allow_module_level=True)

KEY = "atera-e2e-key-5f0c1d9b7a"


@pytest.fixture
def keyed_sandbox() -> Iterator[AteraSandbox]:
    with AteraSandbox(api_key=KEY) as server:
        assert isinstance(server, AteraSandbox)
        yield server


@pytest.fixture
def config(tmp_path: Path, keyed_sandbox: AteraSandbox, write_config: Callable[..., Path]) -> Path:
    return write_config(tmp_path, keyed_sandbox.api_url, KEY)


def run(*args: str) -> tuple[int, str]:
    """Exit code and stdout; stderr carries the DEBUG request log, which must not show the key either."""
    result = CliRunner().invoke(app, list(args))
    assert KEY not in result.output
    return result.exit_code, result.stdout


def test_customers_as_json(config: Path) -> None:
    code, output = run("atera", "customers", "--config", str(config), "--format", "json")
    assert code == 0, output
    assert json.loads(output) == [
        {"CustomerID": 1, "CustomerName": "Contoso Ltd"},
        {"CustomerID": 2, "CustomerName": "Fabrikam Inc"},
        {"CustomerID": 3, "CustomerName": "Northwind Traders"},
    ]


def test_contracts_of_one_customer(config: Path) -> None:
    code, output = run("atera", "contracts", "--config", str(config), "--customer-id", "2", "--format", "json")
    assert code == 0, output
    contracts = {c["ContractID"]: c for c in json.loads(output)}
    assert set(contracts) == {103, 104}
    retainer = contracts[103]["RetainerFlatFeeContract"]
    assert (retainer["Quantity"], retainer["Rate"]["SKU"]) == ("10", "M365-BACKUP-USER")
    code, table = run("atera", "contracts", "--config", str(config))
    assert code == 0 and "Atera contracts" in table and "RetainerFl" in table


def test_devices_by_class(config: Path) -> None:
    code, output = run("atera", "devices", "--config", str(config), "--customer-id", "1", "--format", "json")
    assert code == 0, output
    counts = json.loads(output)
    assert (counts["pc"], counts["server"], counts["other"]) == (3, 2, 1)


def test_invoices_in_a_range(config: Path) -> None:
    code, output = run("atera", "invoices", "--config", str(config), "--from", "2026-01-01", "--to", "2026-01-31")
    assert code == 0, output
    assert "5001" in output and "5002" not in output
    code, output = run("atera", "invoices", "--config", str(config), "--from", "2026-02-01", "--to", "2026-01-01")
    assert code == 2


def test_an_invoice_shows_the_msp_s_day(config: Path, keyed_sandbox: AteraSandbox) -> None:
    config.write_text(config.read_text() + '\n[billing]\ntimezone = "Europe/Berlin"\n')
    keyed_sandbox.account.timezone = "Europe/Berlin"
    keyed_sandbox.invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1), utc=True)
    code, output = run("atera", "invoices", "--config", str(config), "--from", "2026-12-01", "--to", "2026-12-01")
    assert code == 0, output
    assert "2026-12-01" in output and "2026-11-30" not in output  # written 2026-11-30T23:00:00Z


def test_a_disabled_atera_section_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], write_config: Callable[..., Path]
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/api/v3", KEY, enabled=False)
    assert main(["atera", "customers", "--config", str(config)]) == 2
    assert "[atera] enabled = false" in capsys.readouterr().err


def test_a_rejected_key_exits_2_and_is_never_shown(
    config: Path, keyed_sandbox: AteraSandbox, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    keyed_sandbox.api_key = "rotated-key-the-connector-does-not-know"
    caplog.set_level(logging.DEBUG)
    assert main(["--verbose", "atera", "contracts", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert "API key rejected" in captured.err
    for text in (captured.out, captured.err, caplog.text):
        assert KEY not in text
