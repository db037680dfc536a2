"""Which periods Autotask has invoiced, and `connector reconcile` against its invoices: an invoice's billing items name
the contract service and the first day of the units they bill, so a period is invoiced once the sandbox's invoicing
run billed the line's contract service in it (voided invoices and other contracts' items count for nothing); the
pushed lines are then matched, found different, not invoiced yet, or invoiced at another rate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from mappings.lines import Line, LineStatus, StoredLine
from mappings.truth import ContractRef
from providers.autotask.invoicing import InvoicingAutotaskSink
from providers.autotask.sandbox import AutotaskSandbox
from providers.spec import DIFFERS, MATCHED, NOT_INVOICED, RATE_DIFFERS

from .support import CONTRACT, HELD, MONTH, PREVIOUS, SERVER_GB, USERS, line, mid, requests, sink
from .swagger_check import SwaggerContract

# Invoices go out after the period: `connector reconcile` asks for the period's days and 45 more.
FIRST, LAST = MONTH.start, MONTH.end + timedelta(days=45)
# The day the invoicing run is dated: the first of the next month.
INVOICED_ON = MONTH.end + timedelta(days=1)
SERVER = ContractRef.of_line(line())
USERS_LINE = line("10", {"service": "BKP-M365-USER"}, metric="altaro.billed_users", unit="user", rate="3.5")
FABRIKAM_USERS = line("8", {"service": "BKP-M365-USER"}, psa_customer="Fabrikam Inc", metric="altaro.billed_users",
                      unit="user", rate="3.5")  # fmt: skip


def stored(pushed: Line, psa_ref: str | None = None, ident: int = 1, quantity: Decimal | None = None) -> StoredLine:
    return StoredLine(
        ident, pushed, LineStatus.PUSHED, psa_ref, 1, pushed_quantity=pushed.quantity if quantity is None else quantity
    )


@pytest.fixture
def make_sink(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract
) -> Iterator[Callable[..., InvoicingAutotaskSink]]:
    made: list[InvoicingAutotaskSink] = []

    def make(**options: Any) -> InvoicingAutotaskSink:
        made.append(sink(at_sandbox, at_contract, **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


def push(make_sink: Callable[..., InvoicingAutotaskSink], *lines: Line) -> list[StoredLine]:
    """The lines pushed through one run's sink, as the outbox keeps them."""
    run = make_sink()
    return [stored(each, run.push(each).psa_ref, n) for n, each in enumerate(lines, 1)]


def invoiced(make_sink: Callable[..., InvoicingAutotaskSink], *refs: ContractRef) -> dict[ContractRef, set[Any]]:
    wanted = {ref: {MONTH.start} for ref in refs or (SERVER,)}
    return make_sink().invoiced_periods(wanted, FIRST, LAST)


def reconcile(make_sink: Callable[..., InvoicingAutotaskSink], lines: list[StoredLine]) -> list[Any]:
    return list(make_sink().reconcile(lines, FIRST, LAST))


# -- invoiced periods -------------------------------------------------------------------------------------------------


def test_a_period_is_invoiced_once_the_invoicing_run_billed_its_contract_service(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    push(make_sink, line("612"))
    assert invoiced(make_sink) == {SERVER: set()}
    at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    assert invoiced(make_sink) == {SERVER: {MONTH.start}}


def test_the_read_is_the_invoices_of_the_companies_then_their_billing_items(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    sink = make_sink()
    sink.listing.read([SERVER])
    count = len(at_sandbox.requests)
    sink.invoiced_periods({SERVER: {MONTH.start}}, FIRST, LAST)
    assert requests(at_sandbox)[count:] == ["POST /V1.0/Invoices/query", "POST /V1.0/BillingItems/query"]


def test_nothing_waiting_reads_nothing(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    assert make_sink().invoiced_periods({SERVER: set()}, FIRST, LAST) == {SERVER: set()}
    assert at_sandbox.requests == []


def test_a_voided_invoice_bills_nothing(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    made = at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    for invoice in made:
        at_sandbox.invoices[invoice["id"]]["isVoided"] = True
    assert invoiced(make_sink) == {SERVER: set()}


def test_an_invoice_dated_outside_the_days_asked_for_bills_nothing(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.invoice(MONTH.start, on=LAST + timedelta(days=1))
    assert invoiced(make_sink) == {SERVER: set()}


def test_another_contract_s_items_count_for_nothing(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.contracts[CONTRACT]["status"] = 0  # Contoso's contract sits out the invoicing run
    at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    assert any(item["contractID"] == 502 for item in at_sandbox.billing_items.values())
    at_sandbox.contracts[CONTRACT]["status"] = 1
    fabrikam = ContractRef.of_line(FABRIKAM_USERS)
    assert invoiced(make_sink, SERVER, fabrikam) == {SERVER: set(), fabrikam: {MONTH.start}}


def test_another_service_of_the_same_contract_counts_for_nothing(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    # The server GB at 0 units bills no item; the users on the same contract do.
    at_sandbox.adjust(SERVER_GB, -HELD, MONTH.start)
    at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    users = ContractRef.of_line(USERS_LINE)
    assert invoiced(make_sink, SERVER, users) == {SERVER: set(), users: {MONTH.start}}


def test_only_the_period_invoiced_is(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.invoice(PREVIOUS.start, on=PREVIOUS.end + timedelta(days=1))
    found = make_sink().invoiced_periods({SERVER: {PREVIOUS.start, MONTH.start}}, PREVIOUS.start, LAST)
    assert found == {SERVER: {PREVIOUS.start}}


def test_a_contract_autotask_lacks_is_invoiced_for_nothing(make_sink: Callable[..., InvoicingAutotaskSink]) -> None:
    lost = ContractRef.of_line(line(psa_customer="Contoso Limited"))
    assert invoiced(make_sink, lost) == {lost: set()}


# -- reconcile --------------------------------------------------------------------------------------------------------


def test_a_line_invoiced_as_pushed_is_matched_with_its_invoice(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    lines = push(make_sink, line("612"))
    (contoso, *_) = at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    [found] = reconcile(make_sink, lines)
    assert (found.status, found.invoiced_quantity, found.invoiced_amount, found.invoice_numbers) == (
        MATCHED,
        Decimal(612),
        Decimal("73.44"),
        (contoso["id"],),
    )
    assert found.reason == "" and not found.mismatch
    assert str(found.invoiced_quantity) == "612"  # whole units, as pushed (not Autotask's JSON 612.0)


def test_units_adjusted_by_someone_before_the_invoicing_run_differ(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    lines = push(make_sink, line("612"))
    at_sandbox.adjust(SERVER_GB, 8, MONTH.start)
    at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    [found] = reconcile(make_sink, lines)
    assert (found.status, found.invoiced_quantity, found.invoiced_amount) == (DIFFERS, Decimal(620), Decimal("74.40"))
    assert "invoiced 620 units (74.40) in 1 billing item(s), the connector pushed 612 (73.44)" in found.reason
    assert found.mismatch


def test_a_line_not_invoiced_yet_says_what_autotask_bills_now(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    lines = push(make_sink, line("612"))
    [found] = reconcile(make_sink, lines)
    assert (found.status, found.invoiced_quantity, found.reason) == (NOT_INVOICED, Decimal(612), "")
    assert not found.mismatch
    at_sandbox.adjust(SERVER_GB, 8, MONTH.start)
    [edited] = reconcile(make_sink, lines)
    assert (edited.status, edited.invoiced_quantity) == (NOT_INVOICED, Decimal(620))
    assert "bills 620 units for the period now, not the 612 pushed" in edited.reason and edited.mismatch


def test_a_price_changed_before_the_invoicing_run_is_another_rate(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    lines = push(make_sink, line("612"))
    at_sandbox.contract_services[SERVER_GB]["unitPrice"] = 0.15
    at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    [found] = reconcile(make_sink, lines)
    assert (found.status, found.invoiced_quantity, found.invoiced_amount) == (
        RATE_DIFFERS,
        Decimal(612),
        Decimal("91.80"),
    )
    assert "invoiced 612 units at 0.15 per unit, the line's rate is 0.12" in found.reason


def test_a_line_whose_period_is_not_invoiced_is_not_matched_by_another_period_s_item(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.invoice(PREVIOUS.start, on=PREVIOUS.end + timedelta(days=1))
    lines = push(make_sink, line("612"))
    found = list(make_sink().reconcile(lines, PREVIOUS.start, LAST))
    assert [f.status for f in found] == [NOT_INVOICED]


def test_a_contract_changed_since_the_push_says_why_it_is_not_invoiced(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    lines = push(make_sink, line("612"))
    at_sandbox.adjust(SERVER_GB, 5, mid(MONTH))
    [found] = reconcile(make_sink, lines)
    assert found.status == NOT_INVOICED and "bills units that change inside" in found.reason


def test_a_line_whose_contract_is_gone_is_not_invoiced_and_says_why(
    make_sink: Callable[..., InvoicingAutotaskSink],
) -> None:
    lost = line("612", psa_customer="Contoso Limited")
    [found] = reconcile(make_sink, [stored(lost)])
    assert found.status == NOT_INVOICED and "has no company named 'Contoso Limited'" in found.reason


def test_several_lines_are_reconciled_in_one_read(
    make_sink: Callable[..., InvoicingAutotaskSink], at_sandbox: AutotaskSandbox
) -> None:
    lines = push(make_sink, line("612"), USERS_LINE, FABRIKAM_USERS)
    at_sandbox.invoice(MONTH.start, on=INVOICED_ON)
    count = len(at_sandbox.requests)
    found = reconcile(make_sink, lines)
    assert [f.status for f in found] == [MATCHED, MATCHED, MATCHED]
    assert [f.invoiced_quantity for f in found] == [Decimal(612), Decimal(10), Decimal(8)]
    assert at_sandbox.units_on(USERS, MONTH.start) == 10
    read = requests(at_sandbox)[count:]
    assert read.count("POST /V1.0/Invoices/query") == 1 and read.count("POST /V1.0/BillingItems/query") == 1
