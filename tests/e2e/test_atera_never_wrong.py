"""End to end, "never wrong" with Atera: a list that shifts while it is read stops the run instead of creating a
second contract; a push changes only the Quantity of a contract current when it is written; a contract is created
only where no close one exists; a contract pushed that no mapping names any more is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.operations.demo import Sandboxes
from providers.atera.sandbox import AteraSandbox
from providers.sandbox import SandboxRequest, SandboxResponse

from .conftest import cli, sync

SERVER = ("Contoso Ltd", "axcient.server_gb")
M365 = 'contract = "Microsoft 365 backup (per user)"\nrate = "3.50"\n'


def atera(sandboxes: Sandboxes) -> AteraSandbox:
    sandbox = sandboxes["atera"]
    assert isinstance(sandbox, AteraSandbox)
    return sandbox


def outcomes(report: dict[str, object]) -> dict[tuple[str, str], str]:
    lines = report["lines"]
    assert isinstance(lines, list)
    return {(x["psa_customer"], x["metric"]): x["outcome"] for x in lines}


def test_a_contract_deactivated_after_the_run_listed_it_stays_inactive_and_unbilled(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    sandbox = atera(sandboxes)
    ended: list[bool] = []

    def deactivate_at_the_first_write(request: SandboxRequest) -> SandboxResponse | None:
        # After the run listed the contracts, before Contoso's server backup is pushed: someone ends it in Atera.
        if not ended:
            ended.append(True)
            sandbox.contracts[101].update(Active=False, EndDate="2026-01-31T00:00:00")
        return None

    sandbox.before_write = deactivate_at_the_first_write
    code, report, err = sync(capsys, config)
    assert ended
    assert outcomes(report)[SERVER] == "contract inactive"
    assert code == 2, err
    assert (sandbox.contracts[101]["Active"], sandbox.contracts[101]["EndDate"]) == (False, "2026-01-31T00:00:00")
    assert not [r for r in sandbox.writes() if r.method == "PUT" and r.path == "/api/v3/contracts/101"]


def test_a_typo_in_a_creatable_contract_name_creates_nothing_and_says_did_you_mean(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    typo = 'contract = "Server backup per GB"\nrate = "0.12"\n'
    creatable = 'atera = { rate_sku = "BFF-SERVER-GB", create_if_missing = true }\n'
    text = config.read_text().replace('contract = "Server backup (per GB)"\nrate = "0.12"\n', typo + creatable)
    config.write_text(text)
    code, found, err = cli(capsys, "check", "--online", "--config", str(config), "--format", "json")
    assert code == 2, err
    flagged = next(f for f in found["online"] if f["check"] == "contract 'Contoso Ltd' / 'Server backup per GB'")
    assert "did you mean 'Server backup (per GB)' (id 101)?" in flagged["problem"]
    created = next(f for f in found["online"] if f["check"] == "contract 'Contoso Ltd' / 'Workstation backup (per PC)'")
    assert "would be created at the first push" in created["note"]

    code, report, err = sync(capsys, config)
    assert code == 2, err
    assert outcomes(report)[SERVER] == "contract missing"
    server = next(x for x in report["lines"] if (x["psa_customer"], x["metric"]) == SERVER)
    assert "did you mean 'Server backup (per GB)' (id 101)?" in server["reason"]
    sandbox = atera(sandboxes)
    assert [c for c in sandbox.contracts.values() if c["ContractName"] == "Server backup per GB"] == []


def test_a_contract_pushed_that_no_mapping_names_any_more_is_reported_by_status_and_alerted(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    code, report, err = sync(capsys, config)
    assert outcomes(report)[("Fabrikam Inc", "altaro.billed_users")] == "pushed", err
    # The mapping no longer names Fabrikam's Microsoft 365 contract, which still bills the 5 users pushed to it.
    text = config.read_text()
    fabrikam = text.index('psa_customer = "Fabrikam Inc"')
    start = text.index("[[customers.lines]]", fabrikam)
    end = text.index("[[customers.lines]]", start + 1)
    config.write_text(text[:start] + text[end:])

    code, report, err = sync(capsys, config)
    assert code == 3, err
    (stray,) = report["strays"]
    assert (stray["contract"], stray["quantity"]) == ("contract/103", "5")
    assert "no mapping names it any more" in stray["reason"]
    assert report["status"] == "incomplete"

    code, status, err = cli(capsys, "status", "--config", str(config), "--format", "json")
    assert code == 3, err
    assert any("Microsoft 365 backup (per user)" in note and "no mapping" in note for note in status["attention"])


def test_a_contract_list_that_shifts_between_pages_stops_the_run_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    text = config.read_text()
    # Two contracts a page, and Fabrikam's existing Microsoft 365 contract (103, first of page 2) creatable.
    text = text.replace("[atera]\n", "[atera]\nitems_in_page = 2\n", 1)
    fabrikam = text.index('psa_customer = "Fabrikam Inc"')
    at = text.index(M365, fabrikam) + len(M365)
    text = text[:at] + 'atera = { rate_sku = "M365-BACKUP-USER", create_if_missing = true }\n' + text[at:]
    config.write_text(text)
    sandbox = sandboxes["atera"]
    assert isinstance(sandbox, AteraSandbox)
    shifted: list[int] = []

    def delete_between_pages(request: SandboxRequest) -> None:
        # Contoso's hourly contract 102 deleted while page 1 is read: 103 moves onto page 1, unseen.
        if request.path == "/api/v3/contracts" and request.param("page") == "2" and not shifted:
            shifted.append(sandbox.contracts.pop(102)["ContractID"])

    sandbox.before_read = delete_between_pages
    code, report, err = sync(capsys, config)
    assert code == 3, err
    assert report["status"] == "incomplete"
    assert any("GET /contracts: the listing is inconsistent" in problem for problem in report["problems"])
    named = [
        c["ContractID"] for c in sandbox.contracts.values() if c["ContractName"] == "Microsoft 365 backup (per user)"
    ]
    assert sorted(c for c in named if sandbox.contracts[c]["CustomerID"] == 2) == [103]
