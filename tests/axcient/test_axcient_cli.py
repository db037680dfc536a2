"""End to end: `connector usage axcient` against the sandbox with a generated config; the password shows nowhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.store import Store
from providers.axcient.sandbox import AxcientSandbox
from providers.sandbox import Fault

from .conftest import PASSWORD

WriteConfig = Callable[..., Path]
Make = Callable[..., dict[str, Any]]


@pytest.fixture
def config(tmp_path: Path, sandbox: AxcientSandbox, write_config: WriteConfig) -> Path:
    return write_config(tmp_path, sandbox.url)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert PASSWORD not in captured.out and PASSWORD not in captured.err
    return code, captured.out, captured.err


def test_json_is_sorted_by_customer_with_the_promised_fields(
    config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "usage", "axcient", "--config", str(config), "--format", "json")
    assert code == 0, err
    found = json.loads(out)
    assert [c["customer"] for c in found] == ["Contoso", "Fabrikam Inc", "Northwind Traders", "Tailspin Toys"]
    contoso = found[0]
    assert {k: contoso[k] for k in ("pc_gb", "server_gb", "total_gb", "pc_devices", "server_devices")} == {
        "pc_gb": "45",
        "server_gb": "600",
        "total_gb": "645",
        "pc_devices": 3,
        "server_devices": 2,
    }
    assert Decimal(contoso["plans"]["Basic"]["pc_gb"]) == 25 and contoso["complete"] is True
    assert contoso["not_billed"][0]["reason"] == "suspended"
    assert contoso["over_quota"][0]["computer"] == "CONTOSO-PC01"
    fabrikam = found[1]
    assert {a["reason"] for a in fabrikam["not_billed"]} == {"deleted", "trial plan (Trial (ShadowProtect))"}
    # The run was recorded: observations for every customer.
    with Store.open(tmp_path / "state.db") as store:
        assert {o.vendor_customer for o in store.observations.query("axcient")} == {c["customer"] for c in found}


def test_non_integral_gb_are_exact_decimal_strings(
    tmp_path: Path, sandbox: AxcientSandbox, write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sandbox.url, extra="mb_per_gb = 1000\nstorage = 'uncompressed'")
    code, out, _ = run(capsys, "usage", "axcient", "--config", str(config), "-f", "json")
    assert code == 0
    northwind = next(c for c in json.loads(out) if c["customer"] == "Northwind Traders")
    assert northwind["server_gb"] == "614.4" and northwind["pc_gb"] == "153.6"


def test_the_table_and_its_details(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "usage", "axcient", "--config", str(config), "--details")
    assert code == 0
    # The terminal under test is narrow: look for words, not whole cells.
    assert "Axcient usage (compressed, 1024 MB per GB)" in out and "Northwind" in out
    assert "645.00" in out
    assert "Per service plan" in out and "Accounts not" in out
    assert all(account in out for account in ("1003", "1004", "2002", "2003", "4001"))


def test_an_incomplete_customer_prints_its_usage_and_exits_3(
    sandbox: AxcientSandbox,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    make_account: Make,
    make_customer: Make,
) -> None:
    sandbox.load(
        {
            "customers": [make_customer(1, "Good"), make_customer(2, "Bad")],
            "accounts": [make_account(10, 1), make_account(20, 2, device_type="toaster"), make_account(21, 2)],
        }
    )
    code, out, err = run(capsys, "usage", "axcient", "--config", str(config), "--format", "json")
    assert code == 3
    bad, good = json.loads(out)
    assert (bad["customer"], bad["complete"], good["complete"]) == ("Bad", False, True)
    assert bad["problems"] == ["account 20: device_type: Input should be 'pc' or 'server'"]
    assert "incomplete: Bad: account 20: device_type" in err
    assert "1 customer(s) incomplete" in err


def test_a_failing_portal_exits_3_and_prints_no_usage(
    sandbox: AxcientSandbox, config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox.inject(Fault(status=503, path_prefix="/api/v1/customers"), times=10)
    code, out, err = run(capsys, "usage", "axcient", "--config", str(config), "--format", "json")
    assert code == 3 and out == ""
    assert "HTTP 503 after retries" in err
    with Store.open(tmp_path / "state.db") as store:
        assert store.observations.query("axcient") == []


def test_a_disabled_section_is_a_config_error(
    tmp_path: Path, write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", enabled=False)
    code, _, err = run(capsys, "usage", "axcient", "--config", str(config))
    assert code == 2 and "[axcient] enabled = false" in err


def test_the_password_is_in_no_output_log_or_stored_row(
    sandbox: AxcientSandbox,
    tmp_path: Path,
    write_config: WriteConfig,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = write_config(tmp_path, sandbox.url)
    assert run(capsys, "--verbose", "usage", "axcient", "--config", str(config), "-f", "json")[0] == 0
    assert run(capsys, "--verbose", "usage", "axcient", "--config", str(config), "--details")[0] == 0
    # The login really carried it (so its absence elsewhere means something).
    assert any(PASSWORD.encode() in r.body for r in sandbox.api_requests("/api/v1/session"))
    # And on failure: the portal now wants another password; the error must not echo the one we sent.
    sandbox.password = "rotated-password-0000"
    code, _, err = run(capsys, "--verbose", "usage", "axcient", "--config", str(config))
    assert code == 2 and "login refused (401)" in err
    assert PASSWORD not in caplog.text
    stored = list(tmp_path.glob("state.db*"))
    assert stored
    for path in stored:
        assert PASSWORD.encode() not in path.read_bytes(), path
