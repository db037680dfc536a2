"""A contract the connector pushed that no mapping names any more, still billed: a condition of its own, told once."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.core.errors import Status
from connector.operations.alerts import conditions
from connector.sync.report import RunReport

REASON = "Atera contract 'Server backup per GB' (contract/1010) of 'Contoso Ltd' holds 600, ... no mapping names it"


def report(*strays: dict[str, str]) -> RunReport:
    run = RunReport(run_id=7, started_at=datetime(2026, 11, 20, tzinfo=UTC), dry_run=False)
    run.strays.extend(strays)
    return run


def test_a_stray_contract_makes_the_run_incomplete_and_is_a_condition_of_its_own() -> None:
    run = report({"contract": "contract/1010", "quantity": "600", "reason": REASON})
    assert run.status is Status.INCOMPLETE and run.exit_code == 3
    assert run.to_data()["strays"] == [{"contract": "contract/1010", "quantity": "600", "reason": REASON}]
    found = conditions(run)
    assert found["stray:contract/1010:600"] == f"billed but not mapped: {REASON}"
    assert "1 contract(s) no mapping names" in found["run"]
    # Set to another quantity, it is news again; set to 0 (no longer a stray), the condition clears.
    assert "stray:contract/1010:450" in conditions(
        report({"contract": "contract/1010", "quantity": "450", "reason": REASON})
    )
    assert not any(key.startswith("stray:") for key in conditions(report()))
