"""End to end: `connector map --create-customers` onboards a portal customer in the sandbox ConnectWise through the
real command line (in-process), records every create in the audit, writes its mapping block, and the next
`connector sync` bills it on what was created, a connector-created 0 being no one's figure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.store import Store
from providers.axcient.generate import demo_dataset
from providers.axcient.sandbox import DEFAULT_PASSWORD, AxcientSandbox
from providers.connectwise.sandbox import API_PREFIX, ConnectWiseSandbox
from providers.connectwise.verify import psa_ref
from tests.conftest import write_vendor_config
from tests.e2e.conftest import cli, sync

from .support import vendor_sections

Sandboxes = tuple[AxcientSandbox, ConnectWiseSandbox]


@pytest.fixture
def sandboxes() -> Iterator[Sandboxes]:
    with AxcientSandbox(demo_dataset(), password=DEFAULT_PASSWORD) as portal, ConnectWiseSandbox() as psa:
        # Tailspin Toys signs up: its trial account moves to a paid plan, so its usage is billed.
        paid = {"service_plan": "Select", "trial_expires": None, "hard_quota_mb": None}
        accounts = [{**a, **paid} if a["customer_id"] == 4 else a for a in portal.accounts]
        portal.load({"customers": portal.customers, "accounts": accounts})
        yield portal, psa


@pytest.fixture
def config(tmp_path: Path, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The portal and ConnectWise, no customer mapped yet, and two template lines on one "Managed Backup"
    agreement whose products ConnectWise's catalog lacks (create_products lets onboarding make them)."""
    portal, psa = sandboxes
    ignored = "".join(
        f'\n[[ignored_customers]]\nsource = "axcient"\ncustomer = "{name}"\nreason = "billed by hand"\n'
        for name in ("Contoso", "Fabrikam Inc", "Northwind Traders")
    )
    path: Path = write_vendor_config(
        tmp_path,
        vendor_sections(portal, psa, monkeypatch)
        + f"""agreement_type = "Managed Services"
create_products = true

[[mapping.templates.axcient]]
metric = "axcient.pc_gb"
contract = "Workstation backup (per GB)"
rate = "0.15"
connectwise = {{ agreement = "Managed Backup", product = "BKP-PC-GB" }}

[[mapping.templates.axcient]]
metric = "axcient.devices"
contract = "Backup devices"
rate = "2.00"
connectwise = {{ agreement = "Managed Backup", product = "BKP-DEVICE" }}
{ignored}""",
    )
    return path


ONBOARD = ("--create-customers", "--customer", "Tailspin Toys")


def planned(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["kind"], s["name"]) for p in data["onboarding"]["plans"] for s in p["create"]]


def audit(config: Path) -> list[dict[str, Any]]:
    with Store.open(config.parent / "state.db") as store:
        return store.runs.audit_events()


@pytest.fixture
def onboarded(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tailspin Toys onboarded by `map --create-customers … --yes --write`, its mapping included: (the plan shown
    by the dry run, the created agreement)."""
    _, psa = sandboxes
    code, table, err = cli(capsys, "map", "-c", str(config), *ONBOARD, "--dry-run")
    assert code == 0, err
    assert "To create in the PSA" in table and "TailspinToys" in table, table  # the identifier it will get
    code, shown, err = cli(capsys, "map", "-c", str(config), *ONBOARD, "--dry-run", "--format", "json")
    assert code == 0, err
    assert psa.writes() == []
    assert planned(shown) == [
        ("customer", "Tailspin Toys"),
        ("contact", "Dev Diaz <dev@tailspin.example>"),
        ("product", "BKP-PC-GB"),
        ("product", "BKP-DEVICE"),
        ("agreement", "Managed Backup"),
        ("addition", "Managed Backup / BKP-PC-GB"),
        ("addition", "Managed Backup / BKP-DEVICE"),
    ]
    written = config.parent / "mappings.toml"
    code, done, err = cli(
        capsys, "map", "-c", str(config), *ONBOARD, "--yes", "--write", str(written), "--format", "json"
    )
    assert code == 0, err
    assert planned(done) == planned(shown)
    assert [(w.method, re.sub(r"/\d+", "/{id}", w.path.removeprefix(API_PREFIX))) for w in psa.writes()] == [
        ("POST", "/company/companies"),
        ("POST", "/company/contacts"),
        ("POST", "/procurement/catalog"),
        ("POST", "/procurement/catalog"),
        ("POST", "/finance/agreements"),
        ("POST", "/finance/agreements/{id}/additions"),
        ("POST", "/finance/agreements/{id}/additions"),
    ]
    [company] = [c for c in psa.companies.values() if c["name"] == "Tailspin Toys"]
    [agreement] = [a for a in psa.agreements.values() if a["company"]["id"] == company["id"]]
    text = written.read_text()
    assert f"psa_customer_id = {company['id']}" in text and 'product = "BKP-DEVICE"' in text
    config.write_text(config.read_text() + '\n[mappings]\nfile = "mappings.toml"\n')
    return shown, agreement


def test_map_create_customers_creates_what_it_showed_and_records_it(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    sandboxes: Sandboxes,
    onboarded: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, psa = sandboxes
    shown, agreement = onboarded
    [plan] = shown["onboarding"]["plans"]
    start = next(s["detail"] for s in plan["create"] if s["kind"] == "agreement").rsplit("from ", 1)[1]
    assert agreement["startDate"] == f"{start}T00:00:00Z"
    additions = psa.additions[agreement["id"]].values()
    assert sorted((a["product"]["identifier"], a["quantity"], a["unitPrice"]) for a in additions) == [
        ("BKP-DEVICE", 0, 2.0),
        ("BKP-PC-GB", 0, 0.15),
    ]
    events = [e for e in audit(config) if e["subject"] == "Tailspin Toys"]
    assert [e["event"] for e in events] == [
        "onboard_started",
        "connectwise.company_created",
        "connectwise.contact_created",
        "connectwise.product_created",
        "connectwise.product_created",
        "connectwise.agreement_created",
        "connectwise.addition_created",
        "connectwise.addition_created",
        "onboard_completed",
    ]
    refs = {e["details"]["psa_ref"] for e in events if e["event"] == "connectwise.addition_created"}
    assert refs == {psa_ref(agreement["id"], a["id"]) for a in additions}
    # A second run finds all of it: nothing to create, nothing written.
    before = len(psa.writes())
    code, again, err = cli(capsys, "map", "-c", str(config), "--create-customers", "--yes", "--format", "json")
    assert code == 0, err
    assert planned(again) == [] and len(psa.writes()) == before


def test_the_next_sync_bills_the_new_customer_with_no_line_held_for_the_connector_s_0(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    sandboxes: Sandboxes,
    onboarded: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, psa = sandboxes
    shown, agreement = onboarded
    [plan] = shown["onboarding"]["plans"]
    first = {s["detail"].split("first period ")[1].split(",")[0] for s in plan["create"] if s["kind"] == "addition"}
    code, report, err = sync(capsys, config)
    lines = {r["contract"]: r for r in report["lines"] if r["psa_customer"] == "Tailspin Toys"}
    assert set(lines) == {"Workstation backup (per GB)", "Backup devices"}, err
    assert {r["period_key"] for r in lines.values()} == first
    assert [(r["outcome"], r.get("reason")) for r in lines.values()] == [("pushed", ""), ("pushed", "")]
    assert code == 0, err
    held = {a["product"]["identifier"]: a["quantity"] for a in psa.additions[agreement["id"]].values()}
    assert held["BKP-DEVICE"] == 1
    assert held["BKP-PC-GB"] == float(lines["Workstation backup (per GB)"]["quantity"]) > 0
