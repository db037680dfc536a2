"""A large report body is stored once, compressed, and read back byte for byte with the hash of what was received."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from connector.interfaces.ledger import FetchReserved
from connector.store import Store

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_large_body_is_compressed_and_read_back_exactly() -> None:
    store = Store.open(":memory:")
    body = b"Customer,Object,Size\r\n" + b"".join(b"Contoso %d,user%d,1.25\r\n" % (n % 40, n) for n in range(20_000))
    for hour in range(3):  # the same report, polled hourly
        at = T0 + timedelta(hours=hour)
        call = store.ledger.reserve("altaro", "link", timedelta(minutes=5), now=at)
        assert isinstance(call, FetchReserved)
        digest = store.ledger.complete(call.fetch_id, "ok", payload=body, now=at, keep_payloads=24)
        assert digest == hashlib.sha256(body).hexdigest()
    good = store.ledger.last_good("altaro", "link")
    assert good is not None and good.payload == body
    count, size, compressed = store.db.execute("SELECT COUNT(*), LENGTH(body), compressed FROM payloads").fetchone()
    assert (count, compressed) == (1, 1) and size * 5 < len(body)


def test_a_small_body_is_kept_as_it_came() -> None:
    store = Store.open(":memory:")
    call = store.ledger.reserve("altaro", "link", timedelta(minutes=5), now=T0)
    assert isinstance(call, FetchReserved)
    store.ledger.complete(call.fetch_id, "ok", payload=b"Customer\r\nContoso\r\n", now=T0)
    assert store.db.execute("SELECT body, compressed FROM payloads").fetchone() == (b"Customer\r\nContoso\r\n", 0)
