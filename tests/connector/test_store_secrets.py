"""Secrets never reach the store: every text column, and fetched payloads byte for byte, pass through the mask."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from connector.core.redact import register_secret
from connector.interfaces.ledger import FetchReserved
from connector.store import Store
from mappings.lines import Line, LineIdentity
from mappings.measure import Observation

SECRET = "store-test-secret-4f1c9a77e2"
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
IDENTITY = LineIdentity("Contoso Ltd", "Backup users", "2026-11", "altaro.billed_users")


def setup_module() -> None:
    register_secret(SECRET)


def test_a_payload_echoing_a_secret_is_stored_masked_and_hashed_as_stored() -> None:
    store = Store.open(":memory:")
    body = f"Customer,Key\r\nContoso,{SECRET}\r\nFabrikam,x-api-key: other\r\n".encode()
    reserved = store.ledger.reserve("altaro", "link-a", timedelta(minutes=5), now=T0)
    assert isinstance(reserved, FetchReserved)
    digest = store.ledger.complete(reserved.fetch_id, "ok", status_code=200, content_type="text/csv", payload=body)
    good = store.ledger.last_good("altaro", "link-a")
    assert good is not None and good.payload == b"Customer,Key\r\nContoso,***\r\nFabrikam,x-api-key: ***\r\n"
    assert digest == good.payload_hash == hashlib.sha256(good.payload).hexdigest()


def test_a_payload_without_secrets_keeps_its_bytes_and_its_hash() -> None:
    store = Store.open(":memory:")
    body = "Kunde,Größe\r\nContoso,1.5\r\n".encode("utf-16")  # not UTF-8: left exactly as received
    reserved = store.ledger.reserve("altaro", "link-a", timedelta(minutes=5), now=T0)
    assert isinstance(reserved, FetchReserved)
    assert store.ledger.complete(reserved.fetch_id, "ok", payload=body) == hashlib.sha256(body).hexdigest()
    good = store.ledger.last_good("altaro", "link-a")
    assert good is not None and good.payload == body


def test_every_text_column_is_masked_and_a_masked_name_still_finds_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    echoed = f"Echo {SECRET}"
    with Store.open(path) as store, store.sync_lock():
        run_id, _ = store.start_run(f"sync --note {SECRET}")
        target = f"link-{SECRET}"
        reserved = store.ledger.reserve("altaro", target, timedelta(minutes=5), now=T0, run_id=run_id)
        assert isinstance(reserved, FetchReserved)
        store.ledger.complete(
            reserved.fetch_id, "error", status_code=500, content_type=f"text/{SECRET}", error=f"HTTP 500: {SECRET}"
        )
        assert store.ledger.last("altaro", target) is not None  # the 5-minute rule still sees the call
        observation = Observation(
            "altaro", echoed, "altaro.billed_users", "2026-11", Decimal(3), "user", T0, True, {"why": SECRET}, SECRET
        )
        store.observations.record([observation])
        store.observations.record([observation])  # a repeat is still recognised
        (found,) = store.observations.query("altaro", vendor_customer=echoed, product=SECRET)
        # Explanations are stored compressed, where the file scan below could not see a secret: masked before.
        assert found.vendor_customer == "Echo ***" and found.inputs == {"why": "***"}
        line = Line(*IDENTITY, quantity=Decimal(3), unit="user", rate=Decimal("3.50"), amount=Decimal("10.50"))
        store.outbox.stage(line, f"held: {SECRET}")
        store.outbox.approve(IDENTITY, f"ok {SECRET}")
        store.outbox.mark_failed(IDENTITY, f"refused {SECRET}")
        store.outbox.mark_pushed(IDENTITY, f"contract:{SECRET}")
        store.runs.audit(f"event {SECRET}", f"subject {SECRET}", {"key": SECRET})
        store.runs.finish(run_id, "ok", {"problems": [SECRET]})
    for file in sorted(tmp_path.iterdir()):
        assert SECRET.encode() not in file.read_bytes(), file.name
