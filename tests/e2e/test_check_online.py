"""End to end: `connector check --online` against the sandbox vendors: credentials, names, did-you-mean, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.operations.demo import Sandboxes, write_config
from providers.sandbox import Fault


@pytest.fixture
def config(tmp_path: Path, sandboxes: Sandboxes) -> Path:
    path = write_config(tmp_path, sandboxes)
    path.write_text(path.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
    return path


def check(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "--config", str(config), "--online", *extra])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "json" in extra else {"text": out}), err


def problems(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["check"]: f for f in data["online"] if f["problem"] is not None}


def test_the_demo_configuration_checks_ok_online(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, data, _ = check(capsys, config, "--format", "json")
    assert code == 0
    assert problems(data) == {}
    checks = {f["check"] for f in data["online"]}
    assert {"atera credentials", "axcient credentials", "customer 'Northwind Traders'"} <= checks


def test_a_misspelled_customer_and_contract_each_get_a_did_you_mean_and_exit_2(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    text = config.read_text()
    text = text.replace('psa_customer = "Northwind Traders"', 'psa_customer = "Northwind Trader"')
    config.write_text(text.replace('contract = "Server backup (per GB)"', 'contract = "Server backup per GB"', 1))
    code, data, err = check(capsys, config, "--format", "json")
    assert code == 2
    found = problems(data)
    assert found["customer 'Northwind Trader'"]["suggestion"].startswith("did you mean 'Northwind Traders' (id ")
    contract = found["contract 'Contoso Ltd' / 'Server backup per GB'"]
    assert contract["status"] == "invalid"
    assert contract["suggestion"].startswith("did you mean 'Server backup (per GB)' (id ")
    code, table, err = check(capsys, config)
    assert code == 2
    assert "did you mean 'Northwind Traders'" in err and "WRONG" in table["text"]


def test_a_wrong_atera_key_is_configuration_and_is_never_printed(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    (tmp_path / "secrets" / "atera.key").write_text("0123456789abcdef0123456789abcdef\n")
    code, data, err = check(capsys, config, "--format", "json")
    assert code == 2
    assert problems(data)["atera credentials"]["status"] == "invalid"
    assert not any(c.startswith("customer ") for c in problems(data))  # not blamed on every name
    assert "0123456789abcdef0123456789abcdef" not in json.dumps(data) + err


def test_a_vendor_down_cannot_verify_and_exits_3(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    sandboxes["axcient"].inject(Fault(status=503), times=50)
    code, data, _ = check(capsys, config, "--format", "json")
    assert code == 3
    assert problems(data)["axcient credentials"]["status"] == "incomplete"


def test_the_altaro_report_a_check_fetches_serves_the_next_sync(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    altaro = sandboxes["altaro"]
    code, data, _ = check(capsys, config, "--format", "json")
    assert code == 0 and altaro.served == 1
    assert "fetched and stored" in next(f["note"] for f in data["online"] if f["check"].startswith("altaro link"))
    # Inside the link's 5-minute window: the check again, then the sync, answer from the stored report.
    code, data, _ = check(capsys, config, "--format", "json")
    assert code == 0 and altaro.served == 1
    assert "stored" in next(f["note"] for f in data["online"] if f["check"].startswith("altaro link"))
    assert main(["sync", "--config", str(config), "--dry-run", "--format", "json"]) in (0, 5)
    report = json.loads(capsys.readouterr().out)
    assert altaro.served == 1
    assert {s["name"]: s["status"] for s in report["sources"]}["altaro"] == "cached"
    altaro_lines = [line["outcome"] for line in report["lines"] if line["metric"].startswith("altaro.")]
    assert altaro_lines and "blocked" not in altaro_lines
