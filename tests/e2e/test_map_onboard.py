"""End to end: `connector map --create-customers` onboards unmatched vendor customers in the sandbox Atera, and
`connector map` lists Atera customers with backup contracts but no vendor data."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.operations.demo import Sandboxes, write_config
from connector.store import Store
from providers.sandbox import Fault, SandboxRequest, SandboxResponse
from tests.clock import frozen_python
from tests.conftest import WallClock
from tests.e2e.conftest import cli, sync

REPO = Path(__file__).resolve().parents[2]

TEMPLATES = """
[[mapping.templates.altaro]]
metric = "altaro.billed_users"
contract = "Microsoft 365 backup (per user)"
rate = "3.50"
atera = { rate_sku = "M365-BACKUP-USER" }

[[mapping.templates.axcient]]
metric = "axcient.total_gb"
contract = "Online backup (per GB)"
rate = "0.10"
atera = { rate_sku = "BFF-GB" }

[[mapping.templates.axcient]]
metric = "axcient.devices"
contract = "Backup devices"
rate = "2.00"
atera = { rate_sku = "BFF-DEVICE" }
"""


@pytest.fixture
def config(tmp_path: Path, sandboxes: Sandboxes) -> Path:
    """The demo's configuration with no customer block and no ignore: every vendor customer but the demo's mapped
    ones matches by name; Tailspin Toys (portal) and Example MSP (internal) (Altaro) are unmatched."""
    path = write_config(tmp_path, sandboxes)
    head = (
        path.read_text()
        .split("[[customers]]")[0]
        .replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0")
    )
    path.write_text(head + TEMPLATES)
    return path


def atera_writes(sandboxes: Sandboxes) -> list[tuple[str, dict[str, Any]]]:
    return [(r.path.removeprefix("/api/v3"), r.json()) for r in sandboxes["atera"].writes()]


def created(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((p["psa_customer"], s["kind"], s["name"]) for p in plan["plans"] for s in p["create"])


def audit(config: Path) -> list[dict[str, Any]]:
    with Store.open(config.parent / "connector-state.db") as store:
        return store.runs.audit_events()


def test_creation_writes_only_what_was_shown(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    code, shown, err = cli(capsys, "map", "-c", str(config), "--create-customers", "--dry-run", "--format", "json")
    assert code == 0, err
    assert atera_writes(sandboxes) == []
    assert created(shown["onboarding"]) == [
        ("Example MSP (internal)", "contract", "Microsoft 365 backup (per user)"),
        ("Example MSP (internal)", "customer", "Example MSP (internal)"),
        ("Tailspin Toys", "contact", "Dev Diaz <dev@tailspin.example>"),
        ("Tailspin Toys", "contract", "Backup devices"),
        ("Tailspin Toys", "contract", "Online backup (per GB)"),
        ("Tailspin Toys", "customer", "Tailspin Toys"),
        ("Tailspin Toys", "rate", "BFF-DEVICE"),
        ("Tailspin Toys", "rate", "BFF-GB"),
    ]
    code, done, err = cli(capsys, "map", "-c", str(config), "--create-customers", "--yes", "--format", "json")
    assert code == 0, err
    assert created(done["onboarding"]) == created(shown["onboarding"])
    writes = atera_writes(sandboxes)
    made = sorted(
        [("customer", body["CustomerName"]) for path, body in writes if path == "/customers"]
        + [("contact", body["Email"]) for path, body in writes if path == "/contacts"]
        + [("rate", body["SKU"]) for path, body in writes if path == "/rates/products"]
        + [("contract", body["ContractName"]) for path, body in writes if path == "/contracts"]
    )
    customers = [("customer", "Example MSP (internal)"), ("customer", "Tailspin Toys")]
    rates = [("rate", "BFF-DEVICE"), ("rate", "BFF-GB")]
    contracts = [
        ("contract", n) for n in ("Microsoft 365 backup (per user)", "Online backup (per GB)", "Backup devices")
    ]
    assert made == sorted([*customers, ("contact", "dev@tailspin.example"), *rates, *contracts])
    atera = sandboxes["atera"]
    [tailspin] = [c for c in atera.customers.values() if c["CustomerName"] == "Tailspin Toys"]
    [contact] = [c for c in atera.contacts if c["CustomerID"] == tailspin["CustomerID"]]
    assert (contact["Firstname"], contact["Lastname"], contact["IsContactPerson"]) == ("Dev", "Diaz", True)
    contracts = {c["ContractName"]: c for c in atera.contracts.values() if c["CustomerID"] == tailspin["CustomerID"]}
    retainer = contracts["Online backup (per GB)"]["RetainerFlatFeeContract"]
    assert (retainer["Rate"]["SKU"], retainer["Rate"]["Amount"], retainer["Quantity"]) == ("BFF-GB", 0.1, 0)
    events = [e["event"] for e in audit(config)]
    assert events.count("atera.customer_created") == 2 and events.count("atera.contract_created") == 3
    assert events.count("onboard_started") == events.count("onboard_completed") == 2


def test_a_second_run_creates_nothing(capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes) -> None:
    code, _, err = cli(capsys, "map", "-c", str(config), "--create-customers", "--yes")
    assert code == 0, err
    before = len(sandboxes["atera"].writes())
    code, again, err = cli(capsys, "map", "-c", str(config), "--create-customers", "--yes", "--format", "json")
    assert code == 0, err
    assert created(again["onboarding"]) == []
    assert len(sandboxes["atera"].writes()) == before
    # The new customers now match their vendor customers by name.
    assert {i["vendor_customer"]["name"] for i in again["unmatched"]} == set()


def test_a_failure_between_creates_is_finished_by_the_next_run_without_duplicates(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    atera = sandboxes["atera"]
    atera.inject(Fault(status=400, path_prefix="/api/v3/contracts", method="POST"))
    args = ("map", "-c", str(config), "--create-customers", "--customer", "Tailspin Toys", "--yes")
    code, _, err = cli(capsys, *args)
    assert code == 3
    assert "running the same command again finishes it" in err
    assert [c["CustomerName"] for c in atera.customers.values()].count("Tailspin Toys") == 1
    code, out, err = cli(capsys, *args, "--format", "json")
    assert code == 0, err
    # Taken up again although Tailspin Toys now matches by name; only what is missing is made (the first contract's
    # rate product was made before its contract failed).
    assert created(out["onboarding"]) == [
        ("Tailspin Toys", "contract", "Backup devices"),
        ("Tailspin Toys", "contract", "Online backup (per GB)"),
        ("Tailspin Toys", "rate", "BFF-DEVICE"),
    ]
    assert [c["CustomerName"] for c in atera.customers.values()].count("Tailspin Toys") == 1
    assert len([c for c in atera.contacts if c["Email"] == "dev@tailspin.example"]) == 1
    assert len([r for r in atera.rates["products"].values() if r["SKU"] == "BFF-GB"]) == 1
    code, out, _ = cli(capsys, "map", "-c", str(config), "--create-customers", "--yes", "--format", "json")
    assert ("Tailspin Toys", "customer", "Tailspin Toys") not in created(out["onboarding"])


def test_without_a_terminal_and_without_yes_nothing_is_created(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    code, out, err = cli(capsys, "map", "-c", str(config), "--create-customers")
    assert code == 2
    assert "--yes" in err and "nothing was created" in err
    assert "To create in the PSA" in out
    assert sandboxes["atera"].writes() == []


def test_in_a_terminal_it_asks_and_a_no_creates_nothing(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr("connector.cli.map._in_terminal", lambda: True)
    monkeypatch.setattr("typer.confirm", lambda text, **_: asked.append(text) or False)
    code, _, err = cli(capsys, "map", "-c", str(config), "--create-customers")
    assert code == 0
    assert asked == ["Create these 8 item(s) in the PSA?"]
    assert "nothing was created" in err
    assert sandboxes["atera"].writes() == []


def test_a_template_without_a_rate_sku_names_the_key_and_creates_nothing_for_that_customer(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    config.write_text(config.read_text().replace('atera = { rate_sku = "BFF-DEVICE" }', ""))
    code, _, err = cli(capsys, "map", "-c", str(config), "--create-customers", "--yes")
    assert code == 2
    assert "Tailspin Toys: [mapping.templates] axcient.devices (contract 'Backup devices'): give atera" in err
    names = [c["CustomerName"] for c in sandboxes["atera"].customers.values()]
    assert "Tailspin Toys" not in names and "Example MSP (internal)" in names


def test_a_created_customer_is_written_and_billed_by_the_next_sync(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    portal = sandboxes["axcient"]
    # Tailspin signs up: its trial account moves to a paid plan, so its usage is billed.
    paid = {"service_plan": "Select", "trial_expires": None, "hard_quota_mb": None}
    portal.load(
        {
            "customers": portal.customers,
            "accounts": [{**a, **paid} if a["customer_id"] == 4 else a for a in portal.accounts],
        }
    )
    written = tmp_path / "mappings.toml"
    args = ("--create-customers", "--customer", "Tailspin Toys", "--yes", "--write", str(written))
    code, _, err = cli(capsys, "map", "-c", str(config), *args)
    assert code == 0, err
    text = written.read_text()
    assert "# created in the PSA by `connector map --create-customers`" in text
    assert 'psa_customer = "Tailspin Toys"' in text and 'axcient = { customer = "Tailspin Toys", id = "4" }' in text
    config.write_text(config.read_text() + '\n[mappings]\nfile = "mappings.toml"\n')
    code, summary, err = cli(capsys, "check", "-c", str(config), "--json")
    assert code == 0, err
    assert summary["customers"] == 4  # the three exact matches and the new customer
    code, report, err = sync(capsys, config)
    lines = {r["contract"]: r for r in report["lines"] if r["psa_customer"] == "Tailspin Toys"}
    assert set(lines) == {"Online backup (per GB)", "Backup devices"}
    assert [r["outcome"] for r in lines.values()] == ["pushed", "pushed"], [
        (r["outcome"], r.get("reason")) for r in lines.values()
    ]
    atera = sandboxes["atera"]
    [tailspin] = [c["CustomerID"] for c in atera.customers.values() if c["CustomerName"] == "Tailspin Toys"]
    held = {
        c["ContractName"]: c["RetainerFlatFeeContract"]["Quantity"]
        for c in atera.contracts.values()
        if c["CustomerID"] == tailspin
    }
    assert held["Backup devices"] == 1
    assert held["Online backup (per GB)"] == float(lines["Online backup (per GB)"]["quantity"]) > 0


def test_map_lists_atera_customers_with_backup_contracts_but_no_vendor_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sandboxes: Sandboxes
) -> None:
    demo = write_config(tmp_path, sandboxes)
    atera = sandboxes["atera"]
    atera.customers[90] = {"CustomerID": 90, "CustomerName": "Woodgrove Bank"}
    server = next(c for c in atera.contracts.values() if c["ContractName"] == "Server backup (per GB)")
    atera.contracts[91] = {**server, "ContractID": 91, "CustomerID": 90, "CustomerName": "Woodgrove Bank"}
    code, data, err = cli(capsys, "map", "-c", str(demo), "--format", "json")
    assert code == 0, err
    assert data["psa_only"] == [{"name": "Woodgrove Bank", "id": 90, "contracts": ["Server backup (per GB)"]}]
    code, out, _ = cli(capsys, "map", "-c", str(demo))
    assert "PSA customers with backup contracts but no vendor data" in out and "Woodgrove Bank" in out


def test_a_contract_name_pattern_names_each_new_customer_s_own_contract(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    config.write_text(config.read_text().replace('contract = "Backup devices"', 'contract = "{customer}: devices"'))
    written = tmp_path / "mappings.toml"
    args = ("--create-customers", "--customer", "4", "--yes", "--write", str(written), "--format", "json")
    code, out, err = cli(capsys, "map", "-c", str(config), *args)
    assert code == 0, err
    assert ("Tailspin Toys", "contract", "Tailspin Toys: devices") in created(out["onboarding"])
    names = {c["ContractName"] for c in sandboxes["atera"].contracts.values()}
    assert "Tailspin Toys: devices" in names and "{customer}: devices" not in names
    # The written blocks name each customer's own contract, the new one's and the matched ones' alike.
    text = written.read_text()
    assert 'contract = "Tailspin Toys: devices"' in text and 'contract = "Contoso Ltd: devices"' in text
    assert "{customer}" not in text


def test_yes_without_create_customers_is_refused(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, _, err = cli(capsys, "map", "-c", str(config), "--yes")
    assert code == 2 and "--create-customers" in err


def test_on_7_december_in_arrears_a_new_contract_starts_in_december_as_the_sync_bills_it(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, tmp_path: Path, wall_clock: WallClock
) -> None:
    """November waits for its invoice until the 10th; a customer onboarded on the 7th has no November to bill, so
    its contracts start on 1 December (a November invoicing run would read them otherwise) and the sync bills
    December on them."""
    assert wall_clock.coordinates is not None
    wall_clock.coordinates.move_to(datetime(2026, 12, 7, 10, tzinfo=UTC))
    args = ("map", "-c", str(config), "--create-customers", "--customer", "Tailspin Toys")
    code, shown, err = cli(capsys, *args, "--dry-run", "--format", "json")
    assert code == 0, err
    [plan] = shown["onboarding"]["plans"]
    details = {s["detail"] for s in plan["create"] if s["kind"] == "contract"}
    assert details and all(d.endswith("first period 2026-12, from 2026-12-01") for d in details), details
    written = tmp_path / "mappings.toml"
    code, _, err = cli(capsys, *args, "--yes", "--write", str(written))
    assert code == 0, err
    atera = sandboxes["atera"]
    [tailspin] = [c["CustomerID"] for c in atera.customers.values() if c["CustomerName"] == "Tailspin Toys"]
    starts = {c["StartDate"] for c in atera.contracts.values() if c["CustomerID"] == tailspin}
    assert starts == {"2026-12-01T00:00:00"}
    config.write_text(config.read_text() + '\n[mappings]\nfile = "mappings.toml"\n')
    _, report, err = sync(capsys, config, "--dry-run")
    periods = {r["period_key"] for r in report["lines"] if r["psa_customer"] == "Tailspin Toys"}
    assert periods == {"2026-12"}, err


def test_writing_into_the_included_mapping_file_keeps_every_block_and_says_it_is_included(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    written = tmp_path / "mappings.toml"
    code, _, err = cli(capsys, "map", "-c", str(config), "--write", str(written))
    assert code == 0, err
    config.write_text(config.read_text() + '\n[mappings]\nfile = "mappings.toml"\n')
    before = written.read_text() + "# a note of the MSP's own\n"
    written.write_text(before)
    args = ("--create-customers", "--customer", "Tailspin Toys", "--yes", "--write", str(written))
    code, out, err = cli(capsys, "map", "-c", str(config), *args)
    assert code == 0, err
    text = written.read_text()
    assert text.startswith(before)  # every block as it was, comments and all
    assert text.count("[[customers]]") == 4 and 'psa_customer = "Tailspin Toys"' in text
    backup = tmp_path / "mappings.toml.bak"
    assert backup.read_text() == before and str(backup) in out
    assert "already includes it" in out and "[mappings]" not in out
    assert sorted(p.name for p in tmp_path.glob(".mappings.toml*")) == []  # written through a renamed temporary file
    code, summary, err = cli(capsys, "check", "-c", str(config), "--json")
    assert code == 0, err
    assert summary["customers"] == 4


def test_writing_into_an_existing_mapping_file_adds_only_what_it_lacks(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    written = tmp_path / "mappings.toml"
    by_hand = (
        '# Contoso is billed by hand for now\n[[customers]]\npsa_customer = "Contoso Ltd"\n'
        'altaro = { customer = "Contoso Ltd" }\naxcient = { customer = "Contoso" }\n'
    )
    written.write_text(by_hand)
    code, out, err = cli(capsys, "map", "-c", str(config), "--write", str(written))
    assert code == 0, err
    text = written.read_text()
    assert text.startswith(by_hand) and text.count('psa_customer = "Contoso Ltd"') == 1
    assert 'psa_customer = "Fabrikam Inc"' in text and 'psa_customer = "Northwind Traders"' in text
    assert "wrote 2 mapping(s)" in out
    config.write_text(config.read_text() + '\n[mappings]\nfile = "mappings.toml"\n')
    code, summary, err = cli(capsys, "check", "-c", str(config), "--json")
    assert code == 0, err
    assert summary["customers"] == 3
    # Nothing left to add: the file is not touched again.
    (tmp_path / "mappings.toml.bak").unlink()
    code, out, err = cli(capsys, "map", "-c", str(config), "--write", str(written))
    assert code == 0, err
    assert written.read_text() == text and not (tmp_path / "mappings.toml.bak").exists()
    assert "nothing new to write" in out


@pytest.mark.parametrize("content", ["not = [valid toml\n", '[atera]\nurl = "https://example.invalid"\n'])
def test_a_file_that_is_no_mapping_file_is_replaced_only_with_force(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, tmp_path: Path, content: str
) -> None:
    target = tmp_path / "other.toml"
    target.write_text(content)
    args = ("map", "-c", str(config), "--create-customers", "--yes", "--write", str(target))
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert "--force" in err and str(target) in err
    assert target.read_text() == content
    assert sandboxes["atera"].writes() == []  # refused before anything was created
    code, out, err = cli(capsys, *args, "--force")
    assert code == 0, err
    assert 'psa_customer = "Tailspin Toys"' in target.read_text()
    assert (tmp_path / "other.toml.bak").read_text() == content and "other.toml.bak" in out


def tailspin_contracts(sandboxes: Sandboxes) -> list[str]:
    """The contracts of every Atera customer named Tailspin Toys: there must be one such customer."""
    atera = sandboxes["atera"]
    [tailspin] = [c["CustomerID"] for c in atera.customers.values() if c["CustomerName"] == "Tailspin Toys"]
    return sorted(c["ContractName"] for c in atera.contracts.values() if c["CustomerID"] == tailspin)


def test_a_second_onboarding_while_the_first_holds_the_store_creates_nothing(
    config: Path, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    atera = sandboxes["atera"]
    serve: Callable[[SandboxRequest], SandboxResponse] = atera.handle
    inside, leave = threading.Event(), threading.Event()

    def first_contract_waits(request: SandboxRequest) -> SandboxResponse:
        # The first run stops inside its first contract create, its customer made, until the second has run.
        if request.method == "POST" and request.path.endswith("/contracts") and not inside.is_set():
            inside.set()
            leave.wait(30)
        return serve(request)

    monkeypatch.setattr(atera, "handle", first_contract_waits)
    args = ["map", "-c", str(config), "--create-customers", "--customer", "Tailspin Toys", "--yes"]
    codes: list[int] = []
    first = threading.Thread(target=lambda: codes.append(main(args)))
    first.start()
    try:
        assert inside.wait(30)
        second = subprocess.run(
            frozen_python("-m", "connector.cli", *args), capture_output=True, text=True, timeout=60, cwd=REPO
        )
    finally:
        leave.set()
        first.join(30)
    assert second.returncode == 4, second.stderr
    assert "onboarding (connector map --create-customers) is already running" in second.stderr
    assert codes == [0]
    assert tailspin_contracts(sandboxes) == ["Backup devices", "Online backup (per GB)"]


def test_a_customer_onboarded_by_another_run_since_the_plan_is_found_not_made_again(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    sandboxes: Sandboxes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["map", "-c", str(config), "--create-customers", "--customer", "Tailspin Toys"]
    others: list[subprocess.CompletedProcess[str]] = []

    def another_run_meanwhile(text: str, **_: object) -> bool:
        # While this run waits for its answer (holding nothing), another one onboards the same customer.
        command = frozen_python("-m", "connector.cli", *args, "--yes")
        others.append(subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO))
        return True

    monkeypatch.setattr("connector.cli.map._in_terminal", lambda: True)
    monkeypatch.setattr("typer.confirm", another_run_meanwhile)
    written = tmp_path / "mappings.toml"
    code, out, err = cli(capsys, *args, "--write", str(written))
    [other] = others
    assert other.returncode == 0, other.stderr
    assert code == 0, err
    assert tailspin_contracts(sandboxes) == ["Backup devices", "Online backup (per GB)"]
    assert "Tailspin Toys: found in the PSA since the plan was shown" in err
    assert "Created (recorded in the audit log)" not in out
    assert 'psa_customer = "Tailspin Toys"' in written.read_text()
