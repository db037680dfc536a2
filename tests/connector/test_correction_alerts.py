"""Corrections reach a person: a new one is alerted once (and its clearing told as recovered), and `connector status`
counts recorded corrections among what waits, in its table and JSON, and exits held while any waits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector import operations
from connector.cli import main
from connector.operations.status import summarise
from tests.connector.test_alerts import Receiver, alerter, receiver
from tests.connector.test_correction_lifecycle import invoiced_november_with_a_correction, m365_nov
from tests.connector.test_invoice_detection import at, late_november

__all__ = ["receiver"]  # the webhook fixture, shared with the alerts tests

DAY_5 = datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_a_new_correction_is_alerted_once_and_its_clearing_is_told_as_recovered(receiver: Receiver) -> None:
    w, _ = invoiced_november_with_a_correction()  # the run of 4 December recorded it
    alerts = alerter()
    alerts.after_run(w.store, at(w, datetime(2026, 12, 4, 13, tzinfo=UTC)))
    (first,) = receiver.bodies
    assert first["title"] == "backup-billing connector: 1 new to look at"
    assert "correction: Contoso Ltd/M365 backup/2026-11/altaro.billed_users" in first["message"]
    assert "bill +10.50 by hand" in first["message"]

    # Later runs do not report it again, but it still waits: no new alert, and no "recovered" either.
    report = at(w, DAY_5)
    assert m365_nov(report) == []
    alerts.after_run(w.store, report)
    alerts.after_run(w.store, None, RuntimeError("PSA down"))  # a failed run says so; the correction still waits
    assert [body["title"] for body in receiver.bodies] == [
        "backup-billing connector: 1 new to look at",
        "backup-billing connector: 1 new to look at",
    ]
    assert "sync failed: PSA down" in receiver.bodies[1]["message"]

    # Back at the invoiced quantity: the correction cleared, and the alert says so once.
    late_november(w, 12)
    alerts.after_run(w.store, at(w, datetime(2026, 12, 6, 12, tzinfo=UTC)))
    recovered = receiver.bodies[-1]
    assert recovered["title"] == "backup-billing connector: recovered"
    assert "cleared: correction: Contoso Ltd/M365 backup/2026-11" in recovered["message"]
    assert "cleared: sync failed" in recovered["message"]
    alerts.after_run(w.store, at(w, datetime(2026, 12, 7, 12, tzinfo=UTC)))
    assert len(receiver.bodies) == 3


def test_a_correction_billed_by_hand_and_closed_is_recovered_and_a_further_change_is_new(receiver: Receiver) -> None:
    w, _ = invoiced_november_with_a_correction()
    alerts = alerter()
    alerts.after_run(w.store, at(w, DAY_5))
    (stored,) = [s for s in w.store.outbox.lines() if s.status == "correction"]
    operations.discard(w.store, [stored.id], "billed by hand on invoice 7001")
    alerts.after_run(w.store, at(w, datetime(2026, 12, 6, 12, tzinfo=UTC)))
    assert [body["title"].rsplit(": ", 1)[1] for body in receiver.bodies] == ["1 new to look at", "recovered"]
    late_november(w, 16)  # one user more again: a new correction, a new alert
    alerts.after_run(w.store, at(w, datetime(2026, 12, 7, 12, tzinfo=UTC)))
    assert receiver.bodies[-1]["title"].endswith("1 new to look at") and "bill +14.00" in receiver.bodies[-1]["message"]


def test_status_counts_recorded_corrections_among_what_waits() -> None:
    w, _ = invoiced_november_with_a_correction()
    summary = summarise(w.settings, w.store)
    assert summary.corrections == 1 and summary.status == "held"
    data = summary.to_data()
    assert data["waiting"]["corrections"] == 1 and data["status"] == "held"
    assert any(note.startswith("1 correction(s) of invoiced periods to bill by hand") for note in summary.attention())

    late_november(w, 12)  # cleared: nothing waits any more
    at(w, DAY_5)
    cleared = summarise(w.settings, w.store)
    assert cleared.corrections == 0 and cleared.status == "ok" and cleared.attention() == []


def test_connector_status_exits_held_while_a_correction_waits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w, _ = invoiced_november_with_a_correction(tmp_path / "state.db")
    w.store.close()
    config = tmp_path / "connector.toml"
    config.write_text('[store]\npath = "state.db"\n')
    assert main(["status", "--config", str(config), "--format", "json"]) == 5
    data = json.loads(capsys.readouterr().out)
    assert data["waiting"]["corrections"] == 1 and data["status"] == "held"
    assert main(["status", "--config", str(config)]) == 5
    assert "needs attention: 1 correction(s) of invoiced periods to bill by hand" in capsys.readouterr().out


def test_a_correction_that_changes_again_is_told_as_new_and_its_older_figure_is_not_recovered(
    receiver: Receiver,
) -> None:
    w, _ = invoiced_november_with_a_correction()
    alerts = alerter()
    alerts.after_run(w.store, at(w, DAY_5))
    late_november(w, 13)  # still above the invoice, by less
    alerts.after_run(w.store, at(w, datetime(2026, 12, 6, 12, tzinfo=UTC)))
    assert [body["title"].rsplit(": ", 1)[1] for body in receiver.bodies] == ["1 new to look at", "1 new to look at"]
    assert "bill +3.50 by hand" in receiver.bodies[1]["message"]
    late_november(w, 12)  # then back at the invoice: one recovery, of the figure still recorded
    alerts.after_run(w.store, at(w, datetime(2026, 12, 7, 12, tzinfo=UTC)))
    assert receiver.bodies[-1]["title"].endswith("recovered") and receiver.bodies[-1]["message"].count("cleared:") == 1
