"""Properties of the billing rule: for any quantity the boundary lets through and any rate a mapping accepts, the
amount is finite, non-negative, in cents, and the exact product rounded half-up once."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connector.interfaces.usage import MAX_QUANTITY
from mappings.billing import price

EXAMPLES = settings(max_examples=1000, deadline=None)

# Every quantity refuse_bad_numbers lets through: 0 to 10^12 of any unit, with as many digits as division left it.
QUANTITIES = st.one_of(
    st.decimals(min_value=0, max_value=MAX_QUANTITY, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=MAX_QUANTITY, places=2),
    # MB / 1024 or / 1000 as the portal source computes GB: up to ten more fraction digits than the sizes.
    st.tuples(st.integers(0, 10**15), st.sampled_from([1000, 1024])).map(lambda t: Decimal(t[0]) / t[1]),
    st.integers(0, 10**6).map(Decimal),
)
# Any rate a mapping accepts (finite, non-negative) within what a unit price plausibly is.
RATES = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=2),
    st.decimals(min_value=0, max_value=10**6, places=6),
    st.decimals(min_value=0, max_value=10**6, allow_nan=False, allow_infinity=False),
)


def rounded_once(quantity: Decimal, rate: Decimal) -> Decimal:
    """The oracle: the exact product as a fraction, rounded half-up to cents, with no Decimal context involved."""
    cents = Fraction(quantity) * Fraction(rate) * 100
    whole = math.floor(cents + Fraction(1, 2))
    return Decimal(whole) / 100 if whole else Decimal("0.00")


@EXAMPLES
@given(QUANTITIES, RATES)
# Products on a half cent, which a second rounding (of the quantity, or at 28 digits) would push the wrong way.
@example(Decimal("1.005"), Decimal(1))
@example(Decimal("0.125"), Decimal("0.04"))
@example(Decimal("999999999999.99999999999999999999"), Decimal("999999.999999"))
@example(Decimal("0.0049999999999999999999999999999"), Decimal(1))
@example(Decimal("1E-30"), Decimal("1E+6"))
def test_the_amount_is_the_exact_product_rounded_half_up_once(quantity: Decimal, rate: Decimal) -> None:
    amount = price(quantity, rate)
    assert amount.is_finite() and amount >= 0
    assert amount.as_tuple().exponent == -2
    assert amount == rounded_once(quantity, rate)


@EXAMPLES
@given(QUANTITIES, RATES)
def test_the_amount_does_not_depend_on_the_caller_s_decimal_context(quantity: Decimal, rate: Decimal) -> None:
    expected = price(quantity, rate)
    with localcontext() as ctx:
        ctx.prec = 6
        assert price(quantity, rate) == expected


@EXAMPLES
@given(QUANTITIES, QUANTITIES, RATES)
def test_more_usage_never_costs_less(smaller: Decimal, larger: Decimal, rate: Decimal) -> None:
    low, high = sorted((smaller, larger))
    assert price(low, rate) <= price(high, rate)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_a_non_finite_input_is_refused_not_priced(bad: Decimal) -> None:
    for quantity, rate in ((bad, Decimal(1)), (Decimal(1), bad)):
        with pytest.raises(ValueError):
            price(quantity, rate)
