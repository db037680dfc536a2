"""Reconciliation of pushed lines against ConnectWise's agreement invoices: ConnectWise invoices an agreement, not
its additions, so each line is checked through its agreement's `agreementAmount` (the pushed amounts, the agreement's
own `billAmount` and its other additions as ConnectWise holds them); a line not invoiced says why by the comparison
every sync makes. Against the sandbox, with respx where a shape is easier."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any, cast

import pytest
import respx

from connector.cli import main
from connector.core.http import HttpSettings
from connector.interfaces.ledger import FetchLedger
from connector.operations.run import sync_once
from connector.wiring import load_settings
from mappings.calendar import Mode
from mappings.lines import Line, LineStatus, StoredLine
from providers.axcient.sandbox import AxcientSandbox
from providers.connectwise import factories
from providers.connectwise.client import build_connectwise_client
from providers.connectwise.invoicing import InvoicingConnectWiseSink
from providers.connectwise.models import Invoice
from providers.connectwise.reconcile import number
from providers.connectwise.sandbox import ConnectWiseSandbox
from providers.record import parse_record
from providers.spec import DIFFERS, MATCHED, NOT_INVOICED, BuildContext, Factories

from .openapi_check import OpenApiContract
from .support import BASE, FIELD, HTTP, addition, agreement, company, line, sandbox_client, sandbox_settings, settings

# Invoices go out after the period: `connector reconcile` asks for the period's days and 45 more.
FIRST, LAST = date(2026, 11, 1), date(2027, 1, 14)
DECEMBER = date(2026, 12, 1)
# Contoso's users on addition 601 of agreement 501 (10 x 3.50 in the sandbox), beside the server GB on 602.
USERS = line("10", {"product": "BKP-M365-USER"}, metric="altaro.billed_users", unit="user", rate=D("3.50"))


def stored(pushed: Line, psa_ref: str | None = None, ident: int = 1) -> StoredLine:
    return StoredLine(ident, pushed, LineStatus.PUSHED, psa_ref, 1, pushed_quantity=pushed.quantity)


@pytest.fixture
def make_sink(cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract) -> Callable[..., InvoicingConnectWiseSink]:
    def make(mode: Mode = Mode.ARREARS) -> InvoicingConnectWiseSink:
        return InvoicingConnectWiseSink(lambda: sandbox_client(cw_sandbox, cw_contract), custom_field=FIELD, mode=mode)

    return make


def push(make_sink: Callable[..., InvoicingConnectWiseSink], *lines: Line) -> list[StoredLine]:
    """The lines pushed through the sink, as the outbox keeps them."""
    sink = make_sink()
    pushed = [stored(each, sink.push(each).psa_ref, n) for n, each in enumerate(lines, 1)]
    sink.close()
    return pushed


def check(make_sink: Callable[..., InvoicingConnectWiseSink], lines: list[StoredLine], **options: Any) -> list[Any]:
    """`connector reconcile` of the lines, by a sink of its own (what ConnectWise holds now)."""
    sink = make_sink(**options)
    try:
        return list(sink.reconcile(lines, FIRST, LAST))
    finally:
        sink.close()


def test_a_line_invoiced_as_pushed_names_its_invoice(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    lines = push(make_sink, line())
    (invoiced, *_) = cw_sandbox.invoice_agreements(DECEMBER)
    # 612.5 GB x 0.12 pushed, and addition 601 (10 users x 3.50), which no line carries.
    assert invoiced["agreementAmount"] == 108.5
    (found,) = check(make_sink, lines)
    assert (found.status, found.mismatch, found.reason) == (MATCHED, False, "")
    assert found.invoice_numbers == (int(invoiced["invoiceNumber"]),)
    assert (found.invoiced_quantity, found.invoiced_amount) == (D("612.5"), D("73.50"))


def test_an_addition_edited_after_the_push_is_invoiced_differently_naming_both_figures(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    lines = push(make_sink, line(), USERS)
    cw_sandbox.additions[501][602]["quantity"] = 700  # someone in ConnectWise, before the invoicing run
    cw_sandbox.invoice_agreements(DECEMBER)
    server, users = check(make_sink, lines)
    assert server.status == users.status == DIFFERS and server.mismatch and users.mismatch
    # 700 x 0.12 + 10 x 3.50 invoiced; 612.5 x 0.12 + 10 x 3.50 pushed.
    for found in (server, users):
        assert "came to 119.0, expected 108.50" in found.reason
        assert "the 2 line(s) pushed for it 108.50" in found.reason
    assert server.reason.startswith("edited in PSA: ") and "holds 700" in server.reason
    assert (server.invoiced_quantity, server.invoiced_amount) == (D(700), D("84.00"))  # what it holds now
    assert (users.invoiced_quantity, users.reason.startswith("ConnectWise invoices the agreement")) == (D(10), True)


def test_an_edit_after_the_invoicing_run_is_not_a_difference_of_that_invoice(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    lines = push(make_sink, line())
    cw_sandbox.invoice_agreements(DECEMBER)
    cw_sandbox.additions[501][602]["quantity"] = 700
    (found,) = check(make_sink, lines)
    assert found.status == MATCHED


def test_a_line_not_invoiced_whose_addition_agrees_is_no_mismatch(
    make_sink: Callable[..., InvoicingConnectWiseSink],
) -> None:
    (found,) = check(make_sink, push(make_sink, line()))
    assert (found.status, found.mismatch, found.reason, found.invoice_numbers) == (NOT_INVOICED, False, "", ())


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda s: s.additions[501][602].update(quantity=700), "edited in PSA: "),
        (lambda s: s.agreements[501].update(cancelledFlag=True), "contract inactive: "),
        (lambda s: s.additions[501][602].update(billCustomer="DoNotBill"), "contract inactive: "),
        (lambda s: s.additions[501][602].update(unitPrice=0.15), "rate differs: "),
        (lambda s: s.additions[501].pop(602), "contract missing: "),
    ],
)
def test_a_line_not_invoiced_says_what_its_addition_holds_now(
    cw_sandbox: ConnectWiseSandbox,
    make_sink: Callable[..., InvoicingConnectWiseSink],
    change: Callable[[ConnectWiseSandbox], Any],
    says: str,
) -> None:
    lines = push(make_sink, line())
    change(cw_sandbox)
    (found,) = check(make_sink, lines)
    assert found.status == NOT_INVOICED and found.mismatch and found.reason.startswith(says)


def test_invoices_of_another_company_another_agreement_or_another_period_are_not_the_line_s(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    lines = push(make_sink, line())
    (contoso, fabrikam, _) = cw_sandbox.invoice_agreements(DECEMBER)
    contoso["company"] = dict(fabrikam["company"])  # agreement 501 invoiced to Fabrikam: nobody's
    cw_sandbox.invoice_agreements(date(2026, 11, 2))  # October's, in arrears
    (found,) = check(make_sink, lines)
    assert found.status == NOT_INVOICED and found.invoice_numbers == ()


def test_an_agreement_invoiced_twice_for_a_period_differs(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    lines = push(make_sink, line())
    first = cw_sandbox.invoice_agreements(DECEMBER)[0]["id"]
    second = cw_sandbox.invoice_agreements(date(2026, 12, 3))[0]["id"]
    (found,) = check(make_sink, lines)
    assert found.status == DIFFERS and found.invoice_numbers == (first, second)
    assert "came to 217.0, expected 108.50" in found.reason


def test_in_advance_the_invoice_dated_in_the_period_bills_it(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    lines = push(make_sink, line())
    cw_sandbox.invoice_agreements(date(2026, 11, 1))
    (advance,) = check(make_sink, lines, mode=Mode.ADVANCE)
    (arrears,) = check(make_sink, lines)
    assert (advance.status, arrears.status) == (MATCHED, NOT_INVOICED)


def test_a_monthly_line_on_a_quarterly_agreement_is_flagged(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    lines = push(make_sink, line())
    cw_sandbox.agreements[501]["billingCycle"] = {"id": 2, "name": "Quarterly"}
    cw_sandbox.invoice_agreements(DECEMBER)
    (found,) = check(make_sink, lines)
    assert found.status == NOT_INVOICED and found.mismatch
    assert "bills Quarterly (billing cycle 'Quarterly'), the line Monthly" in found.reason


def test_a_line_of_a_company_connectwise_does_not_have_is_not_invoiced_with_why(
    make_sink: Callable[..., InvoicingConnectWiseSink],
) -> None:
    (found,) = check(make_sink, [stored(line(psa_customer="Nobody Ltd"))])
    assert found.status == NOT_INVOICED and found.reason.startswith("contract missing: ")


def test_a_line_staged_without_its_period_matches_the_agreement_s_invoice_of_any_period(
    cw_sandbox: ConnectWiseSandbox, make_sink: Callable[..., InvoicingConnectWiseSink]
) -> None:
    (pushed,) = push(make_sink, line())
    undated = dataclasses.replace(pushed, line=dataclasses.replace(pushed.line, period_start=None, period_end=None))
    cw_sandbox.invoice_agreements(date(2026, 11, 5))
    (found,) = check(make_sink, [undated])
    assert found.status == MATCHED


# -- shapes easier with respx: the agreement's own amount, invoice numbers ------------------------------------------


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


def serve(router: respx.MockRouter, invoices: list[dict[str, Any]], **terms: Any) -> None:
    """Contoso's agreement 501 holding only addition 602 at 612.5 GB, and these invoices."""
    router.get("/company/companies").respond(200, json=[company()])
    router.get("/finance/agreements").respond(200, json=[agreement(**terms)])
    router.get("/finance/agreements/501/additions").respond(200, json=[addition(quantity=612.5)])
    router.get("/finance/invoices").respond(200, json=invoices)


def cw_invoice(amount: float, number: str = "7001", **fields: Any) -> dict[str, Any]:
    return {
        "id": 9001,
        "invoiceNumber": number,
        "type": "Agreement",
        "company": {"id": 251, "name": "Contoso Ltd"},
        "agreement": {"id": 501, "name": "Managed Backup"},
        "applyToType": "Agreement",
        "applyToId": 501,
        "date": "2026-12-01T00:00:00Z",
        "agreementAmount": amount,
        **fields,
    }


def mocked(lines: list[StoredLine]) -> list[Any]:
    sink = InvoicingConnectWiseSink(
        lambda: build_connectwise_client(settings(), HTTP, sleep=lambda _: None), custom_field=FIELD
    )
    try:
        return list(sink.reconcile(lines, FIRST, LAST))
    finally:
        sink.close()


def test_the_agreement_s_own_amount_is_part_of_what_its_invoice_should_come_to(router: respx.MockRouter) -> None:
    pushed = stored(line(), "agreement 501, addition 602")
    serve(router, [cw_invoice(123.5)], billAmount=50)
    (found,) = mocked([pushed])
    assert found.status == MATCHED  # 50.00 + 612.5 x 0.12
    serve(router, [cw_invoice(73.5)], billAmount=50)
    (found,) = mocked([pushed])
    assert found.status == DIFFERS
    assert "came to 73.5, expected 123.50" in found.reason
    assert "the agreement's own amount (billAmount) 50" in found.reason
    conditions = router.calls.last.request.url.params["conditions"]
    assert '(type = "Agreement") and (agreement/id in (501))' in conditions


def test_an_invoice_without_an_agreement_amount_differs(router: respx.MockRouter) -> None:
    serve(router, [cw_invoice(0, agreementAmount=None)])
    (found,) = mocked([stored(line(), "agreement 501, addition 602")])
    assert found.status == DIFFERS and "carries no agreementAmount" in found.reason


def test_an_invoice_number_with_a_prefix_is_shown_by_its_id() -> None:
    assert number(Invoice.model_validate(cw_invoice(1, "INV-7001"))) == 9001
    assert number(Invoice.model_validate(cw_invoice(1, " 7001 "))) == 7001


def test_the_reconcile_factory_reads_connectwise_once_and_closes(cw_sandbox: ConnectWiseSandbox) -> None:
    built = Factories.of(factories)
    assert built.reconcile is factories.reconcile and built.build_sink is factories.build_sink
    context = BuildContext(HttpSettings(max_attempts=1, timeout_seconds=5), cast(FetchLedger, None))
    sink = factories.build_sink(sandbox_settings(cw_sandbox), context)
    assert isinstance(sink, InvoicingConnectWiseSink)
    pushed = stored(line(), sink.push(line()).psa_ref)
    sink.close()
    cw_sandbox.invoice_agreements(DECEMBER)
    (found,) = factories.reconcile(sandbox_settings(cw_sandbox), context, [pushed], FIRST, LAST)
    assert found.status == MATCHED and not found.mismatch


# -- end to end: `connector sync`, ConnectWise's invoicing run, then `connector reconcile --period` -------------------


@pytest.fixture
def config(two_lines_config: Path) -> Path:
    """The configuration `test_connectwise_sync` pushes (see conftest)."""
    return two_lines_config


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    """The CLI in-process, as `connector` runs it: exit code and stdout (parsed when it is JSON)."""
    code = main(list(args))
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith(("[", "{")) else out


def synced(capsys: pytest.CaptureFixture[str], config: Path) -> str:
    """`connector sync`, which pushes both lines; the period they are for (the frozen clock's month)."""
    code, report = cli(capsys, "sync", "--config", str(config), "--format", "json")
    assert code == 0, report
    assert [each["outcome"] for each in report["lines"]] == ["pushed", "pushed"]
    (period,) = {each["period_key"] for each in report["lines"]}
    return str(period)


def invoicing_day(period: str) -> date:
    """The day after the month `period` ends: its invoice, in arrears."""
    year, month = map(int, period.split("-"))
    return date(year + month // 12, month % 12 + 1, 1)


def reconciled(capsys: pytest.CaptureFixture[str], config: Path, period: str) -> tuple[int, dict[str, Any]]:
    code, rows = cli(capsys, "reconcile", "--period", period, "--config", str(config), "--format", "json")
    assert isinstance(rows, list), rows
    return code, {row["psa_customer"]: row for row in rows}


def test_reconcile_from_the_cli_reads_each_line_invoiced_as_pushed(
    capsys: pytest.CaptureFixture[str], config: Path, portal_and_psa: tuple[AxcientSandbox, ConnectWiseSandbox]
) -> None:
    _, psa = portal_and_psa
    period = synced(capsys, config)
    code, rows = reconciled(capsys, config, period)
    assert code == 0 and {row["status"] for row in rows.values()} == {NOT_INVOICED}
    invoices = {i["company"]["name"]: int(i["invoiceNumber"]) for i in psa.invoice_agreements(invoicing_day(period))}
    code, rows = reconciled(capsys, config, period)
    assert code == 0
    for customer in ("Contoso Ltd", "Fabrikam Inc"):
        assert rows[customer]["status"] == MATCHED and rows[customer]["why"] == ""
        assert rows[customer]["invoices"] == [invoices[customer]]
        assert rows[customer]["invoiced_quantity"] == rows[customer]["pushed_quantity"]
    code, table = cli(capsys, "reconcile", "--period", period, "--config", str(config))
    assert code == 0 and f"against ConnectWise invoices dated {period}-01" in table and MATCHED in table
    assert psa.unpinned == []


def test_reconcile_from_the_cli_names_an_addition_edited_before_the_invoicing_run(
    capsys: pytest.CaptureFixture[str], config: Path, portal_and_psa: tuple[AxcientSandbox, ConnectWiseSandbox]
) -> None:
    _, psa = portal_and_psa
    period = synced(capsys, config)
    pushed = D(str(psa.additions[501][602]["quantity"]))
    psa.additions[501][602]["quantity"] = float(pushed + 100)
    psa.invoice_agreements(invoicing_day(period))
    code, rows = reconciled(capsys, config, period)
    assert code == 3  # a difference
    contoso = rows["Contoso Ltd"]
    assert contoso["status"] == DIFFERS and D(str(contoso["invoiced_quantity"])) == pushed + 100
    expected = (pushed * D("0.12")).quantize(D("0.01")) + D("35.00")  # and addition 601: 10 users x 3.50
    assert f"expected {expected}" in contoso["why"] and "edited in PSA" in contoso["why"]
    assert rows["Fabrikam Inc"]["status"] == MATCHED  # another agreement


def test_over_a_month_end_the_agreement_invoice_moves_each_contract_on(
    config: Path, portal_and_psa: tuple[AxcientSandbox, ConnectWiseSandbox]
) -> None:
    _, psa = portal_and_psa
    config.write_text(config.read_text() + '\n[billing]\nmode = "arrears"\ninvoice_day = 5\n')

    def run_at(when: datetime) -> set[tuple[str, str]]:
        report = sync_once(load_settings(config), now=lambda: when)
        return {(each.identity.period_key, str(each.outcome)) for each in report.lines}

    # A first install on 30 November bills November; seen that one day, November is held as partial once it has
    # ended, and waits on its invoice all the same.
    assert run_at(datetime(2026, 11, 30, 12, tzinfo=UTC)) == {("2026-11", "pushed")}
    assert run_at(datetime(2026, 12, 1, 12, tzinfo=UTC)) == {("2026-11", "held")}  # not invoiced: November stays
    psa.invoice_agreements(DECEMBER)
    before = len(psa.requests)
    # ConnectWise shows November's agreement invoices: each contract carries December (November's held figure is
    # now a correction, to bill by hand).
    assert ("2026-12", "pushed") in run_at(datetime(2026, 12, 2, 12, tzinfo=UTC))
    recorded = parse_record(psa.custom_value(602))
    assert recorded is not None and recorded[0].period_key == "2026-12"
    reads = [r.param("conditions") for r in psa.requests[before:] if r.path.endswith("/finance/invoices")]
    assert reads == [
        '(date >= [2026-10-31T00:00:00Z]) and (date < [2026-12-05T00:00:00Z]) and (type = "Agreement") and '
        "(agreement/id in (501,502))"
    ]
