"""The first push to a contract Atera already bills is reviewed against what Atera holds now (issue 20 row 9)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from connector.cli.sync import _quantity
from connector.operations.demo import Sandboxes

from .conftest import cli, sync
from .test_psa_truth import SERVER, atera, config, contract_id, edit_in_atera, line_of

__all__ = ["config"]  # the fixture, used by name


def computed_quantity(capsys: pytest.CaptureFixture[str], config: Path) -> Decimal:
    code, report, err = sync(capsys, config, "--dry-run")
    assert code == 0, err
    return Decimal(str(line_of(report, *SERVER)["quantity"]))


def test_a_quantity_typed_in_atera_before_the_connector_is_the_baseline_of_the_review(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    assert contract_id(sandboxes, *SERVER)  # the contract exists before the connector's first push
    ours = computed_quantity(capsys, config)
    typed = (ours / Decimal("1.6")).quantize(Decimal("0.01"))  # the connector's figure is 60% more
    edit_in_atera(sandboxes, *SERVER, {"RetainerFlatFeeContract": {"Quantity": float(typed)}})

    code, dry, err = sync(capsys, config, "--dry-run")
    line = line_of(dry, *SERVER)
    assert line["outcome"] == "held" and Decimal(str(line["psa_quantity"])) == typed, line
    assert "Atera holds" in line["reason"] and "+60%" in line["reason"], line["reason"]
    # "Atera now -> new" in the dry run's table.
    assert _quantity(line) == f"{line['psa_quantity']} -> {line['quantity']} GB"

    code, report, err = sync(capsys, config)
    assert code == 5, err
    assert line_of(report, *SERVER)["outcome"] == "held"
    held = next(c for c in atera(sandboxes).contracts.values() if c["ContractID"] == contract_id(sandboxes, *SERVER))
    assert Decimal(str(held["RetainerFlatFeeContract"]["Quantity"])) == typed  # nothing pushed unseen

    code, rows, err = cli(capsys, "history", SERVER[0], "--config", str(config), "--format", "json")
    first = next(r for r in rows if r["contract"] == SERVER[1])
    assert first["status"] == "in PSA" and Decimal(str(first["quantity"])) == typed, first
    computed = rows[rows.index(first) + 1]
    assert Decimal(str(computed["previous_quantity"])) == typed and Decimal(str(computed["quantity"])) == ours


def test_a_small_difference_from_what_atera_holds_is_pushed_and_history_shows_atera_s_figure_as_old(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    ours = computed_quantity(capsys, config)
    typed = (ours * Decimal("0.9")).quantize(Decimal("0.01"))
    edit_in_atera(sandboxes, *SERVER, {"RetainerFlatFeeContract": {"Quantity": float(typed)}})
    code, report, err = sync(capsys, config)
    assert code == 0 and line_of(report, *SERVER)["outcome"] == "pushed", err
    code, rows, err = cli(capsys, "history", SERVER[0], "--config", str(config), "--format", "json")
    pushed = [r for r in rows if r["contract"] == SERVER[1] and r["status"] == "pushed"]
    assert [Decimal(str(r["previous_quantity"])) for r in pushed] == [ours], rows
    computed = [r for r in rows if r["contract"] == SERVER[1] and r["status"] == "pending"]
    assert [Decimal(str(r["previous_quantity"])) for r in computed] == [typed], rows


def test_a_contract_typed_in_atera_at_0_is_a_rise_from_zero_to_review(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    # A contract an MSP created by hand and left at 0 bills nothing today: the first push starts billing it.
    ours = computed_quantity(capsys, config)
    edit_in_atera(sandboxes, *SERVER, {"RetainerFlatFeeContract": {"Quantity": 0}})
    code, report, err = sync(capsys, config)
    assert code == 5, err
    line = line_of(report, *SERVER)
    assert line["outcome"] == "held" and f"rose from 0 to {ours}" in line["reason"], line
    assert "Atera holds now" in line["reason"], line["reason"]
    held = next(c for c in atera(sandboxes).contracts.values() if c["ContractID"] == contract_id(sandboxes, *SERVER))
    assert Decimal(str(held["RetainerFlatFeeContract"]["Quantity"])) == 0  # nothing pushed unseen
