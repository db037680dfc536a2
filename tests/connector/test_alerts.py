"""Alerts: one message per new condition, one when it clears, delivered to a local webhook; secrets stay masked."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connector.cli import build_app, run
from connector.core.errors import ConfigError, Status, VendorAuthError
from connector.core.secrets import SecretRef
from connector.core.sections import AlertSettings
from connector.operations.alerts import Alerter, conditions
from connector.operations.run import sync_once
from connector.store import Store
from connector.sync.report import RunReport
from connector.wiring import settings_from_data
from mappings.lines import LineIdentity, LineResult, Outcome

TOKEN = "s3cr3t-alert-token"


class Receiver:
    """A webhook on 127.0.0.1 that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://alert:{TOKEN}@127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TEST_ALERT_URL", found.url)
    yield found
    found.server.shutdown()
    found.server.server_close()


def report(*lines: LineResult, unmapped: list[dict[str, str]] | None = None) -> RunReport:
    return RunReport(
        run_id=1,
        started_at=datetime(2026, 11, 3, tzinfo=UTC),
        dry_run=False,
        lines=list(lines),
        unmapped=unmapped or [],
    )


HELD = LineResult(LineIdentity("Acme", "C1", "2026-10", "users"), Outcome.HELD, reason="moved 80%")
RATE = LineResult(LineIdentity("Acme", "C2", "2026-10", "GB"), Outcome.RATE_DIFFERS, reason="Atera holds 0.12")
PUSHED = LineResult(LineIdentity("Acme", "C1", "2026-10", "users"), Outcome.PUSHED)


def alerter() -> Alerter:
    return Alerter(AlertSettings(urls=[SecretRef(env="TEST_ALERT_URL")]))


def test_one_alert_per_new_condition_and_one_recovery(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Store.open(":memory:") as store:
        alerts = alerter()
        alerts.after_run(store, report(HELD))
        alerts.after_run(store, report(HELD))  # the same condition again: nothing new to tell
        assert [body["title"] for body in receiver.bodies] == ["backup-billing connector: 1 new to look at"]
        assert "held: Acme/C1/2026-10/users (moved 80%)" in receiver.bodies[0]["message"]
        alerts.after_run(store, report(HELD, RATE))  # only the rate is new
        assert len(receiver.bodies) == 2 and "rate differs" in receiver.bodies[1]["message"]
        assert "held" not in receiver.bodies[1]["message"]
        alerts.after_run(store, report(PUSHED))
        assert receiver.bodies[2]["title"] == "backup-billing connector: recovered"
        assert (
            "cleared: held" in receiver.bodies[2]["message"]
            and "cleared: rate differs" in receiver.bodies[2]["message"]
        )
        alerts.after_run(store, report(PUSHED))
        assert len(receiver.bodies) == 3
    assert TOKEN not in caplog.text


def test_a_failed_run_and_unmapped_customers_are_conditions() -> None:
    failed = conditions(None, RuntimeError("Atera down"))
    assert failed == {"run": "sync failed: Atera down"}
    found = conditions(report(unmapped=[{"source": "altaro", "vendor_customer": "Globex"}]))
    assert found["unmapped:altaro:Globex"] == "new unmapped customer in altaro: Globex"
    assert found["run"].startswith("sync run 1 incomplete")


def test_an_undelivered_alert_is_told_again_next_time(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(":memory:") as store:
        monkeypatch.setenv("TEST_ALERT_URL", "json://127.0.0.1:9/nobody-listens")
        alerter().after_run(store, report(HELD))
        monkeypatch.setenv("TEST_ALERT_URL", receiver.url)
        alerter().after_run(store, report(HELD))
        assert len(receiver.bodies) == 1


def test_no_urls_sends_nothing_and_writes_nothing() -> None:
    with Store.open(":memory:") as store:
        Alerter(AlertSettings()).after_run(store, report(HELD))
        # The table may come with the schema (store v10) or on first use; either way nothing is recorded as told.
        tables = store.db.table_names()
        assert "alert_state" not in tables or store.db.execute("SELECT count(*) FROM alert_state").fetchone()[0] == 0


def test_connector_alerts_test_sends_one(
    receiver: Receiver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "connector.toml"
    config.write_text('[store]\npath = "state.db"\n\n[alerts]\nurls = [{ env = "TEST_ALERT_URL" }]\n')
    assert run(build_app(), ["alerts", "test", "--config", str(config)]) == 0
    assert [body["title"] for body in receiver.bodies] == ["backup-billing connector: test"]
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    config.write_text('[store]\npath = "state.db"\n')
    assert run(build_app(), ["alerts", "test", "--config", str(config)]) == 2
    assert "no alert URL configured" in capsys.readouterr().err


def refused_key_report() -> RunReport:
    """What a run that Atera refused the key to looks like: status invalid (exit 2), nothing pushed."""
    run = report()
    run.psa_error = VendorAuthError("atera", "HTTP 401: the API key was refused", status_code=401)
    run.problems.append("could not read Atera (401): check [atera] api_key")
    return run


def test_every_run_that_bills_less_than_it_should_is_a_condition_invalid_included() -> None:
    refused = refused_key_report()
    assert refused.status is Status.INVALID
    assert conditions(refused)["run"] == "sync run 1 invalid: could not read Atera (401): check [atera] api_key"
    assert report(RATE).status is Status.INVALID and "run" in conditions(report(RATE))
    # Held lines and a clean run bill all they should: only the held line itself needs a person.
    assert "run" not in conditions(report(HELD)) and conditions(report(PUSHED)) == {}


def test_an_invalid_run_alerts_once_and_its_recovery_is_told_once(receiver: Receiver) -> None:
    with Store.open(":memory:") as store:
        alerts = alerter()
        alerts.after_run(store, refused_key_report())
        alerts.after_run(store, refused_key_report())  # the key is still refused: nothing new to tell
        assert [body["title"] for body in receiver.bodies] == ["backup-billing connector: 1 new to look at"]
        assert "sync run 1 invalid: could not read Atera (401)" in receiver.bodies[0]["message"]
        alerts.after_run(store, report(PUSHED))
        alerts.after_run(store, report(PUSHED))
        assert [body["title"] for body in receiver.bodies][1:] == ["backup-billing connector: recovered"]
        assert "cleared: sync run 1 invalid" in receiver.bodies[1]["message"]


def test_a_sync_whose_psa_cannot_even_be_set_up_alerts(receiver: Receiver, tmp_path: Path) -> None:
    # The Atera key file is missing: the sink cannot be built, so nothing can be billed; a person must hear of it.
    settings = settings_from_data(
        {
            "store": {"path": str(tmp_path / "state.db")},
            "atera": {"enabled": True, "api_key": {"file": str(tmp_path / "atera.key")}},
            "alerts": {"urls": [{"env": "TEST_ALERT_URL"}]},
        }
    )
    with pytest.raises(ConfigError, match=r"atera\.api_key: cannot read secret file"):
        sync_once(settings)
    assert [body["title"] for body in receiver.bodies] == ["backup-billing connector: 1 new to look at"]
    assert "sync failed: atera.api_key: cannot read secret file" in receiver.bodies[0]["message"]
