"""End to end: the PSA is the truth; every run reads Atera's contracts and names each difference (issue 10)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.cli import main
from connector.operations.demo import Sandboxes, write_config
from providers.atera.sandbox import DEFAULT_API_KEY, AteraSandbox
from providers.sandbox import Fault

from .conftest import MONTH, cli, sync

SERVER = ("Contoso Ltd", "Server backup (per GB)")


@pytest.fixture
def config(tmp_path: Path, sandboxes: Sandboxes) -> Path:
    path = write_config(tmp_path, sandboxes)
    path.write_text(path.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
    return path


def atera(sandboxes: Sandboxes) -> AteraSandbox:
    sandbox = sandboxes["atera"]
    assert isinstance(sandbox, AteraSandbox)
    return sandbox


def line_of(report: dict[str, Any], customer: str, contract: str) -> dict[str, Any]:
    return next(x for x in report["lines"] if (x["psa_customer"], x["contract"]) == (customer, contract))


def contract_id(sandboxes: Sandboxes, customer: str, contract: str) -> int:
    return next(
        c["ContractID"]
        for c in atera(sandboxes).contracts.values()
        if (c["CustomerName"], c["ContractName"]) == (customer, contract)
    )


def edit_in_atera(sandboxes: Sandboxes, customer: str, contract: str, body: dict[str, Any]) -> None:
    """What an admin does in Atera, through its API as Atera takes it (PUT /contracts/{id})."""
    sandbox = atera(sandboxes)
    url = f"{sandbox.api_url}/contracts/{contract_id(sandboxes, customer, contract)}"
    response = httpx.put(url, json=body, headers={"X-API-KEY": DEFAULT_API_KEY})
    assert response.status_code == 204, response.text


def first_sync(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, report, err = sync(capsys, config)
    assert code == 0, err
    assert {x["outcome"] for x in report["lines"]} == {"pushed"}


def test_a_resync_where_nothing_changed_writes_nothing_and_reads_a_few_list_pages(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    first_sync(capsys, config)
    sandbox = atera(sandboxes)
    before = len(sandbox.requests)
    code, report, err = sync(capsys, config)
    assert code == 0 and report["status"] == "ok", err
    assert {x["outcome"] for x in report["lines"]} == {"unchanged"}
    requests = sandbox.requests[before:]
    assert [r for r in requests if r.method != "GET"] == []
    # Two lists (customers, contracts), one page each at 50 a page: not a read per line.
    assert sorted(r.path for r in requests) == ["/api/v3/contracts", "/api/v3/customers"]
    assert all(r.param("itemsInPage") == "50" for r in requests)
    assert len(report["lines"]) > len(requests)


def test_a_rate_changed_in_the_mapping_is_rate_differs_and_says_how_to_fix_it(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    first_sync(capsys, config)
    config.write_text(config.read_text().replace('rate = "0.12"', 'rate = "0.13"', 1))
    writes = len(atera(sandboxes).writes())
    for extra in ("--dry-run",), ():
        code, report, err = sync(capsys, config, *extra)
        assert code == 2 and report["status"] == "invalid", err
        line = line_of(report, *SERVER)
        assert line["outcome"] == "rate differs"
        assert "bills 0.12 per unit, the mapping says 0.13" in line["reason"]
        assert "set the mapping's rate back to 0.12" in line["reason"] and "new contract" in line["reason"]
    assert len(atera(sandboxes).writes()) == writes


@pytest.mark.parametrize(
    ("edit", "outcome", "says"),
    [
        ({"Active": False}, "contract inactive", "activate it in Atera"),
        ({"EndDate": "2020-01-31T00:00:00"}, "contract ended", "ended 2020-01-31"),
    ],
)
def test_a_contract_made_inactive_or_ended_in_atera_is_named_and_not_ok(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    sandboxes: Sandboxes,
    edit: dict[str, Any],
    outcome: str,
    says: str,
) -> None:
    first_sync(capsys, config)
    edit_in_atera(sandboxes, *SERVER, edit)
    code, report, err = sync(capsys, config)
    assert code == 2, err
    line = line_of(report, *SERVER)
    assert line["outcome"] == outcome and says in line["reason"]
    others = [x["outcome"] for x in report["lines"] if (x["psa_customer"], x["contract"]) != SERVER]
    assert set(others) == {"unchanged"}


def test_a_quantity_edited_in_atera_is_held_and_approving_pushes_the_connector_s_figure_again(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    first_sync(capsys, config)
    contract = atera(sandboxes).contracts[contract_id(sandboxes, *SERVER)]
    ours = Decimal(str(contract["RetainerFlatFeeContract"]["Quantity"]))
    edit_in_atera(sandboxes, *SERVER, {"RetainerFlatFeeContract": {"Quantity": 1}})
    code, dry, _ = sync(capsys, config, "--dry-run")
    assert code == 5 and line_of(dry, *SERVER)["outcome"] == "edited in PSA"
    code, report, _ = sync(capsys, config)
    assert code == 5 and report["status"] == "held"
    line = line_of(report, *SERVER)
    assert line["outcome"] == "edited in PSA"
    assert f"holds 1, not the {ours}" in line["reason"] and "Approve" in line["reason"]
    code, held, _ = cli(capsys, "review", "--config", str(config), "--format", "json")
    (waiting,) = held
    code, _, err = cli(capsys, "approve", str(waiting["id"]), "--config", str(config))
    assert code == 0, err
    code, report, _ = sync(capsys, config)
    assert code == 0 and line_of(report, *SERVER)["outcome"] == "pushed"
    assert Decimal(str(contract["RetainerFlatFeeContract"]["Quantity"])) == ours


def test_discarding_an_edit_made_in_atera_accepts_atera_s_quantity(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    first_sync(capsys, config)
    edit_in_atera(sandboxes, *SERVER, {"RetainerFlatFeeContract": {"Quantity": 1}})
    sync(capsys, config)
    code, held, _ = cli(capsys, "review", "--config", str(config), "--format", "json")
    code, _, err = cli(capsys, "discard", str(held[0]["id"]), "--config", str(config), "--note", "agreed")
    assert code == 0, err
    writes = len(atera(sandboxes).writes())
    code, report, _ = sync(capsys, config)
    assert code == 0, report
    line = line_of(report, *SERVER)
    assert line["outcome"] == "discarded" and "accepted the PSA's quantity (1)" in line["reason"]
    code, again, _ = sync(capsys, config)
    assert code == 0 and line_of(again, *SERVER)["outcome"] == "discarded"
    assert len(atera(sandboxes).writes()) == writes


def test_atera_down_with_nothing_to_push_is_not_ok(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    first_sync(capsys, config)
    atera(sandboxes).inject(Fault(status=503), times=100)
    for extra in ("--dry-run",), ():
        code, report, err = sync(capsys, config, *extra)
        assert code == 3 and report["status"] == "incomplete", err
        assert any("could not read Atera" in p and "run the sync again" in p for p in report["problems"])
        reasons = {x["reason"] for x in report["lines"] if x["outcome"] == "unchanged"}
        assert reasons == {"pushed earlier; Atera could not be read to confirm it still holds it"}


@pytest.mark.parametrize("extra", [("--dry-run",), ()])
def test_a_rejected_atera_key_is_configuration_to_fix_even_on_a_dry_run(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, extra: tuple[str, ...]
) -> None:
    atera(sandboxes).api_key = "another-key"
    code, report, err = sync(capsys, config, *extra)
    assert code == 2 and report["status"] == "invalid", err
    assert any("(401): check [atera] api_key" in p and "fix that" in p for p in report["problems"])
    assert "pushed" not in {line["outcome"] for line in report["lines"]}


def test_a_mapping_without_a_rate_bills_the_contract_s_rate(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    config.write_text(config.read_text().replace('rate = "0.12"\n', "", 1))
    code, report, err = sync(capsys, config)
    assert code == 0, err
    line = line_of(report, *SERVER)
    assert line["outcome"] == "pushed" and Decimal(str(line["rate"])) == Decimal("0.12")
    assert Decimal(str(line["amount"])) == (Decimal(str(line["quantity"])) * Decimal("0.12")).quantize(Decimal("0.01"))


def test_reconcile_names_a_contract_made_inactive_after_the_push(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    first_sync(capsys, config)
    code, rows, _ = cli(capsys, "reconcile", "--period", MONTH, "--config", str(config), "--format", "json")
    assert code == 0 and {r["why"] for r in rows} == {""}
    edit_in_atera(sandboxes, *SERVER, {"Active": False})
    code, rows, err = cli(capsys, "reconcile", "--period", MONTH, "--config", str(config), "--format", "json")
    assert code == 3
    row = next(r for r in rows if (r["psa_customer"], r["contract"]) == SERVER)
    assert row["status"] == "not invoiced yet" and row["why"].startswith("contract inactive")
    assert "activate it in Atera" in " ".join(err.split())


def test_the_table_names_each_difference_in_the_run_s_totals(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    first_sync(capsys, config)
    edit_in_atera(sandboxes, *SERVER, {"Active": False})
    code, out, _ = cli(capsys, "sync", "--config", str(config), "--dry-run")
    assert code == 2
    assert "INVALID" in out and "1 contract inactive" in out and "rate differs" not in out


def test_a_misspelled_customer_or_contract_in_a_dry_run_says_did_you_mean(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    text = config.read_text()
    text = text.replace('psa_customer = "Northwind Traders"', 'psa_customer = "Northwind Trader"')
    text = text.replace('contract = "Server backup (per GB)"', 'contract = "Server backups (per GB)"')
    config.write_text(text)
    code = main(["sync", "--config", str(config), "--dry-run", "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 2
    reasons = {(line["psa_customer"], line["contract"]): line["reason"] for line in json.loads(out)["lines"]}
    assert "did you mean 'Northwind Traders'" in reasons[("Northwind Trader", "Online backup (per GB)")]
    assert "did you mean 'Server backup (per GB)'" in reasons[("Contoso Ltd", "Server backups (per GB)")]
