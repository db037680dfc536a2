"""What a push costs in Atera requests: lists once per run, and per changed line two writes and the one read of its
contract's header just before them (the header the PUT sends back must be current); a run that has spent its request
budget defers the rest to the next cycle before sending anything for them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from connector.interfaces.deferral import PushDeferred
from mappings.enums import BillingPeriod
from mappings.lines import Line
from mappings.truth import ContractRef
from providers.atera.client import build_atera_client
from providers.atera.sandbox import DEFAULT_API_KEY, AteraSandbox, default_data
from providers.atera.sandbox_account import retainer_contract
from providers.atera.settings import AteraSettings
from providers.atera.sink import AteraSink
from providers.record import parse_record

FIELD = "Billing connector"
CUSTOMERS = 60  # more than one page of customers (50) and of contracts


def account(customers: int) -> dict[str, Any]:
    """The demo account plus customers with two Retainer contracts each, on the demo's per-GB rate."""
    data = default_data()
    rate = data["rates"]["products"][0]
    for n in range(customers):
        name = f"Customer {n:03d}"
        data["customers"].append({"CustomerID": 10_000 + n, "CustomerName": name})
        for k, contract in enumerate(("Server backup", "PC backup")):
            data["contracts"].append(retainer_contract(10_000 + n, name, 50_000 + 2 * n + k, contract, rate))
    return data


def line(n: int, contract: str, quantity: str, period: str = "2026-11", metric: str | None = None) -> Line:
    amount = Decimal(quantity) * Decimal("0.12")
    return Line(
        psa_customer=f"Customer {n:03d}",
        contract=contract,
        period_key=period,
        metric=metric or f"axcient.{contract.split()[0].lower()}_gb",
        quantity=Decimal(quantity),
        unit="GB",
        rate=Decimal("0.12"),
        amount=amount,
        billing_period=BillingPeriod.MONTHLY,
    )


def every_line(quantity: str = "10", period: str = "2026-11") -> list[Line]:
    return [
        line(n, contract, quantity, period) for n in range(CUSTOMERS) for contract in ("Server backup", "PC backup")
    ]


@pytest.fixture
def big() -> Iterator[AteraSandbox]:
    with AteraSandbox(account(CUSTOMERS)) as server:
        assert isinstance(server, AteraSandbox)
        yield server


@pytest.fixture
def open_sink(big: AteraSandbox) -> Callable[..., AteraSink]:
    def make(**settings: Any) -> AteraSink:
        # The throttle's pace is not what these tests count: set far above the requests they send.
        settings.setdefault("max_requests", 100_000)
        configured = AteraSettings(
            enabled=True, base_url=big.api_url, api_key=SecretRef(value=DEFAULT_API_KEY), **settings
        )
        http = HttpSettings(max_attempts=2, backoff_initial_seconds=0)
        return AteraSink(lambda: build_atera_client(configured, http), custom_field=FIELD)

    return make


def kinds(requests: list[Any]) -> Counter[str]:
    """Requests by kind: list pages by path, per-contract calls by method and resource."""
    counted: Counter[str] = Counter()
    for request in requests:
        if request.path.startswith("/api/v3/customvalues/"):
            counted[f"{request.method} record"] += 1
        elif request.path.startswith("/api/v3/contracts/") and request.method in ("GET", "PUT"):
            counted[f"{request.method} contract"] += 1
        else:
            counted[f"{request.method} {request.path}"] += 1
    return counted


def test_a_first_push_costs_the_list_pages_and_per_line_two_writes_and_the_header_read_before_them(
    open_sink: Callable[..., AteraSink], big: AteraSandbox
) -> None:
    lines = every_line()
    sink = open_sink()
    for planned in lines:
        assert sink.push(planned).wrote
    customers, contracts = len(big.customers), len(big.contracts)
    assert kinds(big.requests) == {
        "GET /api/v3/customers": -(-customers // 50),
        "GET /api/v3/contracts": -(-contracts // 50),
        # The contract read right before its PUT: the header sent back is the one Atera holds at the write.
        "GET contract": len(lines),
        "PUT contract": len(lines),
        "PUT record": len(lines),
    }
    for planned in lines[:3]:
        contract = next(
            c
            for c in big.contracts.values()
            if c["CustomerName"] == planned.psa_customer and c["ContractName"] == planned.contract
        )
        assert contract["RetainerFlatFeeContract"]["Quantity"] == 10
        held = parse_record(big.custom_value("contract", contract["ContractID"], FIELD))
        assert held == (planned.identity, planned.quantity)


def test_the_engine_s_snapshot_is_the_listing_the_pushes_use(
    open_sink: Callable[..., AteraSink], big: AteraSandbox
) -> None:
    sink = open_sink()
    lines = every_line()
    sink.snapshot([ContractRef(x.psa_customer, None, x.contract, None) for x in lines])
    listed = len(big.requests)
    for planned in lines:
        sink.push(planned)
    # No list is read again: the only reads are each contract's header, just before its PUT.
    assert kinds(big.requests[listed:]) == {
        "GET contract": len(lines),
        "PUT contract": len(lines),
        "PUT record": len(lines),
    }


def test_a_new_period_with_the_same_quantity_reads_the_record_once_and_writes_only_the_record(
    open_sink: Callable[..., AteraSink], big: AteraSandbox
) -> None:
    sink = open_sink()
    for planned in every_line():
        sink.push(planned)
    before = len(big.requests)
    later = open_sink()  # the next run
    for planned in every_line(period="2026-12"):
        assert later.push(planned).wrote
    counted = kinds(big.requests[before:])
    assert (counted["GET record"], counted["PUT record"], counted["PUT contract"]) == (2 * CUSTOMERS,) * 2 + (0,)
    before = len(big.requests)
    again = open_sink()  # a rerun after a crash before the outbox said pushed: reads, writes nothing
    assert not any(again.push(planned).wrote for planned in every_line(period="2026-12"))
    assert kinds(big.requests[before:])["PUT record"] == 0


def test_the_guards_work_from_the_run_s_own_pushes_without_reading_the_record(
    open_sink: Callable[..., AteraSink], big: AteraSandbox
) -> None:
    sink = open_sink()
    sink.push(line(1, "Server backup", "20", period="2026-12"))
    writes = len(big.writes())
    with pytest.raises(Exception, match="already holds the quantity of period 2026-12"):
        sink.push(line(1, "Server backup", "10", period="2026-11"))
    with pytest.raises(Exception, match="one contract's Quantity can carry one metric"):
        sink.push(line(1, "Server backup", "3", period="2026-12", metric="axcient.server_devices"))
    assert len(big.writes()) == writes
    assert not any(r.path.startswith("/api/v3/customvalues/") and r.method == "GET" for r in big.requests)


def test_a_run_that_spent_its_request_budget_defers_the_rest_before_sending_anything(
    open_sink: Callable[..., AteraSink], big: AteraSandbox
) -> None:
    lines = every_line()
    sink = open_sink(requests_per_run=30)
    pushed = 0
    with pytest.raises(PushDeferred, match=r"the 30 requests \[atera\] requests_per_run allows"):
        for planned in lines:
            sink.push(planned)
            pushed += 1
    sent = len(big.requests)
    # Lists (2 customer pages, 3 contract pages), then per line the header read and two writes until the budget is
    # reached: the line under way when it is reached ends, no line starts after it.
    assert sent == 5 + 3 * pushed and 30 <= sent < 30 + 3
    with pytest.raises(PushDeferred):
        sink.push(lines[pushed])
    assert len(big.requests) == sent
    # The next cycle's run has its own budget and goes on where this one stopped.
    following = open_sink(requests_per_run=0)
    for planned in lines[pushed:]:
        assert following.push(planned).wrote
    assert all(
        c["RetainerFlatFeeContract"]["Quantity"] == 10 for c in big.contracts.values() if c["ContractID"] >= 50_000
    )
