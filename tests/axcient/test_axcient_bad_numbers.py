"""`connector sync` against the demo sandboxes when the portal sends numbers no one should bill, or a first zero."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from connector.store import Store
from mappings.lines import LineStatus
from providers.axcient.generate import demo_dataset
from tests.clock import MONTH

NORTHWIND_LINE = ("Northwind Traders", "axcient.total_gb")


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[Sandboxes]:
    with running_sandboxes(tmp_path, MONTH) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, sandboxes: Sandboxes) -> Path:
    path = write_config(tmp_path, sandboxes)
    path.write_text(path.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
    return path


def sync(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, dict[str, Any], str]:
    code = main(["sync", "--config", str(config), "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def outcomes(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(line["psa_customer"], line["metric"]): line["outcome"] for line in report["lines"]}


def northwind_contract(sandboxes: Sandboxes) -> dict[str, Any] | None:
    return next(
        (
            c
            for c in sandboxes["atera"].contracts.values()
            if c["CustomerName"] == "Northwind Traders" and c["ContractName"] == "Online backup (per GB)"
        ),
        None,
    )


def northwind_server(size: Any) -> dict[str, Any]:
    """The demo portal with Northwind's server account reporting `size` MB."""
    data = demo_dataset()
    for account in data["accounts"]:
        if account["computer_name"] == "NW-SRV01":
            account["used_mb_compressed"] = size
    return data


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(-5, id="negative"),
        pytest.param(float("nan"), id="NaN"),
        pytest.param(float("inf"), id="Infinity"),
        # json.dumps writes the digits out: the client reads a finite number of 10^400 MB.
        pytest.param(10**400, id="1e400"),
    ],
)
def test_a_size_no_one_should_bill_blocks_only_its_customer(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, size: Any
) -> None:
    sandboxes["axcient"].load(northwind_server(size))
    code, report, err = sync(capsys, config)
    assert code == 3, err
    by_line = outcomes(report)
    assert by_line.pop(NORTHWIND_LINE) == "blocked"
    assert set(by_line.values()) == {"pushed"}
    blocked = next(line for line in report["lines"] if (line["psa_customer"], line["metric"]) == NORTHWIND_LINE)
    assert "account 3001: used_mb_compressed" in blocked["reason"]
    # Nothing reached Atera for Northwind's storage: no contract created, so no null, NaN or credit on an invoice.
    assert northwind_contract(sandboxes) is None
    with Store.open(config.parent / "connector-state.db") as store:
        assert NORTHWIND_LINE not in {(s.line.psa_customer, s.line.metric) for s in store.outbox.lines()}


def test_an_implausibly_large_but_valid_size_is_held_for_review(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    # 200 TB on one server: possible in principle, far past review.max_quantity for GB.
    sandboxes["axcient"].load(northwind_server(200 * 1024 * 1024))
    code, report, _ = sync(capsys, config)
    assert code == 5
    held = next(line for line in report["lines"] if (line["psa_customer"], line["metric"]) == NORTHWIND_LINE)
    assert held["outcome"] == "held" and "review.max_quantity" in held["reason"]
    assert northwind_contract(sandboxes) is None


def test_a_first_sync_of_zero_is_held_not_pushed(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    # The portal answers 200 with no accounts for Northwind: 0 GB, which nothing pushed before backs.
    data = demo_dataset()
    data["accounts"] = [a for a in data["accounts"] if a["customer_id"] != 3]
    sandboxes["axcient"].load(data)
    code, report, _ = sync(capsys, config)
    assert code == 5
    by_line = outcomes(report)
    assert by_line.pop(NORTHWIND_LINE) == "held"
    assert set(by_line.values()) == {"pushed"}
    assert northwind_contract(sandboxes) is None
    with Store.open(config.parent / "connector-state.db") as store:
        (held,) = store.outbox.lines(LineStatus.HELD)
        assert held.hold_reason is not None and "0" in held.hold_reason
