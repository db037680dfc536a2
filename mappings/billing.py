"""The billing rule: a mapped line's measured usage becomes a priced line; every amount shown, pushed or reconciled.

Vendor usage reaches the PSA's invoice as the Quantity of a Retainer/flat-fee contract, which invoices Quantity x
Rate each billing period; the amount is rounded to cents once, on the line total.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from mappings.customer import CustomerMapping, LineMapping
from mappings.lines import Line
from mappings.measure import RULES, Measured
from mappings.money import exact_product, round_money
from mappings.periods import Period

# How a PSA that bills whole units turns a measured quantity into them: the units, and the words that explain it.
WholeUnits = Callable[[Mapping[str, Any], Decimal], tuple[Decimal, str]]


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
    whole_units: WholeUnits | None = None,
) -> Line:
    """The line a mapping bills for a period, given the usage measured for it.

    The mapping's rate is the price; without one, the PSA contract's own rate (`contract_rate`) is. A PSA that bills
    whole units only gives `whole_units`: the quantity becomes the units billed before it is priced, and the line's
    inputs say how (`billed_as`, and `measured_quantity` when rounding changed it).
    """
    rate = mapping.rate if mapping.rate is not None else contract_rate
    if rate is None:
        raise ValueError(f"{mapping.contract}: the mapping has no rate and the PSA contract none to bill at")
    quantity = measured.quantity
    if whole_units is not None:
        quantity, how = whole_units(psa, measured.quantity)
        inputs = {**inputs, "billed_as": how}
        if quantity != measured.quantity:
            inputs["measured_quantity"] = str(measured.quantity)
    return Line(
        psa_customer=customer.psa_customer,
        contract=mapping.contract,
        period_key=period.key,
        metric=mapping.metric,
        quantity=quantity,
        unit=unit,
        rate=rate,
        amount=price(quantity, rate),
        billing_period=mapping.billing_period,
        period_start=period.start,
        period_end=period.end,
        psa_customer_id=customer.psa_customer_id,
        contract_id=mapping.contract_id,
        start_date=mapping.start_date,
        psa=psa,
        inputs={**inputs, "rule": RULES[mapping.measure], "observations": measured.explanation},
    )
