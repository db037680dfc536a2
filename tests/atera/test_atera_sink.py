"""The Atera sink against the sandbox: quantity pushes, idempotence, creation on request, refusals, crash recovery."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.core.errors import ConfigError, ConnectorError, DataError
from connector.core.http import HttpSettings
from connector.store import Store
from mappings.enums import BillingPeriod
from mappings.lines import Line, LineIdentity
from mappings.truth import ContractRef
from providers.atera.client import AteraClient, build_atera_client
from providers.atera.sandbox import AteraSandbox
from providers.atera.settings import AteraSettings
from providers.atera.sink import AteraSink
from providers.record import parse_record
from providers.sandbox import Fault

FIELD = "Billing connector"


def planned(quantity: str = "412.5", psa: dict[str, Any] | None = None, **changes: Any) -> Line:
    line = Line(
        psa_customer="Contoso Ltd",
        contract="Server backup (per GB)",
        period_key="2026-11",
        metric="axcient.server_gb",
        quantity=Decimal(quantity),
        unit="GB",
        rate=Decimal("0.12"),
        amount=Decimal(quantity) * Decimal("0.12"),
        psa={"rate_sku": "BFF-SERVER-GB"} if psa is None else psa,
    )
    return dataclasses.replace(line, **changes)


def new_line(rate_sku: str | None = "BFF-PC-DEVICE", **changes: Any) -> Line:
    """A line for a contract (and rate) that do not exist yet, with permission to create them."""
    values: dict[str, Any] = {
        "psa_customer": "Northwind Traders",
        "contract": "Workstation backup (per device)",
        "metric": "axcient.pc_devices",
        "unit": "device",
        "rate": Decimal("4.25"),
        "billing_period": BillingPeriod.QUARTERLY,
        "start_date": date(2026, 10, 1),
    }
    values.update(changes)
    return planned("7", psa={"rate_sku": rate_sku, "create_if_missing": True}, **values)


class Crash(Exception):
    """Stands for the process dying right after Atera accepted a contract write."""


@pytest.fixture
def make_sink(make_client: Callable[..., AteraClient]) -> Callable[..., AteraSink]:
    def make(crash_after_write: bool = False) -> AteraSink:
        def crash(contract_id: int) -> None:
            raise Crash(f"killed after writing contract {contract_id}")

        return AteraSink(make_client, custom_field=FIELD, after_contract_write=crash if crash_after_write else None)

    return make


@pytest.fixture
def sink(make_sink: Callable[..., AteraSink]) -> AteraSink:
    return make_sink()


def writes(sandbox: AteraSandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sandbox.writes()]


def recorded(sandbox: AteraSandbox, contract_id: int) -> tuple[LineIdentity, Decimal] | None:
    return parse_record(sandbox.custom_value("contract", contract_id, FIELD))


def test_a_push_sets_the_quantity_and_records_the_line(sink: AteraSink, sandbox: AteraSandbox) -> None:
    before = dict(sandbox.contracts[101])
    result = sink.push(planned())
    assert (result.contract_id, result.psa_ref, result.wrote, result.previous_quantity) == (
        101,
        "contract/101",
        True,
        Decimal(560),
    )
    after = sandbox.contracts[101]
    assert after["RetainerFlatFeeContract"]["Quantity"] == 412.5
    # Every other field is as it was: name, dates, flags, billing period, rate.
    assert {k: v for k, v in after.items() if k != "RetainerFlatFeeContract"} == {
        k: v for k, v in before.items() if k != "RetainerFlatFeeContract"
    }
    assert after["RetainerFlatFeeContract"]["Rate"]["RateID"] == 11
    assert after["RetainerFlatFeeContract"]["BillingPeriod"] == "Monthly"
    assert recorded(sandbox, 101) == (planned().identity, Decimal("412.5"))
    assert writes(sandbox) == [
        "PUT /api/v3/contracts/101",
        "PUT /api/v3/customvalues/contractfield/101/Billing%20connector",
    ]


def test_a_second_identical_push_writes_nothing(sink: AteraSink, sandbox: AteraSandbox) -> None:
    sink.push(planned())
    count = len(sandbox.writes())
    again = sink.push(planned("412.50"))
    assert (again.wrote, again.previous_quantity) == (False, Decimal("412.5"))
    assert len(sandbox.writes()) == count


def test_the_same_quantity_in_a_new_period_only_updates_the_record(sink: AteraSink, sandbox: AteraSandbox) -> None:
    sink.push(planned())
    count = len(sandbox.writes())
    result = sink.push(planned(period_key="2026-12"))
    assert result.wrote
    assert writes(sandbox)[count:] == ["PUT /api/v3/customvalues/contractfield/101/Billing%20connector"]
    assert recorded(sandbox, 101) == (planned(period_key="2026-12").identity, Decimal("412.5"))


def test_every_request_the_sink_sends_is_in_atera_s_contract(
    make_sink: Callable[..., AteraSink], sandbox: AteraSandbox, openapi: Any
) -> None:
    sink = make_sink()
    sink.push(planned())
    sink.push(new_line())
    sink.push(planned("3", contract_id=101, period_key="2026-12"))
    assert len(sandbox.requests) > 8
    for request in sandbox.requests:
        openapi.check_request(request.path, request.method, request.query, request.body)


def test_create_if_missing_creates_the_rate_and_the_contract_once(sink: AteraSink, sandbox: AteraSandbox) -> None:
    result = sink.push(new_line())
    assert result.wrote and result.previous_quantity is None
    contract = sandbox.contracts[result.contract_id]
    assert (contract["CustomerID"], contract["ContractName"], contract["ContractType"], contract["Active"]) == (
        3,
        "Workstation backup (per device)",
        "RetainerFlatFee",
        True,
    )
    assert contract["StartDate"] == "2026-10-01T00:00:00"
    retainer = contract["RetainerFlatFeeContract"]
    assert (retainer["Quantity"], retainer["BillingPeriod"]) == (7, "Quarterly")
    assert (retainer["Rate"]["SKU"], retainer["Rate"]["Amount"]) == ("BFF-PC-DEVICE", 4.25)
    assert writes(sandbox) == [
        "POST /api/v3/rates/products",
        "POST /api/v3/contracts",
        f"PUT /api/v3/customvalues/contractfield/{result.contract_id}/Billing%20connector",
    ]
    count = len(sandbox.writes())
    assert sink.push(new_line()).wrote is False
    assert len(sandbox.writes()) == count


def test_an_existing_rate_product_is_reused_by_sku(sink: AteraSink, sandbox: AteraSandbox) -> None:
    result = sink.push(new_line(rate=Decimal("0.12"), rate_sku="bff-server-gb"))
    assert "POST /api/v3/rates/products" not in writes(sandbox)
    assert sandbox.contracts[result.contract_id]["RetainerFlatFeeContract"]["Rate"]["RateID"] == 11


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        (planned(psa_customer="Nobody Ltd"), ConfigError, "no customer named 'Nobody Ltd'"),
        (planned(contract="Support hours"), ConfigError, "is a Hourly contract"),
        (planned(contract="Missing contract"), ConfigError, "or set create_if_missing = true"),
        (planned(rate=Decimal("0.15")), ConfigError, "bills 0.12 per unit, the mapping says 0.15"),
        (planned(contract_id=103), ConfigError, "belongs to customer 2"),
        (new_line(rate=Decimal("0.10"), rate_sku="BFF-SERVER-GB"), ConfigError, "costs 0.12, the mapping says 0.10"),
        (new_line(rate_sku=None), ConfigError, "needs rate_sku"),
        (
            new_line(psa_customer="Northwind Traders", contract="Online backup"),
            ConfigError,
            "is a OnlineBackup contract",
        ),
    ],
    ids=["customer", "not retainer", "missing", "rate", "other customer", "sku price", "no sku", "online backup"],
)
def test_lines_that_cannot_be_pushed_write_nothing_and_say_why(
    sink: AteraSink, sandbox: AteraSandbox, line: Line, error: type[ConnectorError], message: str
) -> None:
    with pytest.raises(error, match=message):
        sink.push(line)
    assert sandbox.writes() == []


def test_an_inactive_contract_is_refused(sink: AteraSink, sandbox: AteraSandbox) -> None:
    sandbox.contracts[101]["Active"] = False
    with pytest.raises(ConfigError, match="is inactive"):
        sink.push(planned())
    assert sandbox.writes() == []


def test_an_older_period_never_overwrites_a_newer_one(sink: AteraSink, sandbox: AteraSandbox) -> None:
    sink.push(planned("500", period_key="2026-12"))
    count = len(sandbox.writes())
    with pytest.raises(DataError, match="already holds the quantity of period 2026-12"):
        sink.push(planned("412.5", period_key="2026-11"))
    assert len(sandbox.writes()) == count
    assert sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] == 500


def test_two_metrics_on_one_contract_are_refused(sink: AteraSink, sandbox: AteraSandbox) -> None:
    sink.push(planned())
    with pytest.raises(ConfigError, match=r"already carries axcient\.server_gb"):
        sink.push(planned("3", metric="axcient.server_devices"))


def test_ambiguous_customer_names_ask_for_the_id(sink: AteraSink, sandbox: AteraSandbox) -> None:
    sandbox.customers[77] = {"CustomerID": 77, "CustomerName": "contoso ltd"}
    with pytest.raises(ConfigError, match=r"2 customers named 'Contoso Ltd' \(IDs 1, 77\): set psa_customer_id"):
        sink.push(planned())
    assert sink.push(planned(psa_customer_id=1)).contract_id == 101


def test_server_errors_and_dropped_connections_on_the_update_are_retried(
    sink: AteraSink, sandbox: AteraSandbox, clock: Any
) -> None:
    sandbox.inject(Fault(status=503, method="PUT", path_prefix="/api/v3/contracts/101"))
    sandbox.inject(Fault(drop=True, method="PUT", path_prefix="/api/v3/contracts/101"))
    sandbox.inject(Fault(status=429, headers={"Retry-After": "9"}, method="GET"))
    result = sink.push(planned())
    assert result.wrote
    assert sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] == 412.5
    assert 9 in clock.sleeps and len(clock.sleeps) == 3


def test_a_throttled_sink_stays_under_atera_s_rate_limit(
    settings_for: Callable[..., AteraSettings], clock: Any, http_settings: HttpSettings
) -> None:
    with AteraSandbox(rate_limit=(4, 60), clock=clock) as server:
        settings = settings_for(server.api_url, max_requests=4, window_seconds=60)
        sink = AteraSink(
            lambda: build_atera_client(settings, http_settings, sleep=clock.sleep, clock=clock), custom_field=FIELD
        )
        for month in ("2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"):
            sink.push(planned(str(100 + int(month[-2:])), period_key=month))
        assert server.rate_limited == 0
        assert len(server.requests) >= 12
        assert clock.sleeps and all(s <= 60 for s in clock.sleeps)


# -- crash recovery through the store's outbox ---------------------------------------------------------------


def deliver(store: Store, sink: AteraSink, line: Line) -> None:
    """What the engine does with a line: stage it as pending, push it (auditing what the push creates as it goes),
    mark it pushed once Atera has it."""
    store.outbox.stage(line, None)

    def audit(event: str, details: dict[str, Any]) -> None:
        store.runs.audit(event, line.psa_customer, {"identity": list(line.identity), **details})

    result = sink.push(line, audit)
    store.outbox.mark_pushed(line.identity, result.psa_ref)


def test_a_crash_after_the_update_ends_with_one_right_value_on_rerun(
    make_sink: Callable[..., AteraSink], sandbox: AteraSandbox, tmp_path: Path
) -> None:
    line = planned()
    with Store.open(tmp_path / "state.db") as store:
        with pytest.raises(Crash):
            deliver(store, make_sink(crash_after_write=True), line)
        stored = store.outbox.get(line.identity)
        assert stored is not None and stored.status == "pending"
        assert sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] == 412.5
        assert recorded(sandbox, 101) is None

    with Store.open(tmp_path / "state.db") as store:
        deliver(store, make_sink(), line)
        stored = store.outbox.get(line.identity)
        assert stored is not None
        assert (stored.status, stored.pushed_quantity, stored.psa_ref) == ("pushed", Decimal("412.5"), "contract/101")
    assert writes(sandbox).count("PUT /api/v3/contracts/101") == 1
    assert recorded(sandbox, 101) == (line.identity, line.quantity)
    assert sum(1 for c in sandbox.contracts.values() if c["ContractName"] == line.contract) == 1

    with Store.open(tmp_path / "state.db") as store:
        count = len(sandbox.writes())
        deliver(store, make_sink(), line)
        assert len(sandbox.writes()) == count


def test_a_crash_after_creating_the_contract_never_creates_it_twice(
    make_sink: Callable[..., AteraSink], sandbox: AteraSandbox, tmp_path: Path
) -> None:
    line = new_line()
    with Store.open(tmp_path / "state.db") as store:
        with pytest.raises(Crash):
            deliver(store, make_sink(crash_after_write=True), line)
        deliver(store, make_sink(), line)
        stored = store.outbox.get(line.identity)
        assert stored is not None and stored.status == "pushed"
        events = [e["event"] for e in store.runs.audit_events("Northwind Traders")]
    assert events == ["atera.rate_created", "atera.contract_created"]
    created = [c for c in sandbox.contracts.values() if c["ContractName"] == line.contract]
    assert len(created) == 1
    assert created[0]["RetainerFlatFeeContract"]["Quantity"] == 7
    assert writes(sandbox).count("POST /api/v3/contracts") == 1
    assert writes(sandbox).count("POST /api/v3/rates/products") == 1
    assert recorded(sandbox, created[0]["ContractID"]) == (line.identity, line.quantity)


def test_a_crash_before_the_store_recorded_the_push_reruns_without_writing(
    sink: AteraSink, sandbox: AteraSandbox, tmp_path: Path
) -> None:
    line = planned()
    with Store.open(tmp_path / "state.db") as store:
        store.outbox.stage(line, None)
        sink.push(line)  # Atera has it all; the process dies before outbox.mark_pushed
        count = len(sandbox.writes())
        deliver(store, sink, line)
        assert len(sandbox.writes()) == count
        stored = store.outbox.get(line.identity)
        assert stored is not None and stored.status == "pushed"


def test_a_quantity_changed_by_hand_in_atera_is_set_back_loudly(
    sink: AteraSink, sandbox: AteraSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sink.push(planned())
    sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] = 1
    # The run reads Atera again (the engine's snapshot): the sink pushes from what that listing says.
    sink.snapshot([ContractRef("Contoso Ltd", None, "Server backup (per GB)", None)])
    count = len(sandbox.writes())
    result = sink.push(planned())
    assert (result.wrote, result.previous_quantity) == (True, Decimal(1))
    assert writes(sandbox)[count:] == ["PUT /api/v3/contracts/101"]
    assert sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] == 412.5
    assert "someone changed it in Atera" in caplog.text


def test_a_later_run_sets_a_hand_edited_quantity_back_with_its_record(
    make_sink: Callable[..., AteraSink], sandbox: AteraSandbox
) -> None:
    # What `approve` of a line edited in Atera does: a new run's sink knows nothing of the record, and a changed
    # quantity is written with its record without reading the record first (two writes; the one read is the
    # contract's header, read just before the write so that the header sent back is the current one).
    make_sink().push(planned())
    sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] = 1
    count = len(sandbox.requests)
    result = make_sink().push(planned())
    assert (result.wrote, result.previous_quantity) == (True, Decimal(1))
    assert [f"{r.method} {r.path}" for r in sandbox.requests[count:]] == [
        "GET /api/v3/customers",
        "GET /api/v3/contracts",
        "GET /api/v3/contracts/101",
        "PUT /api/v3/contracts/101",
        "PUT /api/v3/customvalues/contractfield/101/Billing%20connector",
    ]
    assert recorded(sandbox, 101) == (planned().identity, Decimal("412.5"))


def test_the_record_on_the_contract_keeps_its_text_so_older_records_are_recognised(
    sink: AteraSink, sandbox: AteraSandbox
) -> None:
    sink.push(planned())
    assert sandbox.custom_value("contract", 101, FIELD) == (
        '{"period":"2026-11","quantity":"412.5","line":["Contoso Ltd","Server backup (per GB)","2026-11",'
        '"axcient.server_gb"]}'
    )
    assert parse_record('{"period":"2026-11","quantity":"412.50","line":["a","b","2026-11","m"]}') == (
        LineIdentity("a", "b", "2026-11", "m"),
        Decimal("412.5"),
    )
    for foreign in ("", "invoiced by hand", "[1, 2]", '{"period":"2026-11","quantity":"x","line":["a","b","c","d"]}'):
        assert parse_record(foreign) is None


def test_what_a_push_creates_is_told_to_the_caller_in_order(sink: AteraSink, sandbox: AteraSandbox) -> None:
    told: list[tuple[str, dict[str, Any]]] = []
    result = sink.push(new_line(), lambda event, details: told.append((event, details)))
    (rate,) = [r for r in sandbox.rates["products"].values() if r.get("SKU") == "BFF-PC-DEVICE"]
    assert told == [
        ("atera.rate_created", {"rate_id": rate["RateID"], "sku": "BFF-PC-DEVICE", "amount": "4.25"}),
        (
            "atera.contract_created",
            {"contract_id": result.contract_id, "rate_id": rate["RateID"], "psa_ref": result.psa_ref},
        ),
    ]
    told.clear()
    sink.push(new_line(), lambda event, details: told.append((event, details)))
    assert told == []


@pytest.mark.parametrize(
    ("quantity", "why"),
    [
        ("1E+400", "more than Atera can hold"),
        ("NaN", "not a finite number"),
        ("sNaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("-3", "negative"),
    ],
)
def test_a_quantity_atera_cannot_hold_is_refused_before_anything_is_sent(
    sink: AteraSink, sandbox: AteraSandbox, quantity: str, why: str
) -> None:
    # Before: 1E+400 went out through float as `"Quantity": null`, and the push was reported as done.
    line = dataclasses.replace(planned(), quantity=Decimal(quantity), amount=Decimal(0))
    with pytest.raises(DataError, match=why):
        sink.push(line)
    with pytest.raises(DataError, match=why):
        sink.push(dataclasses.replace(new_line(), quantity=Decimal(quantity), amount=Decimal(0)))
    assert sandbox.writes() == []
    assert sandbox.contracts[101]["RetainerFlatFeeContract"]["Quantity"] == 560


def test_a_rate_atera_cannot_hold_is_refused_before_anything_is_sent(sink: AteraSink, sandbox: AteraSandbox) -> None:
    with pytest.raises(DataError, match="rate"):
        sink.push(dataclasses.replace(new_line(), rate=Decimal("NaN")))
    assert sandbox.writes() == []


def test_quantities_go_on_the_wire_as_their_exact_digits(sink: AteraSink, sandbox: AteraSandbox) -> None:
    # 123456789.1234 MB / 1024: a float would send 120563.27062832031 and lose the rest.
    sink.push(planned("120563.2706283203125"))
    (update,) = [r for r in sandbox.writes() if r.path == "/api/v3/contracts/101"]
    assert b'"Quantity":120563.2706283203125' in update.body


def test_a_quantity_with_more_digits_than_a_double_is_not_rewritten_on_every_push(
    sink: AteraSink, sandbox: AteraSandbox
) -> None:
    # Atera keeps a double: reading back 120563.27062832031 is what it holds of the line, not a change by hand.
    sink.push(planned("120563.2706283203125"))
    count = len(sandbox.writes())
    again = sink.push(planned("120563.2706283203125"))
    assert not again.wrote and len(sandbox.writes()) == count
