"""The Atera API key reaches no log line, no error and no stored row, on success or on failure."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from connector.core.config import Settings
from connector.core.errors import ConnectorError
from connector.store import Store
from connector.wiring import load_settings
from mappings.lines import Line
from providers.atera.client import build_atera_client
from providers.atera.sandbox import AteraSandbox
from providers.atera.sink import AteraSink

KEY = "atera-secret-key-9c2e4b7d1f"


def test_the_key_is_in_no_log_line_and_no_stored_row(
    tmp_path: Path,
    write_config: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keyed_sandbox = AteraSandbox(api_key=KEY).start()
    assert isinstance(keyed_sandbox, AteraSandbox)
    try:
        check_push_and_failure(load_settings(write_config(tmp_path, keyed_sandbox.api_url, KEY)), keyed_sandbox, caplog)
    finally:
        keyed_sandbox.stop()
    captured = capsys.readouterr()
    for text in (captured.out, captured.err, caplog.text):
        assert KEY not in text
    stored = list(tmp_path.glob("state.db*"))
    assert stored
    for path in stored:
        assert KEY.encode() not in path.read_bytes(), path


def check_push_and_failure(settings: Settings, keyed_sandbox: AteraSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    line = Line(
        psa_customer="Northwind Traders",
        contract="Workstation backup",
        period_key="2026-11",
        metric="axcient.pc_devices",
        quantity=Decimal(4),
        unit="device",
        rate=Decimal("4.25"),
        amount=Decimal("17.00"),
        psa={"rate_sku": "PC-DEVICE", "create_if_missing": True},
    )
    with Store.open(settings.store.path) as store:
        sink = AteraSink(
            lambda: build_atera_client(settings.atera, settings.http), custom_field=settings.atera.custom_field
        )
        store.outbox.stage(line, None)
        result = sink.push(line, lambda event, details: store.runs.audit(event, line.psa_customer, details))
        store.outbox.mark_pushed(line.identity, result.psa_ref)
        # And a failure: the error text the engine stores must not carry the key either.
        keyed_sandbox.api_key = "rotated"
        with pytest.raises(ConnectorError) as failed:
            # A changed quantity: the run's listing already says Atera holds the first, so only a write asks Atera.
            sink.push(dataclasses.replace(line, quantity=Decimal(5), amount=Decimal("21.25")))
        store.outbox.mark_failed(line.identity, str(failed.value))
        store.runs.audit("test.failure", line.psa_customer, {"error": str(failed.value)})
        sink.close()
    assert "API key rejected" in str(failed.value)
    assert any("atera.contract_created" in r.getMessage() for r in caplog.records)
    assert any(r.path.endswith("/contracts") and r.method == "POST" for r in keyed_sandbox.requests)
