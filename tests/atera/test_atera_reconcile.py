"""Reconciliation of pushed lines against Atera invoices, case by case."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from mappings.lines import Line, LineStatus, StoredLine
from mappings.truth import Held, HeldContract, Missing
from providers.atera.models import InvoiceDto
from providers.atera.reconcile import reconcile, ref_of
from providers.spec import DIFFERS, MATCHED, NOT_INVOICED, RATE_DIFFERS


def line(quantity: str = "8", rate: str = "3.50", customer: str = "Contoso Ltd") -> StoredLine:
    q, r = D(quantity), D(rate)
    pushed = Line(
        psa_customer=customer,
        contract="Microsoft 365 backup (per user)",
        period_key="2026-11",
        metric="altaro.billed_users",
        quantity=q,
        unit="user",
        rate=r,
        amount=(q * r).quantize(D("0.01")),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
    )
    return StoredLine(
        id=1, line=pushed, status=LineStatus.PUSHED, psa_ref="contract/1002", attempts=1, pushed_quantity=q
    )


def invoice(number: int = 5001, quantity: str = "8", rate: str = "3.5", **header: Any) -> InvoiceDto:
    data: dict[str, Any] = {
        "InvoiceNumber": number,
        "InvoiceDate": "2026-12-01T00:00:00",
        "ContractName": "Microsoft 365 backup (per user)",
        "PeriodStartDate": "2026-11-01T00:00:00",
        "PeriodEndDate": "2026-11-30T00:00:00",
        "To": {"CompanyName": "Contoso Ltd"},
        "LineItems": [
            {"Product": "M365-BACKUP-USER", "Quantity": quantity, "Rate": rate, "Subtotal": str(D(quantity) * D(rate))}
        ],
    }
    data.update(header)
    return InvoiceDto.model_validate(data)


@pytest.mark.parametrize(
    ("invoices", "status", "quantity"),
    [
        ([invoice()], MATCHED, D(8)),
        ([invoice(quantity="10")], DIFFERS, D(10)),
        ([], NOT_INVOICED, None),
        # Not this line's invoice: another period, another customer, another contract, an ad-hoc invoice.
        ([invoice(PeriodStartDate="2026-10-01T00:00:00")], NOT_INVOICED, None),
        ([invoice(To={"CompanyName": "Fabrikam Inc"})], NOT_INVOICED, None),
        # An invoice that names no customer is nobody's: never every customer's of that contract name.
        ([invoice(To=None)], NOT_INVOICED, None),
        ([invoice(To={"CompanyName": ""})], NOT_INVOICED, None),
        ([invoice(ContractName="Server backup (per GB)")], NOT_INVOICED, None),
        ([invoice(IsAdhoc=True)], NOT_INVOICED, None),
        # Names match ignoring case and spaces, as Atera's UI lets them drift.
        ([invoice(ContractName=" microsoft 365 BACKUP (per user) ")], MATCHED, D(8)),
        # Only the items at the line's rate count.
        ([invoice(quantity="8"), invoice(5002, quantity="1", rate="25")], MATCHED, D(8)),
        # Invoiced twice for one period: both count, so a double invoice shows as a difference.
        ([invoice(), invoice(5002)], DIFFERS, D(16)),
    ],
)
def test_reconcile(invoices: list[InvoiceDto], status: str, quantity: D | None) -> None:
    (found,) = reconcile([line()], invoices)
    assert found.status == status
    assert found.invoiced_quantity == quantity
    assert found.mismatch is (status == DIFFERS)


def test_invoice_numbers_and_amounts_are_kept() -> None:
    (found,) = reconcile([line()], [invoice(5003), invoice(5001, quantity="0", rate="3.5")])
    assert found.invoice_numbers == (5001, 5003)
    assert found.invoiced_amount == D("28.00")


def test_a_line_staged_without_its_period_matches_the_contract_s_invoice_of_any_period() -> None:
    stored = line()
    undated = dataclasses.replace(stored, line=dataclasses.replace(stored.line, period_start=None, period_end=None))
    (found,) = reconcile([undated], [invoice(PeriodStartDate="2026-10-01T00:00:00")])
    assert found.status == MATCHED and found.line is undated.line


def held(**terms: Any) -> HeldContract:
    base: dict[str, Any] = {
        "ref": "contract/1002",
        "name": "Microsoft 365 backup (per user)",
        "customer": "Contoso Ltd",
        "customer_matches": True,
        "flat_fee": True,
        "kind": "RetainerFlatFee",
        "active": True,
        "start_date": None,
        "end_date": None,
        "rate": D("3.5"),
        "quantity": D(8),
    }
    return HeldContract(**{**base, **terms})


def test_an_invoice_at_another_rate_is_named_and_a_mismatch() -> None:
    (found,) = reconcile([line()], [invoice(rate="3.75")])
    assert found.status == RATE_DIFFERS and found.mismatch
    assert "invoiced at 3.75, pushed at 3.50" in found.reason


@pytest.mark.parametrize(
    ("contract", "says"),
    [
        (held(active=False), "contract inactive"),
        (held(end_date=date(2026, 10, 31)), "contract ended"),
        (held(quantity=D(3)), "edited in PSA"),
        (Missing("Atera has no contract named 'x'", customer_found=True), "contract missing"),
    ],
)
def test_a_line_not_invoiced_says_what_its_contract_holds_now(contract: Held, says: str) -> None:
    stored = line()
    (found,) = reconcile([stored], [], {ref_of(stored.line): contract})
    assert found.status == NOT_INVOICED and found.mismatch and found.reason.startswith(says)


def test_a_line_not_invoiced_yet_whose_contract_agrees_is_no_mismatch() -> None:
    stored = line()
    (found,) = reconcile([stored], [], {ref_of(stored.line): held()})
    assert found.status == NOT_INVOICED and not found.mismatch and found.reason == ""


@pytest.mark.parametrize(
    ("start", "zone", "status"),
    [
        # Midnight of 1 November in Berlin, as Atera writes it in UTC: November's invoice in the MSP's zone.
        ("2026-10-31T23:00:00Z", "Europe/Berlin", MATCHED),
        ("2026-10-31T23:00:00Z", "UTC", NOT_INVOICED),
        ("2026-11-01T00:00:00", "Europe/Berlin", MATCHED),
    ],
)
def test_an_invoice_s_period_is_read_with_its_offset_in_the_msp_zone(start: str, zone: str, status: str) -> None:
    (found,) = reconcile([line()], [invoice(PeriodStartDate=start)], zone=zone)
    assert found.status == status
