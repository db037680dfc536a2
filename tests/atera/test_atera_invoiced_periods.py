"""Which periods Atera has invoiced per mapped contract: an invoice counts only for the customer and contract it
names, its dates read in the MSP's zone, and the read stops once the waiting contracts have their answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from connector.interfaces.deferral import InvoicesCutShort
from connector.interfaces.psa import InvoicingSink
from mappings.truth import ContractRef
from providers.atera.client import AteraClient
from providers.atera.invoicing import InvoicingAteraSink
from providers.atera.reconcile import invoiced_starts
from providers.atera.sandbox import AteraSandbox

from .test_atera_reconcile import invoice

NOVEMBER, OCTOBER = date(2026, 11, 1), date(2026, 10, 1)
M365 = ContractRef("Contoso Ltd", None, "Microsoft 365 backup (per user)", None)
OTHER = ContractRef("Fabrikam Inc", None, "Microsoft 365 backup (per user)", None)
# What each contract waits on: its November invoice.
BOTH = {M365: frozenset({NOVEMBER}), OTHER: frozenset({NOVEMBER})}


def test_an_invoice_is_the_contracts_when_it_names_the_contract_and_customer_ignoring_case() -> None:
    invoices = [
        invoice(5001),
        invoice(5002, PeriodStartDate="2026-10-01T00:00:00", ContractName="MICROSOFT 365 BACKUP (per user) "),
        invoice(5003, PeriodStartDate="2026-09-01T00:00:00", IsAdhoc=True),  # ad hoc: bills no period
        invoice(5004, PeriodStartDate="2026-08-01T00:00:00", ContractName="Server backup"),
        invoice(5005, PeriodStartDate="2026-07-01T00:00:00", To={"CompanyName": "Someone Else"}),
        invoice(5007, PeriodStartDate="2026-05-01T00:00:00", To={"CompanyName": " fabrikam INC"}),
    ]
    found = invoiced_starts(invoices, BOTH)
    assert found[M365] == {NOVEMBER, OCTOBER}
    assert found[OTHER] == {date(2026, 5, 1)}


@pytest.mark.parametrize("to", [None, {"CompanyName": None}, {"CompanyName": "  "}, {"Email": "ap@contoso.example"}])
def test_an_invoice_that_names_no_customer_counts_for_none_and_is_logged(
    to: dict[str, Any] | None, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 20, row 4: taken as every customer's invoice of that contract, it moved Fabrikam's contract on, and
    # Fabrikam's rise became "bill by hand" instead of a push.
    with caplog.at_level(logging.WARNING):
        found = invoiced_starts([invoice(5006, To=to)], BOTH)
    assert found == {M365: set(), OTHER: set()}
    assert "5006" in caplog.text and "name no customer" in caplog.text


def test_an_invoice_that_names_no_contract_counts_for_none_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        found = invoiced_starts([invoice(5008, ContractName=None)], BOTH)
    assert found == {M365: set(), OTHER: set()}
    assert "5008" in caplog.text and "name no contract" in caplog.text


def test_a_customer_and_contract_mapped_by_id_go_by_the_names_atera_holds() -> None:
    by_id = ContractRef("Contoso", 1, "M365", 1002)
    invoices = [
        invoice(5001, To={"CompanyName": "Contoso Ltd"}),  # Atera's names for customer 1 and contract 1002
        invoice(5002, PeriodStartDate="2026-10-01T00:00:00", To={"CompanyName": "Contoso"}, ContractName="M365"),
    ]
    names = {by_id: ("Contoso Ltd", "Microsoft 365 backup (per user)")}
    assert invoiced_starts(invoices, {by_id: frozenset({NOVEMBER})}, names=names) == {by_id: {NOVEMBER}}


@pytest.mark.parametrize(
    ("start", "zone", "day"),
    [
        # Issue 20, row 5: midnight of 1 November in Berlin, as Atera writes it in UTC.
        ("2026-10-31T23:00:00Z", "Europe/Berlin", NOVEMBER),
        ("2026-11-01T00:00:00+01:00", "Europe/Berlin", NOVEMBER),
        ("2026-10-31T23:00:00Z", "UTC", date(2026, 10, 31)),
        ("2026-11-01T05:00:00Z", "America/New_York", NOVEMBER),
        # Without an offset: a wall-clock time in the Atera account's zone, the MSP's own.
        ("2026-11-01T00:00:00", "Europe/Berlin", NOVEMBER),
        ("2026-11-01T00:00:00", "Pacific/Kiritimati", NOVEMBER),
    ],
)
def test_an_invoice_s_period_is_read_with_its_offset_in_the_msp_zone(start: str, zone: str, day: date) -> None:
    found = invoiced_starts([invoice(5001, PeriodStartDate=start)], {M365: frozenset({day})}, zone=zone)
    assert found == {M365: {day}}


def test_the_read_stops_once_every_waiting_contract_has_its_invoice() -> None:
    taken: list[int] = []

    def listing() -> Any:
        for number in range(5001, 5011):
            taken.append(number)
            customer = "Contoso Ltd" if number == 5002 else "Fabrikam Inc" if number == 5004 else "Northwind"
            yield invoice(number, To={"CompanyName": customer})

    assert invoiced_starts(listing(), BOTH) == {M365: {NOVEMBER}, OTHER: {NOVEMBER}}
    assert taken == [5001, 5002, 5003, 5004]  # nothing after the last answer is read


def test_the_sink_reads_the_invoices_once_for_every_contract(
    sandbox: AteraSandbox, make_client: Callable[..., AteraClient]
) -> None:
    sink = InvoicingAteraSink(make_client, custom_field="Connector line")
    assert isinstance(sink, InvoicingSink)
    contracts = list(sink.client.contracts())
    refs = [ContractRef(c.CustomerName or "", c.CustomerID, c.ContractName or "", c.ContractID) for c in contracts]
    wanted = {ref: frozenset({NOVEMBER}) for ref in refs}
    assert sink.invoiced_periods(wanted, date(2026, 11, 1), date(2026, 12, 3)) == {ref: set() for ref in refs}
    sandbox.invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 3))
    before = sink.client.requests
    found = sink.invoiced_periods(wanted, date(2026, 11, 1), date(2026, 12, 3))
    assert sink.client.requests == before + 1  # one read (a page of up to 50 invoices), whatever the contracts
    retainers = {c.ContractName for c in contracts if c.ContractType == "RetainerFlatFee" and c.Active}
    assert retainers and {ref.contract for ref, days in found.items() if days == {NOVEMBER}} == retainers
    # Dated outside the range asked for: not seen.
    assert sink.invoiced_periods(wanted, date(2026, 11, 1), date(2026, 12, 2)) == {ref: set() for ref in refs}
    sink.close()


def test_the_sink_reads_atera_s_utc_dates_in_the_msp_zone(
    sandbox: AteraSandbox, make_client: Callable[..., AteraClient]
) -> None:
    sink = InvoicingAteraSink(make_client, custom_field="Connector line", timezone="Europe/Berlin")
    sandbox.account.timezone = "Europe/Berlin"
    (added, *_) = sandbox.invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1), utc=True)
    assert added["PeriodStartDate"] == "2026-10-31T23:00:00Z" and added["InvoiceDate"] == "2026-11-30T23:00:00Z"
    ref = ContractRef("Contoso Ltd", None, added["ContractName"], None)
    assert sink.invoiced_periods({ref: frozenset({NOVEMBER})}, date(2026, 12, 1), date(2026, 12, 1)) == {
        ref: {NOVEMBER}
    }
    sink.close()


def other_invoices(sandbox: AteraSandbox, count: int, *, first: int = 7001) -> None:
    """`count` invoices of customers no mapping names, dated 1 December: a busy account's listing."""
    for number in range(first, first + count):
        data = invoice(number, To={"CompanyName": f"Customer {number}"}, ContractName="Managed services")
        sandbox.invoices.append(data.model_dump(mode="json"))


def waiting_invoice(sandbox: AteraSandbox, number: int, customer: str) -> None:
    sandbox.invoices.append(invoice(number, To={"CompanyName": customer}).model_dump(mode="json"))


def test_the_sink_stops_reading_once_the_waiting_contracts_have_their_invoices(
    sandbox: AteraSandbox, make_client: Callable[..., AteraClient]
) -> None:
    waiting_invoice(sandbox, 5001, "Contoso Ltd")
    waiting_invoice(sandbox, 5002, "Fabrikam Inc")
    other_invoices(sandbox, 250)  # five more pages of 50, none of them needed
    sink = InvoicingAteraSink(make_client, custom_field="Connector line")
    assert sink.invoiced_periods(BOTH, NOVEMBER, date(2026, 12, 3)) == {M365: {NOVEMBER}, OTHER: {NOVEMBER}}
    assert sink.client.requests == 1
    sink.close()


def test_the_invoice_read_leaves_half_the_run_s_request_budget_to_the_pushes(
    sandbox: AteraSandbox, make_client: Callable[..., AteraClient]
) -> None:
    # Issue 20, row 6: a listing longer than the budget spent it all, and every push was deferred, cycle after cycle.
    other_invoices(sandbox, 60)
    waiting_invoice(sandbox, 5001, "Contoso Ltd")  # on page 2
    other_invoices(sandbox, 240, first=8001)  # pages 2 to 7
    waiting_invoice(sandbox, 5002, "Fabrikam Inc")  # on page 7: beyond what the read may spend
    sink = InvoicingAteraSink(make_client, custom_field="Connector line")
    sink.client.request_budget = 10
    sink.client.requests = 2  # the run's listing of customers and contracts
    with pytest.raises(InvoicesCutShort) as cut:
        sink.invoiced_periods(BOTH, NOVEMBER, date(2026, 12, 3))
    assert sink.client.requests == 2 + 4  # half of the 8 left
    assert cut.value.found == {M365: {NOVEMBER}, OTHER: set()}  # what was read still counts
    assert "requests_per_run" in str(cut.value) and "4 request" in str(cut.value)
    assert not sink.client.budget_spent  # the pushes have the other half
    sink.close()


def test_without_a_request_budget_the_invoice_read_goes_to_the_end(
    sandbox: AteraSandbox, make_client: Callable[..., AteraClient]
) -> None:
    other_invoices(sandbox, 300)
    waiting_invoice(sandbox, 5002, "Fabrikam Inc")
    sink = InvoicingAteraSink(make_client, custom_field="Connector line")
    sink.client.request_budget = None
    assert sink.invoiced_periods(BOTH, NOVEMBER, date(2026, 12, 3)) == {M365: set(), OTHER: {NOVEMBER}}
    assert sink.client.requests == 7
    sink.close()
