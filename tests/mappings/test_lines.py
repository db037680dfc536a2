"""The line type's record: what the outbox keeps survives a round trip, and older outboxes still read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mappings.lines import Line


def line(**psa: object) -> Line:
    return Line(
        psa_customer="Contoso Ltd",
        contract="M365",
        period_key="2026-11",
        metric="altaro.billed_users",
        quantity=Decimal("12"),
        unit="user",
        rate=Decimal("3.50"),
        amount=Decimal("42.00"),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        psa=dict(psa),
    )


def test_a_line_survives_its_record() -> None:
    original = line(rate_sku="M365-USER", create_if_missing=True)
    again = Line.from_record(original.to_record(), {"why": 1})
    assert again == original and again.psa == original.psa and again.inputs == {"why": 1}


def test_an_older_record_keeps_its_psa_options_on_the_line() -> None:
    record = line().to_record()
    del record["psa"]
    record.update(rate_sku="M365-USER", create_if_missing=True)  # how outboxes before the registry kept them
    assert Line.from_record(record, {}).psa == {"rate_sku": "M365-USER", "create_if_missing": True}
