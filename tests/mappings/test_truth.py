"""The comparison every run makes between what the PSA holds and what the connector pushed and computes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from mappings.lines import Outcome
from mappings.truth import Finding, HeldContract, Missing, compare

AGREES = HeldContract(
    ref="contract/7",
    name="Server backup",
    customer="Contoso Ltd",
    customer_matches=True,
    flat_fee=True,
    kind="RetainerFlatFee",
    active=True,
    start_date=date(2026, 1, 1),
    end_date=None,
    rate=D("0.12"),
    quantity=D(600),
)


def check(held: HeldContract | Missing, **given: object) -> Finding | None:
    options: dict[str, object] = {"rate": D("0.12"), "pushed": D(600), **given}
    return compare(
        held,
        psa="Atera",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("held", "given", "outcome", "says"),
    [
        (AGREES, {}, None, ""),
        (AGREES, {"rate": None}, None, ""),  # no rate in the mapping: the contract's is the price
        (AGREES, {"pushed": None}, None, ""),  # nothing pushed yet: nothing to have been edited
        (replace(AGREES, quantity=D("600.0")), {}, None, ""),
        (AGREES, {"rate": D("0.13")}, Outcome.RATE_DIFFERS, "set the mapping's rate back to 0.12"),
        (replace(AGREES, rate=None), {"rate": None}, Outcome.RATE_DIFFERS, "no rate"),
        (replace(AGREES, active=False), {}, Outcome.CONTRACT_INACTIVE, "activate it in Atera"),
        (replace(AGREES, end_date=date(2026, 10, 31)), {}, Outcome.CONTRACT_ENDED, "ended 2026-10-31"),
        (replace(AGREES, start_date=date(2026, 12, 1)), {}, Outcome.CONTRACT_ENDED, "starts 2026-12-01"),
        (replace(AGREES, end_date=date(2026, 11, 1)), {}, None, ""),  # ends within the period: still invoiced
        (replace(AGREES, customer_matches=False), {}, Outcome.CONTRACT_MISSING, "belongs to 'Contoso Ltd'"),
        (replace(AGREES, flat_fee=False, kind="Hourly"), {}, Outcome.CONTRACT_MISSING, "Hourly contract"),
        (Missing("no such contract", customer_found=True), {}, Outcome.CONTRACT_MISSING, "no such contract"),
        (Missing("no such contract", customer_found=True), {"may_create": True}, None, ""),
        (Missing("no such customer", customer_found=False), {"may_create": True}, Outcome.CONTRACT_MISSING, ""),
        (replace(AGREES, quantity=D(1)), {}, Outcome.EDITED, "Approve to push the connector's figure again"),
        # A push interrupted after its write: the PSA holds the staged figure, which is ours, not an edit.
        (replace(AGREES, quantity=D(650)), {"staged": D(650)}, None, ""),
        # An inactive contract is named before its rate: activating it is the first thing to fix.
        (replace(AGREES, active=False), {"rate": D(1)}, Outcome.CONTRACT_INACTIVE, ""),
    ],
)
def test_compare(held: HeldContract | Missing, given: dict[str, object], outcome: Outcome | None, says: str) -> None:
    finding = check(held, **given)
    if outcome is None:
        assert finding is None
    else:
        assert finding is not None and finding.outcome is outcome and says in finding.reason
