"""End to end: `connector demo --psa autotask` through the real CLI, in this process: the same three steps as the
other demos against the sandbox Autotask, every line's units set once by an adjustment, nothing sent again."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.core.errors import Status, exit_code_for
from connector.operations.demo import running_sandboxes, write_config
from providers.autotask.sandbox import DEFAULT_INTEGRATION_CODE, DEFAULT_SECRET, DEFAULT_USERNAME
from providers.autotask.verify import parse_ref
from providers.axcient.generate import demo_dataset
from tests.clock import MONTH

from .conftest import cli
from .test_demo_connectwise import CREATED, FOUND, wanted

# One adjustment per line (each differs from what the demo's Autotask holds), one POST per contract service added.
FIRST_PUSH_WRITES = len(FOUND) + 2 * len(CREATED)


def whole(quantities: dict[tuple[str, str], Decimal]) -> dict[tuple[str, str], Decimal]:
    """The units Autotask bills for each line: the quantity rounded up (the lines' default `round`)."""
    return {key: value.to_integral_value(ROUND_CEILING) for key, value in quantities.items()}


def demo(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> tuple[int, Any, str]:
    return cli(capsys, "demo", "--psa", "autotask", "--dir", str(directory), *extra)


def test_the_autotask_demo_sets_each_lines_units_once_and_sends_nothing_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, result, err = demo(capsys, tmp_path / "demo", "--format", "json")
    assert code == exit_code_for(Status.OK) == 0, err
    assert set(result) == {"config", "store", "steps", "autotask_contracts"}
    assert [step["autotask_writes"] for step in result["steps"]] == [0, FIRST_PUSH_WRITES, 0]
    dry, first, second = (step["report"] for step in result["steps"])
    units = {(line["psa_customer"], line["metric"]): Decimal(line["quantity"]) for line in first["lines"]}
    assert units == whole(wanted())
    for report, rest in ((dry, "planned"), (first, "pushed"), (second, "unchanged")):
        assert {line["outcome"] for line in report["lines"]} == {rest}, report["lines"]
        assert report["status"] == "ok" and not report["problems"], report

    # Autotask, read back through the connector's client: each line's units in the month, at the line's rate.
    rows = {row["contract_service_id"]: row for row in result["autotask_contracts"]}
    for line in first["lines"]:
        ids = parse_ref(line["psa_ref"])
        assert ids is not None, line
        row = rows[ids[1]]
        assert (row["customer"], Decimal(str(row["quantity"]))) == (line["psa_customer"], Decimal(line["quantity"]))
        assert Decimal(str(row["rate"])) == Decimal(line["rate"]), line
    services = [(row["customer"], row["contract"]) for row in rows.values()]
    assert len(services) == len(set(services)), services


def test_explain_says_how_a_quantity_became_whole_units_and_the_keys_stay_out_of_the_configuration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    directory = tmp_path / "demo"
    code, out, err = demo(capsys, directory)
    assert code == 0, err
    assert f"Writes to Autotask in this step: {FIRST_PUSH_WRITES}" in out and "Atera" not in out
    config = (directory / "connector.toml").read_text()
    for value, name in (
        (DEFAULT_USERNAME, "username"),
        (DEFAULT_SECRET, "secret"),
        (DEFAULT_INTEGRATION_CODE, "integration-code"),
    ):
        secret = directory / "secrets" / f"autotask-{name}.key"
        assert secret.read_text().strip() == value and oct(secret.stat().st_mode & 0o777) == "0o600"
        assert value not in config and value not in out and value not in err
    code, explained, err = cli(
        capsys, "explain", "Northwind Traders", "--config", str(directory / "connector.toml"), "--format", "json"
    )
    assert code == 0, err
    billed = {item["contract"]: item["inputs"]["billed_as"] for item in explained}
    assert billed["Online backup (per GB)"] == "375 whole units, as measured", billed


def test_a_fractional_quantity_bills_whole_units_said_in_the_dry_run_and_in_explain(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with running_sandboxes(tmp_path, MONTH, "autotask") as sandboxes:
        config = write_config(tmp_path, sandboxes)
        data = demo_dataset()
        for account in data["accounts"]:
            account["used_mb_compressed"] += 300  # a few hundred MB more: no GB total is whole any more
        sandboxes["axcient"].load(data)
        code, dry, err = cli(capsys, "sync", "--config", str(config), "--dry-run")
        assert code == 0, err
        # The why of each GB line says how its units came (the table wraps the sentence over rows).
        assert dry.count(" measured, rounded") == 3, dry
        code, report, err = cli(capsys, "sync", "--config", str(config), "--format", "json")
        assert code == 0, err
        gb = [line for line in report["lines"] if line["unit"] == "GB"]
        assert gb and all(Decimal(line["quantity"]) == Decimal(line["quantity"]).to_integral_value() for line in gb)
        code, explained, err = cli(capsys, "explain", "Northwind Traders", "--config", str(config), "--format", "json")
        online = next(item for item in explained if item["contract"] == "Online backup (per GB)")
        measured = Decimal(online["inputs"]["measured_quantity"])
        assert Decimal(online["quantity"]) == measured.to_integral_value(ROUND_CEILING) > measured
        assert online["inputs"]["billed_as"].startswith(f"{measured} measured, rounded up to {online['quantity']}")


def test_a_database_near_its_hourly_threshold_gets_no_push_and_the_lines_go_out_next_cycle(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with running_sandboxes(tmp_path, MONTH, "autotask") as sandboxes:
        config = write_config(tmp_path, sandboxes)
        autotask = sandboxes["autotask"]
        autotask.requests_this_hour = 8_500  # other integrations took most of the hour
        code, report, err = cli(capsys, "sync", "--config", str(config), "--format", "json")
        assert code != 0 and autotask.writes() == [], err
        assert {line["outcome"] for line in report["lines"]} == {"pending"}
        (problem,) = report["problems"]
        assert "stop_pushes_at" in problem and "once the database's hour clears" in problem, problem
        autotask.requests_this_hour = 0  # the hour cleared
        code, report, err = cli(capsys, "sync", "--config", str(config), "--format", "json")
        assert code == 0 and {line["outcome"] for line in report["lines"]} == {"pushed"}, err
