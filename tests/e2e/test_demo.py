"""End to end: `connector demo` as a user runs it: real CLI process, sandboxes on 127.0.0.1, real pushes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from providers.altaro.demo import demo_report
from providers.axcient.generate import demo_dataset
from tests.clock import frozen_python

REPO = Path(__file__).resolve().parents[2]
USER_TYPES = {"mailbox", "n/a", "onedrive", "user teams chats"}
# The demo configuration's exclusions: (customer glob, object name glob).
EXCLUDED = [("*", "test-*"), ("Contoso Ltd", "shared-*")]


def expected_users() -> dict[str, int]:
    """Billed users by the vendor's rule, computed here from the demo report without the connector's parser."""
    users: dict[str, set[str]] = {}
    for row in csv.DictReader(io.StringIO(demo_report("2026-11"))):
        customer, name = row["Customer Name"], row["Object Name"]
        if row["Object Type Backed Up"].strip().casefold() not in USER_TYPES:
            continue
        if any(fnmatch(customer, c) and fnmatch(name.casefold(), n) for c, n in EXCLUDED):
            continue
        users.setdefault(customer, set()).add(name.casefold())
    return {customer: len(names) for customer, names in users.items()}


def expected_axcient() -> dict[str, dict[str, Decimal]]:
    """Per portal customer: billable PC/server GB (compressed, 1024 MB) and PCs, from the demo data set."""
    data = demo_dataset()
    by_id = {a["id"]: a for a in data["accounts"]}
    names = {c["id"]: c["name"] for c in data["customers"]}
    totals: dict[str, dict[str, Decimal]] = {}
    for account in data["accounts"]:
        plan = by_id[account["parent_id"]]["service_plan"] if account["parent_id"] else account["service_plan"]
        if account["status"] != "active" or plan.startswith("Trial"):
            continue
        sums = totals.setdefault(names[account["customer_id"]], {"pc_gb": Decimal(0), "server_gb": Decimal(0)})
        sums.setdefault("pc_devices", Decimal(0))
        sums[f"{account['device_type']}_gb"] += Decimal(account["used_mb_compressed"]) / 1024
        if account["device_type"] == "pc":
            sums["pc_devices"] += 1
    for sums in totals.values():
        sums["total_gb"] = sums["pc_gb"] + sums["server_gb"]
    return totals


def run_demo(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run(
        frozen_python("-m", "connector.cli", "demo", "--dir", str(tmp_path / "demo"), "--format", "json"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return done, json.loads(done.stdout or "null")


def test_the_demo_pushes_each_line_once_with_the_right_quantities(tmp_path: Path) -> None:
    done, result = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    dry, first, second = (step["report"] for step in result["steps"])
    users, axcient = expected_users(), expected_axcient()
    wanted = {
        ("Contoso Ltd", "altaro.billed_users"): users["Contoso Ltd"],
        ("Contoso Ltd", "axcient.server_gb"): axcient["Contoso"]["server_gb"],
        ("Contoso Ltd", "axcient.pc_devices"): axcient["Contoso"]["pc_devices"],
        ("Fabrikam Inc", "altaro.billed_users"): users["Fabrikam"],
        ("Fabrikam Inc", "axcient.pc_gb"): axcient["Fabrikam Inc"]["pc_gb"],
        ("Northwind Traders", "altaro.billed_users"): users["Northwind Traders"],
        ("Northwind Traders", "axcient.total_gb"): axcient["Northwind Traders"]["total_gb"],
    }

    def quantities(report: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
        return {(line["psa_customer"], line["metric"]): Decimal(str(line["quantity"])) for line in report["lines"]}

    # The dry run computes everything and writes nothing; the sync pushes it all; the rerun writes nothing.
    assert quantities(dry) == quantities(first) == quantities(second) == wanted
    assert {line["outcome"] for line in dry["lines"]} == {"planned"} and result["steps"][0]["atera_writes"] == 0
    assert {line["outcome"] for line in first["lines"]} == {"pushed"} and result["steps"][1]["atera_writes"] > 0
    assert {line["outcome"] for line in second["lines"]} == {"unchanged"} and result["steps"][2]["atera_writes"] == 0
    assert all(report["status"] == "ok" and not report["unmapped"] for report in (dry, first, second))
    # Amounts are rate x quantity, rounded once.
    for line in first["lines"]:
        assert Decimal(str(line["amount"])) == (Decimal(str(line["quantity"])) * Decimal(str(line["rate"]))).quantize(
            Decimal("0.01")
        )
    # Atera, read back, holds exactly those quantities on one contract per line.
    held = {(c["customer"], c["contract"]): Decimal(str(c["quantity"])) for c in result["atera_contracts"]}
    for line in first["lines"]:
        assert held[(line["psa_customer"], line["contract"])] == Decimal(str(line["quantity"]))


def test_the_demo_leaves_a_usable_store_and_keeps_secrets_out_of_it(tmp_path: Path) -> None:
    done, result = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    demo_dir = tmp_path / "demo"
    secrets = [p.read_text().strip() for p in (demo_dir / "secrets").iterdir()]
    assert len(secrets) == 4  # three vendors' keys and the console person's password
    config = (demo_dir / "connector.toml").read_text()
    assert '[[console.users]]\nname = "demo"\nrole = "approver"' in config
    assert oct((demo_dir / "secrets" / "console-demo.key").stat().st_mode & 0o777) == "0o600"
    for secret in secrets:
        assert secret not in done.stdout and secret not in done.stderr
        assert secret not in (demo_dir / "connector.toml").read_text()
        assert secret.encode() not in Path(result["store"]).read_bytes()
    assert oct((demo_dir / "connector-state.db").stat().st_mode & 0o777) == "0o600"
    explained = subprocess.run(
        frozen_python("-m", "connector.cli", "explain", "Contoso Ltd", "--config", result["config"], "-f", "json"),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert explained.returncode == 0, explained.stderr
    lines = {item["metric"]: item for item in json.loads(explained.stdout)}
    users = lines["altaro.billed_users"]
    assert users["status"] == "pushed"
    assert [h["status"] for h in users["history"]][-1] == "pushed"
    explanation = users["inputs"]["observations"]["explanation"]
    assert "test-mailbox" not in explanation["objects"] and "Ada Moss" in explanation["objects"]
