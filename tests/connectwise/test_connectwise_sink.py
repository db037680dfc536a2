"""The ConnectWise sink against the sandbox, every exchange held to the OpenAPI description: one PATCH per changed
line (quantity and record together), nothing written twice, crash recovery, edits in ConnectWise, refusals."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connector.core.errors import ConfigError, DataError, VendorAuthError
from mappings.lines import Outcome
from mappings.truth import ContractRef, HeldContract, Missing, compare
from providers.connectwise.sandbox import ConnectWiseSandbox
from providers.connectwise.sink import ConnectWiseSink
from providers.record import parse_record, record_text

from .openapi_check import OpenApiContract
from .support import FIELD, line, sandbox_client


class Crash(Exception):
    """Stands for the process dying right after ConnectWise took a write."""


@pytest.fixture
def sandbox() -> Iterator[ConnectWiseSandbox]:
    with ConnectWiseSandbox() as server:
        yield server


@pytest.fixture
def make_sink(sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract) -> Callable[..., ConnectWiseSink]:
    def make(crash: bool = False, **overrides: Any) -> ConnectWiseSink:
        def die(addition_id: int) -> None:
            raise Crash(f"killed after writing addition {addition_id}")

        return ConnectWiseSink(
            lambda: sandbox_client(sandbox, cw_contract, **overrides),
            custom_field=FIELD,
            after_addition_write=die if crash else None,
        )

    return make


@pytest.fixture
def sink(make_sink: Callable[..., ConnectWiseSink]) -> ConnectWiseSink:
    return make_sink()


def writes(sandbox: ConnectWiseSandbox) -> list[str]:
    return [f"{r.method} {r.path.removeprefix('/v4_6_release/apis/3.0')}" for r in sandbox.writes()]


def held_602(sandbox: ConnectWiseSandbox) -> tuple[Any, Any]:
    """What addition 602 holds now: its quantity and the record's text."""
    return sandbox.addition_view(602)["quantity"], sandbox.custom_value(602)


def test_a_push_sets_quantity_and_record_in_one_patch(sink: ConnectWiseSink, sandbox: ConnectWiseSandbox) -> None:
    result = sink.push(line())
    assert (result.psa_ref, result.wrote, result.previous_quantity) == (
        "agreement 501, addition 602",
        True,
        Decimal(560),
    )
    assert writes(sandbox) == ["PATCH /finance/agreements/501/additions/602"]
    operations = sandbox.writes()[0].json()
    assert [(op["op"], op["path"]) for op in operations] == [("replace", "quantity"), ("replace", "customFields")]
    assert operations[1]["value"][0]["id"] == 7
    quantity, record = held_602(sandbox)
    assert quantity == 612.5 and parse_record(record) == (line().identity, Decimal("612.5"))
    assert sandbox.unpinned == []


def test_one_run_reads_each_list_once(sink: ConnectWiseSink, sandbox: ConnectWiseSandbox) -> None:
    sink.snapshot([ContractRef.of_line(line())])
    sink.push(line())
    paths = [f"{r.method} {r.path.removeprefix('/v4_6_release/apis/3.0')}" for r in sandbox.requests]
    assert paths == [
        "GET /company/companies",
        "GET /finance/agreements",
        "GET /finance/agreements/501/additions",
        "GET /finance/agreements/501/additions/602",  # the addition as it is just before the write
        "PATCH /finance/agreements/501/additions/602",
    ]
    assert sandbox.requests[1].param("conditions") == "company/id in (251)"


def test_a_second_identical_push_writes_nothing(sink: ConnectWiseSink, sandbox: ConnectWiseSandbox) -> None:
    sink.push(line())
    count = len(sandbox.requests)
    again = sink.push(line())
    assert (again.wrote, again.previous_quantity) == (False, Decimal("612.5"))
    assert len(sandbox.requests) == count  # the run's listing holds what it wrote


def test_a_crash_after_the_patch_ends_with_nothing_written_on_rerun(
    make_sink: Callable[..., ConnectWiseSink], sandbox: ConnectWiseSandbox
) -> None:
    with pytest.raises(Crash):
        make_sink(crash=True).push(line())
    rerun = make_sink().push(line())
    assert rerun.wrote is False  # the record names this line and period: the PATCH landed
    assert writes(sandbox) == ["PATCH /finance/agreements/501/additions/602"]


def test_the_same_quantity_in_a_new_period_rewrites_only_the_record(
    make_sink: Callable[..., ConnectWiseSink], sandbox: ConnectWiseSandbox
) -> None:
    make_sink().push(line())
    december = line(period_key="2026-12")
    assert make_sink().push(december).wrote is True
    assert len(writes(sandbox)) == 2
    assert parse_record(held_602(sandbox)[1]) == (december.identity, Decimal("612.5"))


def test_an_edit_in_connectwise_since_the_run_read_it_is_refused(
    sink: ConnectWiseSink, sandbox: ConnectWiseSandbox
) -> None:
    sink.snapshot([ContractRef.of_line(line())])
    sandbox.additions[501][602]["quantity"] = 99  # a person, between the run's read and its write
    with pytest.raises(ConfigError) as refused:
        sink.push(line())
    assert getattr(refused.value, "outcome", None) is Outcome.EDITED
    assert "now holds 99, not the 560 this run read: someone changed it in ConnectWise since" in str(refused.value)
    assert writes(sandbox) == []


def test_a_quantity_edited_after_a_push_is_found_by_the_next_run(
    make_sink: Callable[..., ConnectWiseSink], sandbox: ConnectWiseSandbox
) -> None:
    make_sink().push(line())
    sandbox.additions[501][602]["quantity"] = 1
    ref = ContractRef.of_line(line())
    seen = make_sink().snapshot([ref])[ref]
    assert isinstance(seen, HeldContract) and seen.quantity == 1
    november = (date(2026, 11, 1), date(2026, 11, 30))
    found = compare(seen, psa="ConnectWise", period_start=november[0], period_end=november[1], rate=Decimal("0.12"),
                    pushed=Decimal("612.5"))  # fmt: skip
    assert found is not None and found.outcome is Outcome.EDITED


def test_an_approved_edit_is_set_back_loudly(
    make_sink: Callable[..., ConnectWiseSink], sandbox: ConnectWiseSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # What `approve` of a line edited in ConnectWise does: the record names this line, the quantity is someone's.
    make_sink().push(line())
    sandbox.additions[501][602]["quantity"] = 1
    result = make_sink().push(line())
    assert (result.wrote, result.previous_quantity) == (True, Decimal(1))
    assert held_602(sandbox)[0] == 612.5
    assert "someone changed it in ConnectWise" in caplog.text


@pytest.mark.parametrize(
    ("change", "outcome", "said"),
    [
        (lambda s: s.agreements[501].update(cancelledFlag=True), Outcome.CONTRACT_INACTIVE, "which is Cancelled"),
        (lambda s: s.additions[501][602].update(billCustomer="DoNotBill"), Outcome.CONTRACT_INACTIVE, "DoNotBill"),
        (lambda s: s.additions[501][602].update(unitPrice=0.15), Outcome.RATE_DIFFERS, "bills 0.15 per unit"),
        (lambda s: s.additions[501][602].update(lessIncluded=10), Outcome.RATE_DIFFERS, "Less Included"),
    ],
)
def test_a_push_whose_reread_finds_a_change_is_refused_and_writes_nothing(
    sink: ConnectWiseSink,
    sandbox: ConnectWiseSandbox,
    change: Callable[[ConnectWiseSandbox], None],
    outcome: Outcome,
    said: str,
) -> None:
    sink.snapshot([ContractRef.of_line(line())])
    change(sandbox)
    with pytest.raises(ConfigError) as refused:
        sink.push(line())
    assert getattr(refused.value, "outcome", None) is outcome
    assert said in str(refused.value) and "changed since this run read it" in str(refused.value)
    assert writes(sandbox) == []


def test_an_addition_deleted_since_the_run_read_it_is_missing_not_failed(
    sink: ConnectWiseSink, sandbox: ConnectWiseSandbox
) -> None:
    sink.snapshot([ContractRef.of_line(line())])
    del sandbox.additions[501][602]
    with pytest.raises(ConfigError, match="is gone since this run read it") as refused:
        sink.push(line())
    assert getattr(refused.value, "outcome", None) is Outcome.CONTRACT_MISSING
    assert writes(sandbox) == []


def test_an_addition_without_the_custom_field_says_how_to_create_it(
    cw_contract: OpenApiContract,
) -> None:
    with ConnectWiseSandbox(addition_custom_fields=[]) as bare:
        sink = ConnectWiseSink(lambda: sandbox_client(bare, cw_contract), custom_field=FIELD)
        ref = ContractRef.of_line(line())
        assert isinstance(sink.snapshot([ref])[ref], HeldContract)  # reading needs no record
        with pytest.raises(ConfigError) as refused:
            sink.push(line())
        assert bare.writes() == []
    text = str(refused.value)
    assert "has no custom field 'Billing connector record'" in text
    assert "create a Text custom field with that caption for Agreement Additions" in text
    assert "Setup Tables > Custom Fields" in text and "[connectwise] custom_field" in text


def test_create_if_missing_adds_the_addition_once_and_tells_it_first(
    make_sink: Callable[..., ConnectWiseSink], sandbox: ConnectWiseSandbox
) -> None:
    sandbox.add_catalog_item("BKP-PC-DEVICE", "Workstation backup, per device", 4.25)
    new = line("7", {"product": "BKP-PC-DEVICE", "create_if_missing": True}, metric="axcient.pc_devices",
               rate=Decimal("4.5"), unit="device")  # fmt: skip
    told: list[tuple[str, dict[str, Any]]] = []
    ref = ContractRef.of_line(new)
    sink = make_sink()
    missing = sink.snapshot([ref])[ref]
    assert isinstance(missing, Missing) and missing.customer_found
    result = sink.push(new, lambda event, details: told.append((event, dict(details))))
    assert writes(sandbox) == ["POST /finance/agreements/501/additions"]
    created = sandbox.addition_view(int(result.psa_ref.rsplit(" ", 1)[1]))
    assert (created["quantity"], created["unitPrice"], created["billCustomer"]) == (7, 4.5, "Billable")
    assert created["effectiveDate"] == "2026-11-01T00:00:00Z"
    assert parse_record(sandbox.custom_value(created["id"])) == (new.identity, Decimal(7))
    assert [event for event, _ in told] == ["connectwise.addition_created"]
    assert told[0][1]["psa_ref"] == result.psa_ref and told[0][1]["product"] == "BKP-PC-DEVICE"
    assert sink.push(new).wrote is False
    assert make_sink().push(new).wrote is False  # a rerun finds it: never a second addition
    assert writes(sandbox) == ["POST /finance/agreements/501/additions"]


def test_an_addition_created_after_the_run_s_read_is_found_not_created_again(
    make_sink: Callable[..., ConnectWiseSink], sandbox: ConnectWiseSandbox
) -> None:
    sandbox.add_catalog_item("BKP-PC-DEVICE", "Workstation backup, per device", 4.25)
    new = line("7", {"product": "BKP-PC-DEVICE", "create_if_missing": True}, rate=Decimal("4.25"))
    sink = make_sink()
    sink.snapshot([ContractRef.of_line(new)])
    sandbox.add_addition(501, "BKP-PC-DEVICE", 7, 4.25)  # a person added it meanwhile
    sink.push(new)
    assert [w.split()[0] for w in writes(sandbox)] == ["PATCH"]


def test_a_product_missing_from_the_catalog_is_a_configuration_error(
    sink: ConnectWiseSink, sandbox: ConnectWiseSandbox
) -> None:
    with pytest.raises(ConfigError, match="catalog has no product 'BKP-NOTHING'"):
        sink.push(line(psa={"product": "BKP-NOTHING", "create_if_missing": True}))
    assert writes(sandbox) == []


def test_an_older_period_never_overwrites_a_newer_one(sink: ConnectWiseSink, sandbox: ConnectWiseSandbox) -> None:
    sink.push(line(period_key="2026-12"))
    with pytest.raises(DataError, match="refusing to overwrite it with the older period 2026-11"):
        sink.push(line("600"))


def test_two_metrics_on_one_addition_are_refused(sink: ConnectWiseSink) -> None:
    sink.push(line())
    with pytest.raises(ConfigError, match="one addition's quantity can carry one metric"):
        sink.push(line("3", metric="axcient.server_devices"))


def test_a_missing_agreement_is_refused_as_contract_missing(sink: ConnectWiseSink, sandbox: ConnectWiseSandbox) -> None:
    with pytest.raises(ConfigError) as refused:
        sink.push(line(contract="Managed Backups"))
    assert getattr(refused.value, "outcome", None) is Outcome.CONTRACT_MISSING
    assert "did you mean 'Managed Backup' (id 501)?" in str(refused.value)


def test_the_record_is_the_shared_text(sink: ConnectWiseSink, sandbox: ConnectWiseSandbox) -> None:
    sink.push(line())
    assert held_602(sandbox)[1] == record_text(line())


def test_the_keys_are_in_no_log_line(
    sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sink = ConnectWiseSink(lambda: sandbox_client(sandbox, cw_contract), custom_field=FIELD)
    sink.push(line())
    sandbox.private_key = "rotated"
    with pytest.raises(VendorAuthError):
        sink.push(line("700"))
    assert sandbox.private_key not in caplog.text
    assert sandbox.public_key not in caplog.text
