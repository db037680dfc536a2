"""End to end: `connector demo --psa connectwise` through the real CLI, in this process: the same three steps as the
Atera demo against the sandbox ConnectWise, every line pushed once onto its addition, nothing written again."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.core.errors import Status, exit_code_for
from providers.connectwise.sandbox import DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY
from providers.connectwise.verify import parse_ref

from .conftest import cli
from .test_demo import expected_axcient, expected_users

# The products the demo's mapping adds to the customers' agreements (`create_if_missing`), and those it finds.
CREATED = {("Contoso Ltd", "BKP-WS-PC"), ("Fabrikam Inc", "BKP-WS-GB"), ("Northwind Traders", "BKP-ONLINE-GB")}
FOUND = {
    ("Contoso Ltd", "BKP-M365-USER"),
    ("Contoso Ltd", "BKP-SERVER-GB"),
    ("Fabrikam Inc", "BKP-M365-USER"),
    ("Northwind Traders", "BKP-M365-USER"),
}
# One PATCH per addition found (quantity and record together), one POST per addition created.
FIRST_PUSH_WRITES = len(FOUND) + len(CREATED)


def wanted() -> dict[tuple[str, str], Decimal]:
    """Each demo line's quantity by the vendors' rules, computed from the demo data without the connector."""
    users, axcient = expected_users(), expected_axcient()
    return {
        ("Contoso Ltd", "altaro.billed_users"): Decimal(users["Contoso Ltd"]),
        ("Contoso Ltd", "axcient.server_gb"): axcient["Contoso"]["server_gb"],
        ("Contoso Ltd", "axcient.pc_devices"): axcient["Contoso"]["pc_devices"],
        ("Fabrikam Inc", "altaro.billed_users"): Decimal(users["Fabrikam"]),
        ("Fabrikam Inc", "axcient.pc_gb"): axcient["Fabrikam Inc"]["pc_gb"],
        ("Northwind Traders", "altaro.billed_users"): Decimal(users["Northwind Traders"]),
        ("Northwind Traders", "axcient.total_gb"): axcient["Northwind Traders"]["total_gb"],
    }


def quantities(report: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    return {(line["psa_customer"], line["metric"]): Decimal(str(line["quantity"])) for line in report["lines"]}


def outcomes(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(line["psa_customer"], line["contract"]): line["outcome"] for line in report["lines"]}


def demo(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> tuple[int, Any, str]:
    return cli(capsys, "demo", "--psa", "connectwise", "--dir", str(directory), *extra)


def test_the_connectwise_demo_pushes_each_line_once_onto_its_addition_and_writes_nothing_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, result, err = demo(capsys, tmp_path / "demo", "--format", "json")
    assert code == exit_code_for(Status.OK) == 0, err
    assert set(result) == {"config", "store", "steps", "connectwise_contracts"}
    assert [step["title"] for step in result["steps"]] == [
        "1. Dry run: fetch and compute, write nothing",
        "2. Sync: push every line into ConnectWise",
        "3. Sync again: nothing is billed twice",
    ]
    assert [step["connectwise_writes"] for step in result["steps"]] == [0, FIRST_PUSH_WRITES, 0]
    dry, first, second = (step["report"] for step in result["steps"])
    assert quantities(dry) == quantities(first) == quantities(second) == wanted()
    for report, rest in ((dry, "planned"), (first, "pushed"), (second, "unchanged")):
        assert set(outcomes(report).values()) == {rest}, report["lines"]
        assert report["status"] == "ok" and not report["unmapped"] and not report["problems"], report
    assert (dry["dry_run"], first["dry_run"], second["dry_run"]) == (True, False, False)

    # Amounts are rate x quantity, rounded once.
    for line in first["lines"]:
        amount = (Decimal(line["quantity"]) * Decimal(line["rate"])).quantize(Decimal("0.01"))
        assert Decimal(line["amount"]) == amount, line

    # ConnectWise, read back through the connector's client: each line on its addition, each product once per
    # customer.
    rows = result["connectwise_contracts"]
    by_ids = {(row["agreement_id"], row["addition_id"]): row for row in rows}
    for line in first["lines"]:
        ids = parse_ref(line["psa_ref"])
        assert ids is not None and Decimal(str(by_ids[ids]["quantity"])) == Decimal(line["quantity"]), line
        assert Decimal(str(by_ids[ids]["rate"])) == Decimal(line["rate"]), line
        assert by_ids[ids]["customer"] == line["psa_customer"], line
    products = [(row["customer"], row["product"]) for row in rows]
    assert len(products) == len(set(products)), products
    assert set(products) >= CREATED | FOUND
    assert all(row["contract"] == f"{row['agreement']} / {row['product']}" for row in rows)

    # Nothing waits for a person.
    code, waiting, err = cli(capsys, "review", "--config", result["config"], "--format", "json")
    assert (code, waiting) == (0, []), err


def test_the_connectwise_demo_tables_name_connectwise_and_keep_its_keys_out_of_the_configuration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    directory = tmp_path / "demo"
    code, out, err = demo(capsys, directory)
    assert code == 0, err
    assert isinstance(out, str)
    assert f"Writes to ConnectWise in this step: {FIRST_PUSH_WRITES}" in out
    assert "Writes to ConnectWise in this step: 0" in out and "Atera" not in out
    assert "What the sandbox ConnectWise now holds" in out and "Agreement additions" in out
    assert "Managed Backup / BKP-WS-PC" in out
    config = (directory / "connector.toml").read_text()
    assert "[connectwise]" in config and "[atera]" not in config
    for key, name in ((DEFAULT_PUBLIC_KEY, "public"), (DEFAULT_PRIVATE_KEY, "private")):
        secret = directory / "secrets" / f"connectwise-{name}.key"
        assert f'{name}_key = {{ file = "{secret}" }}' in config
        assert secret.read_text().strip() == key and oct(secret.stat().st_mode & 0o777) == "0o600"
        assert key not in config and key not in out and key not in err


def test_an_unknown_psa_is_refused_naming_the_known_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = cli(capsys, "demo", "--psa", "nosuch", "--dir", str(tmp_path / "demo"))
    assert code == 2 and not out
    assert "--psa nosuch" in err and "(known: atera, connectwise, autotask)" in err, err
