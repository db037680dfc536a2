"""The ConnectWise sink against respx, with no sandbox: the one PATCH keeps every other custom field as read, an
answer that does not hold what was sent is refused, and a cancellation takes effect on its day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from connector.core.errors import DataError
from mappings.truth import ContractRef, HeldContract
from providers.connectwise.client import build_connectwise_client
from providers.connectwise.sink import ConnectWiseSink
from providers.record import record_text

from .support import BASE, FIELD, HTTP, addition, agreement, company, line, settings

OTHER = {"id": 9, "caption": "Contract reference", "type": "Text", "entryMethod": "EntryField", "value": "PO-1234"}


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def serve(router: respx.MockRouter, listed: dict[str, Any]) -> None:
    router.get("/company/companies").respond(200, json=[company()])
    router.get("/finance/agreements").respond(200, json=[agreement()])
    router.get("/finance/agreements/501/additions").respond(200, json=[listed])
    router.get("/finance/agreements/501/additions/602").respond(200, json=listed)


def sink(now: datetime | None = None) -> ConnectWiseSink:
    return ConnectWiseSink(
        lambda: build_connectwise_client(settings(), HTTP, sleep=lambda _: None),
        custom_field=FIELD,
        now=(lambda: now) if now else lambda: datetime.now(UTC),
    )


def test_the_one_patch_sends_every_custom_field_back_with_the_record_replaced(router: respx.MockRouter) -> None:
    listed = addition(customFields=[OTHER, *addition()["customFields"]])
    serve(router, listed)
    fields = [OTHER, {**addition()["customFields"][0], "value": record_text(line())}]
    patch = router.patch("/finance/agreements/501/additions/602").respond(
        200, json={**listed, "quantity": 612.5, "customFields": fields}
    )
    result = sink().push(line())
    assert result.wrote and patch.call_count == 1
    sent = json.loads(patch.calls.last.request.content)
    assert sent[0] == {"op": "replace", "path": "quantity", "value": 612.5}
    assert sent[1]["path"] == "customFields"
    assert [(f["id"], f["value"]) for f in sent[1]["value"]] == [(9, "PO-1234"), (7, record_text(line()))]


def test_an_answer_that_does_not_hold_what_was_sent_is_refused(router: respx.MockRouter) -> None:
    serve(router, addition())
    router.patch("/finance/agreements/501/additions/602").respond(200, json=addition(quantity=560))
    with pytest.raises(DataError, match="not what was sent"):
        sink().push(line())


def test_a_cancellation_takes_effect_on_its_day_in_the_msp_zone(router: respx.MockRouter) -> None:
    serve(router, addition(cancelledDate="2026-11-20T00:00:00Z"))
    ref = ContractRef.of_line(line())
    before = sink(datetime(2026, 11, 19, 12, tzinfo=UTC)).snapshot([ref])[ref]
    on_the_day = sink(datetime(2026, 11, 20, 12, tzinfo=UTC)).snapshot([ref])[ref]
    assert isinstance(before, HeldContract) and before.active and before.end_date is not None
    assert isinstance(on_the_day, HeldContract) and not on_the_day.active
    assert on_the_day.inactive_reason == "was cancelled on 2026-11-20"


def test_a_line_that_cannot_be_sent_sends_nothing(router: respx.MockRouter) -> None:
    serve(router, addition())
    with pytest.raises(DataError, match="quantity -1 is negative; nothing was sent"):
        sink().push(line("-1"))
    with pytest.raises(DataError, match="more than ConnectWise can hold"):
        sink().push(line(str(Decimal(2**60))))
    assert all(call.request.method == "GET" for call in router.calls)


def test_no_mapped_line_reads_nothing(router: respx.MockRouter) -> None:
    assert sink().snapshot([]) == {}
    assert len(router.calls) == 0


def test_forty_mapped_agreements_cost_one_list_of_additions_each(router: respx.MockRouter) -> None:
    # The API lists additions per agreement only: one verified list each, never one request per line.
    router.get("/company/companies").respond(200, json=[company(n, f"Customer {n}") for n in range(1, 41)])
    router.get("/finance/agreements").mock(
        side_effect=lambda request: httpx.Response(
            200, json=[agreement(500 + n, n, f"Customer {n}") for n in range(1, 41)]
        )
    )
    additions = router.get(path__regex=r"/finance/agreements/\d+/additions$").respond(200, json=[addition()])
    refs = [
        ContractRef(f"Customer {n}", None, "Managed Backup", None, (("product", "BKP-SERVER-GB"),))
        for n in range(1, 41)
        for _ in range(2)
    ]
    held = sink().snapshot(refs)
    assert len(held) == 40 and additions.call_count == 40
    assert len(router.calls) == 1 + 1 + 40
