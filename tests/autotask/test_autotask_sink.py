"""The Autotask sink against the sandbox, every exchange held to the Swagger subset: a line's units set for its period
by one adjustment dated the period's first day, read before and after (three requests), nothing sent twice, crash
recovery without overshooting, edits in Autotask since the run's read refused, refusals for inactive, ended,
non-Recurring and differently priced contracts, the service added on request, and the hourly request threshold."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from connector.core.errors import DataError, VendorAuthError, VendorError
from connector.core.secrets import SecretRef
from connector.interfaces.deferral import PushDeferred
from connector.interfaces.psa import PushRefused
from mappings.lines import Line, Outcome
from mappings.truth import ContractRef, HeldContract, Missing
from providers.autotask import sandbox_query as query
from providers.autotask.client import AutotaskClient
from providers.autotask.invoicing import InvoicingAutotaskSink
from providers.autotask.sandbox import AutotaskSandbox
from providers.autotask.sink import ADD_COST, PUSH_COST, AutotaskSink
from providers.autotask.verify import ADDED_MARK
from providers.sandbox import SandboxRequest, SandboxResponse

from .support import (
    CONTRACT,
    EARLIER,
    HELD,
    MONTH,
    PREVIOUS,
    SERVER_GB,
    USERS,
    built_client,
    client,
    first_of,
    line,
    mid,
    requests,
    writes,
)
from .swagger_check import SwaggerContract

ADJUST = f"POST /V1.0/Contracts/{CONTRACT}/ServiceAdjustments"
# Contoso's users on contract service 601 (10 x 3.50 in the sandbox), beside the server GB on 602.
USERS_LINE = line("12", {"service": "BKP-M365-USER"}, metric="altaro.billed_users", unit="user", rate="3.5")

Told = list[tuple[str, dict[str, Any]]]


class Crash(Exception):
    """Stands for the process dying right after Autotask took an adjustment."""


@pytest.fixture
def make_sink(at_sandbox: AutotaskSandbox, at_contract: SwaggerContract) -> Iterator[Callable[..., AutotaskSink]]:
    made: list[AutotaskSink] = []

    def make(crash: bool = False, **options: Any) -> AutotaskSink:
        def die(adjustment: int) -> None:
            raise Crash(f"killed after adjustment {adjustment}")

        sink = AutotaskSink(
            lambda: client(at_sandbox, at_contract),
            now=lambda: datetime.now(UTC),
            after_adjustment=die if crash else None,
            **options,
        )
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close()


@pytest.fixture
def sink(make_sink: Callable[..., AutotaskSink]) -> AutotaskSink:
    return make_sink()


def refused(sink: AutotaskSink, pushed: Line) -> PushRefused:
    with pytest.raises(PushRefused) as caught:
        sink.push(pushed)
    return caught.value


# -- setting the units ------------------------------------------------------------------------------------------------


def test_a_push_sets_the_period_s_units_with_one_adjustment_dated_its_first_day(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    result = sink.push(line("612"))
    assert (result.psa_ref, result.wrote, result.previous_quantity) == (
        f"contract {CONTRACT}, service {SERVER_GB}",
        True,
        Decimal(HELD),
    )
    assert writes(at_sandbox) == [ADJUST]
    adjustment = at_sandbox.adjustments[-1]
    assert result.adjustment_id == adjustment["id"] and (result.contract_id, result.contract_service_id) == (
        CONTRACT,
        SERVER_GB,
    )
    assert (adjustment["contractServiceID"], adjustment["unitChange"]) == (SERVER_GB, 612 - HELD)
    assert adjustment["effectiveDate"] == first_of(MONTH)
    assert at_sandbox.units_on(SERVER_GB, MONTH.start) == 612
    assert at_sandbox.units_on(SERVER_GB, MONTH.end) == 612
    assert at_sandbox.units_on(SERVER_GB, MONTH.start - timedelta(days=1)) == HELD  # the month before is untouched


def test_fewer_units_are_a_negative_change(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    assert sink.push(line("500")).wrote is True
    assert at_sandbox.adjustments[-1]["unitChange"] == 500 - HELD
    assert at_sandbox.units_on(SERVER_GB, MONTH.start) == 500


def test_a_changed_line_costs_a_read_the_adjustment_and_a_read(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    sink.snapshot([ContractRef.of_line(line())])
    before = len(at_sandbox.requests)
    sent = sink.client.requests
    sink.push(line("612"))
    pushed = requests(at_sandbox)[before:]
    assert pushed == ["POST /V1.0/ContractServiceUnits/query", ADJUST, "POST /V1.0/ContractServiceUnits/query"]
    assert sink.client.requests - sent == 3


def test_the_run_reads_each_list_once_and_the_threshold_first(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    refs = [ContractRef.of_line(line()), ContractRef.of_line(USERS_LINE)]
    found = sink.snapshot(refs)
    assert all(isinstance(held, HeldContract) for held in found.values())
    assert requests(at_sandbox) == [
        "GET /V1.0/ThresholdInformation",
        "POST /V1.0/Companies/query",
        "POST /V1.0/Services/query",
        "POST /V1.0/Contracts/query",
        "POST /V1.0/ContractServices/query",
        "POST /V1.0/ContractServiceUnits/query",
    ]
    count = len(at_sandbox.requests)
    sink.snapshot(refs)
    assert len(at_sandbox.requests) == count  # read once per run


def test_what_the_run_reads_is_the_month_s_units(sink: AutotaskSink) -> None:
    ref = ContractRef.of_line(line())
    held = sink.snapshot([ref])[ref]
    assert isinstance(held, HeldContract)
    assert (held.quantity, held.rate, held.flat_fee, held.active) == (Decimal(HELD), Decimal("0.12"), True, True)
    assert (held.rate_problem, held.created_by_connector, held.customer_matches) == (None, False, True)
    assert held.name == "Managed Backup / Server backup (per GB)" and held.customer == "Contoso Ltd"


def test_a_second_push_of_the_same_line_sends_nothing(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    sink.push(line("612"))
    count = len(at_sandbox.requests)
    again = sink.push(line("612"))
    assert (again.wrote, again.previous_quantity, again.adjustment_id) == (False, Decimal(612), 0)
    assert len(at_sandbox.requests) == count  # the run's listing holds what it wrote
    assert writes(at_sandbox) == [ADJUST]


def test_a_line_autotask_already_bills_sends_nothing(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    result = sink.push(line(str(HELD)))
    assert (result.wrote, result.previous_quantity) == (False, Decimal(HELD))
    assert writes(at_sandbox) == []


def test_the_adjustment_is_told_with_what_it_moved(sink: AutotaskSink) -> None:
    told: Told = []
    result = sink.push(line("612"), lambda event, details: told.append((event, dict(details))))
    assert told == [
        (
            "autotask.units_adjusted",
            {
                "adjustment_id": result.adjustment_id,
                "contract_id": CONTRACT,
                "contract_service_id": SERVER_GB,
                "period": MONTH.key,
                "effective": MONTH.start.isoformat(),
                "unit_change": 612 - HELD,
                "units_before": str(HELD),
                "units_after": "612",
                "psa_ref": f"contract {CONTRACT}, service {SERVER_GB}",
            },
        )
    ]


def test_a_new_run_with_another_quantity_adjusts_by_the_difference(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    make_sink().push(line("612"))
    result = make_sink().push(line("650"))
    assert (result.wrote, result.previous_quantity) == (True, Decimal(612))
    assert [a["unitChange"] for a in at_sandbox.adjustments[-2:]] == [612 - HELD, 650 - 612]
    assert at_sandbox.units_on(SERVER_GB, MONTH.start) == 650


# -- crashes: never twice, never past the target -------------------------------------------------------------------


def test_a_crash_after_the_adjustment_ends_with_nothing_sent_on_rerun(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    with pytest.raises(Crash):
        make_sink(crash=True).push(line("612"))
    rerun = make_sink().push(line("612"))
    assert (rerun.wrote, rerun.previous_quantity) == (False, Decimal(612))
    assert writes(at_sandbox) == [ADJUST]
    assert at_sandbox.units_on(SERVER_GB, MONTH.start) == 612


def test_an_adjustment_whose_answer_was_lost_is_not_sent_again(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    def lose_the_answer(request: SandboxRequest, response: SandboxResponse) -> None:
        # Autotask took the adjustment; what reached the connector was an error (a gateway's, a timeout's).
        lost = query.error(500, "the answer was lost on its way back")
        response.status, response.body, response.headers = lost.status, lost.body, lost.headers

    at_sandbox.after_write = lose_the_answer
    with pytest.raises(VendorError):
        make_sink().push(line("612"))
    at_sandbox.after_write = None
    assert at_sandbox.units_on(SERVER_GB, MONTH.start) == 612  # Autotask took it
    rerun = make_sink().push(line("612"))
    assert rerun.wrote is False
    assert len(at_sandbox.adjustments) == 5  # the demo's four, and this one


def test_a_stale_listing_of_units_already_set_sends_nothing(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    sink.snapshot([ContractRef.of_line(line())])
    at_sandbox.adjust(SERVER_GB, 612 - HELD, MONTH.start)  # the adjustment landed; the run's read predates it
    result = sink.push(line("612"))
    assert (result.wrote, result.previous_quantity) == (False, Decimal(612))
    assert writes(at_sandbox) == []


def test_units_never_overshoot_when_the_target_changes_after_a_crash(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    with pytest.raises(Crash):
        make_sink(crash=True).push(line("612"))
    make_sink().push(line("650"))  # the next run computed another figure
    assert [a["unitChange"] for a in at_sandbox.adjustments[-2:]] == [612 - HELD, 650 - 612]
    assert at_sandbox.units_on(SERVER_GB, MONTH.start) == 650


# -- edits in Autotask -----------------------------------------------------------------------------------------------


def test_an_adjustment_by_someone_since_the_run_read_is_refused_as_edited(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    sink.snapshot([ContractRef.of_line(line())])
    at_sandbox.adjust(SERVER_GB, 7, MONTH.start)  # a person, between the run's read and its push
    error = refused(sink, line("612"))
    assert error.outcome is Outcome.EDITED
    assert f"now bills {HELD + 7} units" in str(error) and f"not the {HELD} this run read" in str(error)
    assert "nothing was sent" in str(error)
    assert writes(at_sandbox) == []


def test_a_mid_period_adjustment_is_a_rate_problem_and_refused(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.adjust(SERVER_GB, 5, mid(MONTH))
    sink = make_sink()
    ref = ContractRef.of_line(line())
    held = sink.snapshot([ref])[ref]
    assert isinstance(held, HeldContract) and held.rate_problem is not None
    assert f"{HELD} from {MONTH.start}, {HELD + 5} from {mid(MONTH)}" in held.rate_problem
    error = refused(sink, line("612"))
    assert error.outcome is Outcome.RATE_DIFFERS and "undo the adjustment dated inside the period" in str(error)
    assert writes(at_sandbox) == []


def test_a_mid_period_adjustment_since_the_run_read_is_refused_before_any_write(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    sink.snapshot([ContractRef.of_line(line())])
    at_sandbox.adjust(SERVER_GB, 5, mid(MONTH))
    error = refused(sink, line("612"))
    assert error.outcome is Outcome.RATE_DIFFERS and "changed since this run read it" in str(error)
    assert writes(at_sandbox) == []


# -- refusals -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "outcome", "said"),
    [
        (lambda s: s.contracts[CONTRACT].update(status=0), Outcome.CONTRACT_INACTIVE, "is not active"),
        (
            lambda s: s.contracts[CONTRACT].update(endDate=f"{PREVIOUS.end.isoformat()}T00:00:00"),
            Outcome.CONTRACT_ENDED,
            f"ended {PREVIOUS.end}",
        ),
        (
            lambda s: s.contracts[CONTRACT].update(startDate=f"{(MONTH.end + timedelta(days=1)).isoformat()}T00:00:00"),
            Outcome.CONTRACT_ENDED,
            "starts",
        ),
        (lambda s: s.contracts[CONTRACT].update(contractType=4), Outcome.CONTRACT_MISSING, "Recurring Service"),
        (lambda s: s.contract_services[SERVER_GB].update(unitPrice=0.15), Outcome.RATE_DIFFERS, "bills 0.15 per unit"),
    ],
    ids=["inactive", "ended", "not started", "not recurring", "another price"],
)
def test_a_contract_that_would_bill_other_money_is_refused_and_nothing_sent(
    sink: AutotaskSink,
    at_sandbox: AutotaskSandbox,
    change: Callable[[AutotaskSandbox], None],
    outcome: Outcome,
    said: str,
) -> None:
    change(at_sandbox)
    error = refused(sink, line("612"))
    assert error.outcome is outcome and said in str(error)
    assert writes(at_sandbox) == []


def test_a_rate_other_than_the_contract_service_s_is_refused(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    error = refused(sink, line("612", rate="0.13"))
    assert error.outcome is Outcome.RATE_DIFFERS
    assert "bills 0.12 per unit, the mapping says 0.13" in str(error)
    assert writes(at_sandbox) == []


def test_a_non_recurring_contract_is_refused_as_missing(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    error = refused(sink, line("612", contract="Support Block Hours"))
    assert error.outcome is Outcome.CONTRACT_MISSING and "Recurring Service" in str(error)
    assert writes(at_sandbox) == []


def test_a_non_recurring_contract_never_gets_a_service_added(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    pushed = line("612", {"service": "BKP-SERVER-GB", "create_if_missing": True}, contract="Support Block Hours")
    error = refused(sink, pushed)
    assert error.outcome is Outcome.CONTRACT_MISSING and "Recurring Service" in str(error)
    assert writes(at_sandbox) == []


def test_a_missing_contract_says_the_nearest_name(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    error = refused(sink, line("612", contract="Managed Backups"))
    assert error.outcome is Outcome.CONTRACT_MISSING
    assert "did you mean 'Managed Backup' (id 501)?" in str(error)
    assert writes(at_sandbox) == []


def test_a_service_the_contract_lacks_is_missing_without_create_if_missing(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    error = refused(sink, line("612", {"service": "BKP-ONLINE-GB"}, rate="0.1"))
    assert error.outcome is Outcome.CONTRACT_MISSING
    assert "does not bill service 'Online backup (per GB)'" in str(error) and "create_if_missing" in str(error)
    assert writes(at_sandbox) == []


def test_a_fractional_quantity_is_a_data_error_before_anything_is_sent(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    with pytest.raises(DataError, match=r"612\.5 is not a whole number of units"):
        sink.push(line("612.5"))
    assert at_sandbox.requests == []


def test_a_whole_quantity_written_with_decimals_is_pushed(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    assert sink.push(line("612.00")).wrote is True
    assert at_sandbox.adjustments[-1]["unitChange"] == 612 - HELD


# -- create_if_missing ------------------------------------------------------------------------------------------------

FABRIKAM_ONLINE = line(
    "40",
    {"service": "BKP-ONLINE-GB", "create_if_missing": True},
    psa_customer="Fabrikam Inc",
    metric="axcient.total_gb",
    rate="0.10",
)


def test_create_if_missing_adds_the_service_marked_then_adjusts_its_units(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    told: Told = []
    sink = make_sink()
    ref = ContractRef.of_line(FABRIKAM_ONLINE)
    missing = sink.snapshot([ref])[ref]
    assert isinstance(missing, Missing) and missing.customer_found
    count = len(at_sandbox.requests)
    result = sink.push(FABRIKAM_ONLINE, lambda event, details: told.append((event, dict(details))))
    assert len(at_sandbox.requests) - count == ADD_COST + PUSH_COST  # what the threshold check counted on
    assert writes(at_sandbox) == ["POST /V1.0/Contracts/502/Services", "POST /V1.0/Contracts/502/ServiceAdjustments"]
    created = at_sandbox.contract_services[result.contract_service_id]
    assert (created["contractID"], created["serviceID"], created["unitPrice"]) == (502, 405, 0.1)
    assert created["internalDescription"].startswith(ADDED_MARK)
    assert at_sandbox.units_on(result.contract_service_id, MONTH.start) == 40
    assert at_sandbox.adjustments[-1]["effectiveDate"] == first_of(MONTH)
    assert [event for event, _ in told] == ["autotask.contract_service_created", "autotask.units_adjusted"]
    assert told[0][1]["psa_ref"] == result.psa_ref == f"contract 502, service {result.contract_service_id}"
    assert (result.wrote, result.previous_quantity) == (True, Decimal(0))
    # The next run finds it, marked as the connector's own, and sends nothing.
    again = make_sink()
    held = again.snapshot([ref])[ref]
    assert isinstance(held, HeldContract) and held.created_by_connector and held.quantity == 40
    assert again.push(FABRIKAM_ONLINE).wrote is False
    assert len(writes(at_sandbox)) == 2


def test_a_crash_after_the_service_was_added_never_adds_it_twice(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    def crash(event: str, details: dict[str, Any]) -> None:
        if event == "autotask.contract_service_created":
            raise Crash("killed after the contract service was added")

    with pytest.raises(Crash):
        make_sink().push(FABRIKAM_ONLINE, crash)
    result = make_sink().push(FABRIKAM_ONLINE)
    assert result.wrote is True
    assert writes(at_sandbox) == ["POST /V1.0/Contracts/502/Services", "POST /V1.0/Contracts/502/ServiceAdjustments"]


def test_a_service_added_by_someone_since_the_run_read_is_not_added_again(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    sink.snapshot([ContractRef.of_line(FABRIKAM_ONLINE)])
    added = at_sandbox.add_contract_service(502, 405, 0.1)  # a person added it meanwhile
    result = sink.push(FABRIKAM_ONLINE)
    assert result.contract_service_id == added["id"]
    assert writes(at_sandbox) == ["POST /V1.0/Contracts/502/ServiceAdjustments"]


def test_a_long_contract_name_keeps_the_mark_within_autotask_s_length(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.contracts[502]["contractName"] = "Managed Backup and Disaster Recovery for every site " * 3
    pushed = dataclasses.replace(FABRIKAM_ONLINE, contract=at_sandbox.contracts[502]["contractName"])
    result = sink.push(pushed)
    description = at_sandbox.contract_services[result.contract_service_id]["internalDescription"]
    assert description.startswith(ADDED_MARK) and len(description) <= 100


# -- the hourly request threshold -------------------------------------------------------------------------------------


def test_a_database_near_its_threshold_defers_the_push_before_any_write(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.requests_this_hour = 9_500
    with pytest.raises(PushDeferred, match=r"about 9,50\d requests this hour of its threshold of 10,000"):
        sink.push(line("612"))
    assert writes(at_sandbox) == []


def test_stop_pushes_at_is_the_share_of_the_threshold_a_run_may_use(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.requests_this_hour = 5_000
    with pytest.raises(PushDeferred, match=r"stop_pushes_at = 0.5 stops pushes at 5,000"):
        make_sink(stop_pushes_at=0.5).push(line("612"))
    assert writes(at_sandbox) == []
    assert make_sink(stop_pushes_at=0.9).push(line("612")).wrote is True


def test_a_line_autotask_already_bills_costs_nothing_even_past_the_threshold(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.requests_this_hour = 9_500
    assert sink.push(line(str(HELD))).wrote is False


def test_a_run_that_starts_under_the_limit_defers_the_pushes_that_would_pass_it(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    refs = [ContractRef.of_line(line()), ContractRef.of_line(USERS_LINE)]
    make_sink().snapshot(refs)
    snapshot_costs = len(at_sandbox.requests)
    # After the run's read, room for one changed line (3 requests) under 8,000, not two.
    at_sandbox.requests_this_hour = 8_000 - snapshot_costs - 4
    sink = make_sink()
    sink.snapshot(refs)
    assert sink.push(line("612")).wrote is True
    count = len(at_sandbox.requests)
    with pytest.raises(PushDeferred):
        sink.push(USERS_LINE)
    assert len(at_sandbox.requests) == count  # nothing sent for the deferred line
    assert at_sandbox.units_on(USERS, MONTH.start) == 10


# -- periods --------------------------------------------------------------------------------------------------------


def test_held_in_an_earlier_period_reads_its_units_on_demand(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    at_sandbox.adjust(SERVER_GB, 40, EARLIER.start)
    at_sandbox.adjust(SERVER_GB, -40, PREVIOUS.start)
    ref = ContractRef.of_line(line())
    now = sink.snapshot([ref])[ref]
    assert isinstance(now, HeldContract) and now.quantity == HELD
    count = len(at_sandbox.requests)
    then = sink.held_in(now, EARLIER.start, EARLIER.end)
    assert isinstance(then, HeldContract) and then.quantity == HELD + 40
    assert requests(at_sandbox)[count:] == ["POST /V1.0/ContractServiceUnits/query"]
    count = len(at_sandbox.requests)
    before = sink.held_in(now, PREVIOUS.start, PREVIOUS.end)  # in the run's read
    assert isinstance(before, HeldContract) and before.quantity == HELD
    assert len(at_sandbox.requests) == count


def test_a_line_of_an_earlier_period_adjusts_that_period_only(sink: AutotaskSink, at_sandbox: AutotaskSandbox) -> None:
    requests = len(at_sandbox.requests)
    result = sink.push(line("600", period=EARLIER))
    assert (result.wrote, result.previous_quantity) == (True, Decimal(HELD))
    # The change from the period's first day, and the opposite one from the day after it: the periods after it
    # bill what they billed.
    made, undone = at_sandbox.adjustments[-2:]
    assert (made["effectiveDate"], made["unitChange"]) == (first_of(EARLIER), 600 - int(HELD))
    assert (undone["effectiveDate"], undone["unitChange"]) == (first_of(PREVIOUS), int(HELD) - 600)
    assert at_sandbox.units_on(SERVER_GB, EARLIER.start) == 600
    assert at_sandbox.units_on(SERVER_GB, PREVIOUS.start) == int(HELD)
    assert sink.push(line("600", period=EARLIER)).wrote is False
    assert len(at_sandbox.writes()) == 2 and len(at_sandbox.requests) > requests


def test_a_missing_reference_is_held_as_missing(sink: AutotaskSink) -> None:
    ref = ContractRef.of_line(line(psa_customer="Contoso Limited"))
    found = sink.snapshot([ref])[ref]
    assert isinstance(found, Missing) and "did you mean 'Contoso Ltd'" in found.reason
    assert sink.held_in(found, EARLIER.start, EARLIER.end) is found


def test_the_invoicing_sink_pushes_as_the_sink_does(at_sandbox: AutotaskSandbox, at_contract: SwaggerContract) -> None:
    sink = InvoicingAutotaskSink(lambda: client(at_sandbox, at_contract), now=lambda: datetime.now(UTC))
    try:
        assert sink.push(line("612")).wrote is True
    finally:
        sink.close()
    assert writes(at_sandbox) == [ADJUST]


def test_a_contract_starting_inside_the_period_is_adjusted_from_its_first_day(
    sink: AutotaskSink, at_sandbox: AutotaskSandbox
) -> None:
    # Autotask refuses an adjustment dated before the contract starts.
    started = at_sandbox.add_contract(253, "Cloud Backup", start=mid(MONTH))
    service = at_sandbox.add_contract_service(started["id"], 405, 0.1)
    told: Told = []
    pushed = line("40", {"service": "BKP-ONLINE-GB"}, psa_customer="Northwind Traders", contract="Cloud Backup",
                  rate="0.1")  # fmt: skip
    result = sink.push(pushed, lambda event, details: told.append((event, dict(details))))
    assert (result.wrote, result.contract_service_id) == (True, service["id"])
    assert at_sandbox.adjustments[-1]["effectiveDate"] == f"{mid(MONTH).isoformat()}T00:00:00"
    assert at_sandbox.units_on(service["id"], MONTH.end) == 40
    assert told[0][1]["effective"] == mid(MONTH).isoformat()
    assert sink.push(pushed).wrote is False


def test_setting_an_earlier_period_leaves_a_later_one_as_pushed(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    make_sink().push(line("612"))
    make_sink().push(line("600", period=PREVIOUS))  # the month before, recomputed after this month was pushed
    assert at_sandbox.units_on(SERVER_GB, PREVIOUS.start) == 600
    assert at_sandbox.units_on(SERVER_GB, MONTH.start) == 612


def test_a_push_that_adds_a_service_is_deferred_whole_when_the_run_cannot_afford_it(
    make_sink: Callable[..., AutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    # Adding costs the services read again, the creation, the services read after it and the new service's units
    # read, then the push's three: all of it is afforded before the creation, so no service is left added unset.
    refs = [ContractRef.of_line(FABRIKAM_ONLINE)]
    make_sink().snapshot(refs)
    snapshot_costs = len(at_sandbox.requests)
    at_sandbox.requests_this_hour = 8_000 - snapshot_costs - 6  # room for six requests after the run's read
    sink = make_sink()
    sink.snapshot(refs)
    with pytest.raises(PushDeferred):
        sink.push(FABRIKAM_ONLINE)
    assert writes(at_sandbox) == []


# -- opening ---------------------------------------------------------------------------------------------------------


def test_an_unreachable_autotask_fails_the_run_s_read_not_the_sink_s_making() -> None:
    def unreachable() -> AutotaskClient:
        raise VendorError("autotask", "ZoneInformation: connection refused")

    sink = AutotaskSink(unreachable)
    with pytest.raises(VendorError, match="connection refused"):
        sink.snapshot([ContractRef.of_line(line())])
    sink.close()


def test_refused_keys_stop_the_run_s_read_and_nothing_is_written(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract
) -> None:
    # The zone is asked without the keys checked (as Autotask's ZoneInformation is): the first read refuses them.
    wrong = SecretRef(value=SecretStr("Not-The-Secret-42"))
    sink = AutotaskSink(lambda: built_client(at_sandbox, at_contract, secret=wrong))
    try:
        with pytest.raises(VendorAuthError) as refused:
            sink.push(line("612"))
    finally:
        sink.close()
    assert "Not-The-Secret-42" not in str(refused.value)
    assert writes(at_sandbox) == []


def test_a_sink_built_as_the_connector_builds_it_logs_no_key(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    told: Told = []
    sink = AutotaskSink(lambda: built_client(at_sandbox, at_contract), now=lambda: datetime.now(UTC))
    try:
        assert sink.push(line("612"), lambda event, details: told.append((event, details))).wrote is True
    finally:
        sink.close()
    assert "autotask.units_adjusted" in caplog.text
    for key in (at_sandbox.secret, at_sandbox.integration_code):
        assert key not in caplog.text and key not in repr(told)
