"""The billing rule: a mapped line's measured usage becomes a priced line; every amount shown, pushed or reconciled.

Vendor usage reaches the PSA's invoice as the Quantity of a Retainer/flat-fee contract, which invoices Quantity x
Rate each billing period; the amount is rounded to cents once, on the line total.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mappings.customer import CustomerMapping, LineMapping
from mappings.lines import Line
from mappings.measure import RULES, Measured
from mappings.money import exact_product, round_money
from mappings.periods import Period


def price(quantity: Decimal, rate: Decimal) -> Decimal:
    """What a Retainer/flat-fee contract invoices for one period: Quantity x Rate, rounded once on the line total.

    A quantity or rate that is not finite is refused with a ValueError, whichever kind of NaN it is: a signalling
    NaN would otherwise raise decimal's own InvalidOperation from inside the multiplication.
    """
    for name, value in (("quantity", quantity), ("rate", rate)):
        if not value.is_finite():
            raise ValueError(f"{name} {value} cannot be priced: it is not a finite number")
    return round_money(exact_product(quantity, rate))


def bill_line(
    customer: CustomerMapping,
    mapping: LineMapping,
    period: Period,
    measured: Measured,
    *,
    unit: str,
    psa: dict[str, Any],
    inputs: dict[str, Any],
    contract_rate: Decimal | None = None,
) -> Line:
    """The line a mapping bills for a period, given the usage measured for it.

    The mapping's rate is the price; without one, the PSA contract's own rate (`contract_rate`) is.
    """
    rate = mapping.rate if mapping.rate is not None else contract_rate
    if rate is None:
        raise ValueError(f"{mapping.contract}: the mapping has no rate and the PSA contract none to bill at")
    return Line(
        psa_customer=customer.psa_customer,
        contract=mapping.contract,
        period_key=period.key,
        metric=mapping.metric,
        quantity=measured.quantity,
        unit=unit,
        rate=rate,
        amount=price(measured.quantity, rate),
        billing_period=mapping.billing_period,
        period_start=period.start,
        period_end=period.end,
        psa_customer_id=customer.psa_customer_id,
        contract_id=mapping.contract_id,
        start_date=mapping.start_date,
        psa=psa,
        inputs={**inputs, "rule": RULES[mapping.measure], "observations": measured.explanation},
    )
