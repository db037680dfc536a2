"""Which periods ConnectWise has invoiced per mapped contract: an agreement invoice counts only for its agreement and
company, bills the period its date and the billing mode say (in the agreement's billing cycle), its date read with
its offset in the MSP's zone, and the read asks only for the waiting contracts' agreements and stops once they have
their answer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, cast

import pytest

from connector.core.http import HttpSettings
from connector.interfaces.ledger import FetchLedger
from connector.interfaces.psa import InvoicingSink
from mappings.calendar import Mode
from mappings.enums import BillingPeriod
from mappings.truth import ContractRef
from providers.connectwise.factories import build_sink
from providers.connectwise.invoicing import InvoicingConnectWiseSink, invoiced_starts
from providers.connectwise.models import Addition, Agreement, Company, Invoice
from providers.connectwise.reconcile import billed_period, cycle_kind
from providers.connectwise.sandbox import ConnectWiseSandbox
from providers.connectwise.verify import Located, Target
from providers.spec import BuildContext

from .openapi_check import OpenApiContract
from .support import FIELD, addition, agreement, company, line, sandbox_client, sandbox_settings

OCTOBER, NOVEMBER, DECEMBER = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
# Contoso's server backup on agreement 501 (company 251), Fabrikam's on agreement 502 (company 252).
CONTOSO = ContractRef.of_line(line())
FABRIKAM = ContractRef("Fabrikam Inc", None, "Managed Backup", None, (("product", "BKP-SERVER-GB"),))


def invoice(number: int = 7001, **fields: Any) -> Invoice:
    """An agreement invoice as ConnectWise answers it: Contoso's agreement 501, dated 1 December."""
    data: dict[str, Any] = {
        "id": number,
        "invoiceNumber": str(number),
        "type": "Agreement",
        "company": {"id": 251, "identifier": "ContosoLtd", "name": "Contoso Ltd"},
        "applyToType": "Agreement",
        "applyToId": 501,
        "agreement": {"id": 501, "name": "Managed Backup", "type": "Managed Services"},
        "date": "2026-12-01T00:00:00Z",
        "agreementAmount": 161.0,
    }
    return Invoice.model_validate({**data, **fields})


def located(ref: ContractRef = CONTOSO, agreement_id: int = 501, company_id: int = 251, **terms: Any) -> Located:
    """Where a contract is in ConnectWise, as the run's listing finds it."""
    name = "Contoso Ltd" if company_id == 251 else "Fabrikam Inc"
    target = Target.of(ref)
    assert isinstance(target, Target)
    return Located(
        Company.model_validate(company(company_id, name)),
        Agreement.model_validate(agreement(agreement_id, company_id, name, **terms)),
        Addition.model_validate(addition(agreementId=agreement_id)),
        target,
    )


WHERE = {CONTOSO: located(), FABRIKAM: located(FABRIKAM, 502, 252)}
BOTH = {CONTOSO: frozenset({NOVEMBER}), FABRIKAM: frozenset({NOVEMBER})}


# -- which period an agreement invoice bills ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "kind", "mode", "start"),
    [
        # In arrears: the last period that ended before the invoice's date.
        (DECEMBER, BillingPeriod.MONTHLY, Mode.ARREARS, NOVEMBER),
        (date(2026, 12, 5), BillingPeriod.MONTHLY, Mode.ARREARS, NOVEMBER),
        (date(2026, 11, 30), BillingPeriod.MONTHLY, Mode.ARREARS, OCTOBER),  # generated before November ended
        (date(2027, 1, 1), BillingPeriod.MONTHLY, Mode.ARREARS, DECEMBER),
        (date(2027, 1, 1), BillingPeriod.QUARTERLY, Mode.ARREARS, OCTOBER),
        (date(2027, 1, 4), BillingPeriod.YEARLY, Mode.ARREARS, date(2026, 1, 1)),
        # In advance: the period containing it.
        (DECEMBER, BillingPeriod.MONTHLY, Mode.ADVANCE, DECEMBER),
        (date(2026, 11, 30), BillingPeriod.MONTHLY, Mode.ADVANCE, NOVEMBER),
        (date(2026, 11, 17), BillingPeriod.QUARTERLY, Mode.ADVANCE, OCTOBER),
    ],
)
def test_the_period_an_invoice_bills_follows_its_date_the_mode_and_the_cycle(
    day: date, kind: BillingPeriod, mode: Mode, start: date
) -> None:
    assert billed_period(day, kind, mode).start == start


@pytest.mark.parametrize(
    ("cycle", "kind"),
    [
        ({"id": 1, "name": "Monthly"}, BillingPeriod.MONTHLY),
        (None, BillingPeriod.MONTHLY),  # none named: ConnectWise's usual default
        ({"id": 2, "name": "QUARTERLY "}, BillingPeriod.QUARTERLY),
        ({"id": 3, "name": "Semi-Annual"}, BillingPeriod.TWICE_A_YEAR),
        ({"id": 4, "name": "Annual"}, BillingPeriod.YEARLY),
        # Every two weeks or two months: no calendar period is either.
        ({"id": 5, "name": "Bi-Weekly"}, None),
        ({"id": 6, "name": "Bi-Monthly"}, None),
    ],
)
def test_an_agreement_s_billing_cycle_is_one_of_the_connector_s_periods_or_none(
    cycle: dict[str, Any] | None, kind: BillingPeriod | None
) -> None:
    assert cycle_kind(Agreement.model_validate(agreement(billingCycle=cycle))) is kind


# -- what counts for a contract -------------------------------------------------------------------------------------


def test_an_invoice_counts_for_the_contracts_on_its_agreement_of_its_company() -> None:
    invoices = [
        invoice(7001),
        invoice(7002, date="2026-11-01T00:00:00Z"),  # October's, in arrears
        invoice(7003, agreement={"id": 502}, applyToId=502, company={"id": 252}),
        invoice(7004, agreement={"id": 999}, applyToId=999),  # an agreement no mapping names
    ]
    found = invoiced_starts(invoices, BOTH, WHERE)
    assert found == {CONTOSO: {NOVEMBER, OCTOBER}, FABRIKAM: {NOVEMBER}}


def test_an_agreement_named_only_by_apply_to_counts() -> None:
    found = invoiced_starts([invoice(7001, agreement=None)], BOTH, WHERE)
    assert found == {CONTOSO: {NOVEMBER}, FABRIKAM: set()}


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"agreement": None, "applyToType": "All", "applyToId": None}, "name no agreement"),
        ({"agreement": None, "applyToType": None, "applyToId": None}, "name no agreement"),
        ({"company": None}, "name no company"),
        ({"company": {"name": "Contoso Ltd"}}, "name no company"),  # a name is not an id
        ({"applyToId": 502}, "name two agreements"),
        # Agreement 501 is Contoso's: an invoice of it for Fabrikam is nobody's, never Contoso's.
        ({"company": {"id": 252, "name": "Fabrikam Inc"}}, "name company 252, not the mapped company 251"),
    ],
)
def test_an_invoice_not_tied_to_an_agreement_and_its_company_counts_for_none_and_is_logged(
    fields: dict[str, Any], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        found = invoiced_starts([invoice(7006, **fields)], BOTH, WHERE)
    assert found == {CONTOSO: set(), FABRIKAM: set()}
    assert "7006" in caplog.text and why in caplog.text


def test_invoices_of_other_types_count_for_none() -> None:
    invoices = [invoice(7001, type="Standard"), invoice(7002, type="CreditMemo"), invoice(7003, date=None)]
    assert invoiced_starts(invoices, BOTH, WHERE) == {CONTOSO: set(), FABRIKAM: set()}


def test_advance_mode_takes_the_period_containing_the_date() -> None:
    found = invoiced_starts([invoice(7001, date="2026-11-01T00:00:00Z")], BOTH, WHERE, mode=Mode.ADVANCE)
    assert found[CONTOSO] == {NOVEMBER}
    assert invoiced_starts([invoice(7001, date="2026-11-01T00:00:00Z")], BOTH, WHERE)[CONTOSO] == {OCTOBER}


@pytest.mark.parametrize(
    ("dated", "zone", "billed"),
    [
        # An instant is a day of the MSP's zone: 23:30 in New York on 30 November is still 30 November there.
        ("2026-11-30T23:30:00-05:00", "America/New_York", OCTOBER),
        ("2026-12-01T04:30:00Z", "America/New_York", OCTOBER),
        ("2026-12-01T00:30:00-05:00", "America/New_York", NOVEMBER),
        # 23:30 UTC on 30 November is 1 December in Berlin, not in UTC.
        ("2026-11-30T23:30:00Z", "Europe/Berlin", NOVEMBER),
        ("2026-11-30T23:30:00Z", "UTC", OCTOBER),
        ("2026-12-01T00:30:00+01:00", "Europe/Berlin", NOVEMBER),
        ("2026-12-01T00:30:00+01:00", "UTC", OCTOBER),
        # Midnight UTC is how ConnectWise writes a date: that date in any zone.
        ("2026-12-01T00:00:00Z", "America/Los_Angeles", NOVEMBER),
        ("2026-12-01T00:00:00Z", "Pacific/Kiritimati", NOVEMBER),
    ],
)
def test_an_invoice_s_date_is_read_with_its_offset_as_a_day_of_the_msp_zone(
    dated: str, zone: str, billed: date
) -> None:
    wanted = {CONTOSO: frozenset({billed})}
    assert invoiced_starts([invoice(7001, date=dated)], wanted, WHERE, zone=zone) == {CONTOSO: {billed}}


def test_a_line_billed_monthly_on_a_quarterly_agreement_is_moved_on_by_no_invoice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quarterly = {CONTOSO: located(billingCycle={"id": 2, "name": "Quarterly"})}
    with caplog.at_level(logging.WARNING):
        found = invoiced_starts([invoice(7001)], {CONTOSO: frozenset({NOVEMBER})}, quarterly)
    assert found == {CONTOSO: {date(2026, 7, 1)}}  # Q3, which no monthly line waits on
    assert "bills Quarterly periods" in caplog.text and "2026-11-01" in caplog.text


def test_an_agreement_on_a_cycle_that_is_no_period_moves_nothing_on(caplog: pytest.LogCaptureFixture) -> None:
    other = {CONTOSO: located(billingCycle={"id": 6, "name": "Bi-Monthly"})}
    with caplog.at_level(logging.WARNING):
        assert invoiced_starts([invoice(7001)], {CONTOSO: frozenset({NOVEMBER})}, other) == {CONTOSO: set()}
    assert "'Bi-Monthly'" in caplog.text and "invoice_day" in caplog.text


def test_the_read_stops_once_every_waiting_contract_has_its_invoice() -> None:
    taken: list[int] = []

    def listing() -> Iterator[Invoice]:
        for number in range(7001, 7011):
            taken.append(number)
            mine = {7002: (501, 251), 7004: (502, 252)}.get(number, (503, 253))
            yield invoice(number, agreement={"id": mine[0]}, applyToId=mine[0], company={"id": mine[1]})

    assert invoiced_starts(listing(), BOTH, WHERE) == {CONTOSO: {NOVEMBER}, FABRIKAM: {NOVEMBER}}
    assert taken == [7001, 7002, 7003, 7004]  # nothing after the last answer is read


def test_a_contract_not_found_in_connectwise_gets_nothing() -> None:
    assert invoiced_starts([invoice(7001)], BOTH, {}) == {CONTOSO: set(), FABRIKAM: set()}


# -- the sink against the sandbox -----------------------------------------------------------------------------------


@pytest.fixture
def make_sink(cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract) -> Callable[..., InvoicingConnectWiseSink]:
    def make(mode: Mode = Mode.ARREARS, timezone: str = "UTC", **overrides: Any) -> InvoicingConnectWiseSink:
        return InvoicingConnectWiseSink(
            lambda: sandbox_client(cw_sandbox, cw_contract, **overrides),
            custom_field=FIELD,
            timezone=timezone,
            mode=mode,
        )

    return make


def invoice_reads(sandbox: ConnectWiseSandbox) -> list[str | None]:
    """The `conditions` of every invoice list read, in order."""
    return [r.param("conditions") for r in sandbox.requests if r.path.endswith("/finance/invoices")]


def test_the_sink_reads_the_waiting_agreements_invoices_once(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    sink = make_sink()
    assert isinstance(sink, InvoicingSink)
    assert sink.invoiced_periods(BOTH, NOVEMBER, date(2026, 12, 3)) == {CONTOSO: set(), FABRIKAM: set()}
    cw_sandbox.invoice_agreements(DECEMBER)  # all three agreements, Northwind's too
    assert sink.invoiced_periods(BOTH, NOVEMBER, date(2026, 12, 3)) == {CONTOSO: {NOVEMBER}, FABRIKAM: {NOVEMBER}}
    reads = invoice_reads(cw_sandbox)
    assert len(reads) == 2  # one read each time, whatever the number of contracts
    assert reads[-1] == (
        "(date >= [2026-10-31T00:00:00Z]) and (date < [2026-12-05T00:00:00Z]) and "
        '(type = "Agreement") and (agreement/id in (501,502))'
    )
    # Dated outside the days asked for: not seen, though the instants asked for are a day wider.
    assert sink.invoiced_periods(BOTH, NOVEMBER, date(2026, 11, 30)) == {CONTOSO: set(), FABRIKAM: set()}
    sink.close()
    assert cw_sandbox.unpinned == []


def test_the_sink_in_advance_takes_the_invoice_of_the_period_s_first_day(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    cw_sandbox.invoice_agreements(NOVEMBER)
    advance, arrears = make_sink(Mode.ADVANCE), make_sink()
    assert advance.invoiced_periods(BOTH, NOVEMBER, NOVEMBER) == {CONTOSO: {NOVEMBER}, FABRIKAM: {NOVEMBER}}
    assert arrears.invoiced_periods(BOTH, OCTOBER, NOVEMBER) == {CONTOSO: {OCTOBER}, FABRIKAM: {OCTOBER}}
    advance.close()
    arrears.close()


def test_the_sink_reads_an_instant_near_midnight_as_a_day_of_the_msp_zone(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    (added, *_) = cw_sandbox.invoice_agreements(DECEMBER)
    added["date"] = "2026-11-30T23:30:00Z"  # 00:30 on 1 December in Berlin
    berlin, utc = make_sink(timezone="Europe/Berlin"), make_sink()
    wanted = {CONTOSO: frozenset({NOVEMBER})}
    assert berlin.invoiced_periods(wanted, NOVEMBER, date(2026, 12, 2)) == {CONTOSO: {NOVEMBER}}
    assert utc.invoiced_periods(wanted, NOVEMBER, date(2026, 12, 2)) == {CONTOSO: {OCTOBER}}
    berlin.close()
    utc.close()


def test_the_sink_stops_reading_pages_once_the_waiting_contracts_have_their_invoices(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    for day in range(1, 4):  # earlier invoices of both agreements: pages to read past
        cw_sandbox.invoice_agreements(date(2026, 11, day))
    cw_sandbox.invoice_agreements(DECEMBER)
    for day in range(2, 6):  # more after the answer: pages never read
        cw_sandbox.invoice_agreements(date(2026, 12, day))
    sink = make_sink(page_size=2)
    assert sink.invoiced_periods(BOTH, NOVEMBER, date(2026, 12, 6)) == {
        CONTOSO: {OCTOBER, NOVEMBER},
        FABRIKAM: {OCTOBER, NOVEMBER},
    }
    # 3 x 2 invoices of 501 and 502 in November, then December's two: page 4 holds the last answer.
    assert [r.param("page") for r in cw_sandbox.requests if r.path.endswith("/finance/invoices")] == [
        "1",
        "2",
        "3",
        "4",
    ]
    sink.close()


def test_no_waiting_period_reads_nothing(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    sink = make_sink()
    assert sink.invoiced_periods({CONTOSO: frozenset()}, NOVEMBER, DECEMBER) == {CONTOSO: set()}
    assert cw_sandbox.requests == []
    sink.close()


def test_a_contract_connectwise_does_not_have_asks_for_no_invoice(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    cw_sandbox.invoice_agreements(DECEMBER)
    nobody = ContractRef("Nobody Ltd", None, "Managed Backup", None, (("product", "BKP-SERVER-GB"),))
    sink = make_sink()
    assert sink.invoiced_periods({nobody: frozenset({NOVEMBER})}, NOVEMBER, DECEMBER) == {nobody: set()}
    assert invoice_reads(cw_sandbox) == []
    sink.close()


def test_build_sink_returns_the_invoicing_sink_in_the_context_s_zone_and_billing_mode(
    cw_sandbox: ConnectWiseSandbox,
) -> None:
    http = HttpSettings(max_attempts=1, timeout_seconds=5)
    for context, mode in (
        (BuildContext(http, cast(FetchLedger, None), timezone="Europe/Berlin"), Mode.ARREARS),  # the default
        (
            BuildContext(http, cast(FetchLedger, None), timezone="Europe/Berlin", billing_mode=Mode.ADVANCE),
            Mode.ADVANCE,
        ),
    ):
        sink = build_sink(sandbox_settings(cw_sandbox), context)
        assert isinstance(sink, InvoicingConnectWiseSink) and isinstance(sink, InvoicingSink)
        assert (sink.timezone, sink.mode) == ("Europe/Berlin", mode)
        sink.close()
