"""`connector status` and `connector history`: what waits for a person decides the exit code; changes read in order."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from connector.cli import app
from connector.core.errors import ParameterError
from connector.store import Store
from mappings.billing import price
from mappings.lines import Line

runner = CliRunner()


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "connector.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "state.db"}"\n', encoding="utf-8")
    return config


def _line(quantity: str, contract: str = "Backup users") -> Line:
    q, rate = Decimal(quantity), Decimal("3.50")
    identity = ("Contoso Ltd", contract, "2026-11", "altaro.billed_users")
    return Line(*identity, quantity=q, unit="user", rate=rate, amount=price(q, rate), inputs={"why": "test"})


def _status(config: Path) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["status", "--config", str(config), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_status_of_an_empty_store_is_ok_and_names_the_store(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, data = _status(config)
    assert code == 0
    assert data["status"] == "ok"
    assert data["runs"] == [] and data["attention"] == []
    assert data["store"]["path"] == str(tmp_path / "state.db")  # type: ignore[index]
    table = runner.invoke(app, ["status", "--config", str(config)])
    assert "Nothing waits for you." in table.stdout


def test_status_exits_5_for_held_lines_and_3_for_a_failed_push(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with Store.open(tmp_path / "state.db") as store:
        store.outbox.stage(_line("8"), "first line")
    code, data = _status(config)
    assert (code, data["status"], data["waiting"]) == (
        5,
        "held",
        {"held": 1, "failed": 0, "corrections": 0, "unmapped": []},
    )
    with Store.open(tmp_path / "state.db") as store:
        failed = store.outbox.stage(_line("3", "Backup servers"), None)
        store.outbox.mark_failed(failed.identity, "HTTP 500")
    code, data = _status(config)
    assert (code, data["status"]) == (3, "incomplete")
    assert any("failed to push" in note for note in data["attention"])  # type: ignore[attr-defined]


def test_status_reports_the_last_runs_unmapped_customers(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with Store.open(tmp_path / "state.db") as store:
        run = store.runs.start("sync")
        summary = {
            "dry_run": False,
            "totals": {"pushed": 2},
            "unmapped": [{"source": "altaro", "vendor_customer": "New"}],
        }
        store.runs.finish(run, "incomplete", summary)
    code, data = _status(config)
    assert code == 3
    assert data["runs"][0]["totals"] == {"pushed": 2}  # type: ignore[index]
    assert "altaro customer 'New' is not mapped" in data["attention"]  # type: ignore[operator]


def test_history_shows_old_and_new_quantity_and_the_approval_note(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with Store.open(tmp_path / "state.db") as store:
        first = store.outbox.stage(_line("8"), None)
        store.outbox.mark_pushed(first.identity, "contract/1")
        store.outbox.stage(_line("20"), "changed +150%")
        store.outbox.approve(first.identity, "new office opened")
    result = runner.invoke(app, ["history", "contoso ltd", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["status"] for r in rows] == ["pending", "pushed", "held", "pending"]
    assert (Decimal(str(rows[2]["previous_quantity"])), Decimal(str(rows[2]["quantity"]))) == (8, 20)
    assert rows[3]["note"] == "approved: new office opened"
    # A customer neither the mapping nor the store knows is a typo, not an empty history.
    other = runner.invoke(app, ["history", "Fabrikam", "--config", str(config), "--format", "json"])
    assert isinstance(other.exception, ParameterError) and "no customer 'Fabrikam'" in str(other.exception)
    table = runner.invoke(app, ["history", "--config", str(config), "--period", "2026-11"])
    assert "new office opened" in table.stdout


def test_status_shows_how_far_the_pushes_of_a_period_got_until_none_waits(tmp_path: Path) -> None:
    """A first sync cut short by the PSA's rate limit: its lines are staged, some pushed, the rest go next cycle."""
    config = _config(tmp_path)
    contracts = [f"Contract {n}" for n in range(5)]
    with Store.open(tmp_path / "state.db") as store:
        for contract in contracts:
            store.outbox.stage(_line("8", contract), None)
        for contract in contracts[:2]:
            store.outbox.mark_pushed(_line("8", contract).identity, f"contract:{contract}")
        discarded = store.outbox.stage(_line("9", "Dropped"), "review it")
        store.outbox.discard(discarded.identity, "not billed")
    code, data = _status(config)
    assert (code, data["status"]) == (0, "ok")  # nothing for a person to do: the rest goes out by itself
    assert data["progress"] == [{"period": "2026-11", "planned": 5, "pushed": 2, "pending": 3, "failed": 0, "held": 0}]
    table = runner.invoke(app, ["status", "--config", str(config)])
    assert "push in progress: 2026-11: 2 of 5 line(s) pushed; the 3 pending go out at the next cycle" in table.stdout
    with Store.open(tmp_path / "state.db") as store:
        for contract in contracts[2:]:
            store.outbox.mark_pushed(_line("8", contract).identity, f"contract:{contract}")
    code, data = _status(config)
    assert data["progress"] == []
    assert "push in progress" not in runner.invoke(app, ["status", "--config", str(config)]).stdout
