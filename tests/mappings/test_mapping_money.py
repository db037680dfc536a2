"""Money helpers: exact Decimal input, one half-up rounding to cents, MB to GB at 1024 or 1000."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.billing import price as line_amount
from mappings.money import CENT, exact_product, round_money, to_decimal


def reference_cents(quantity: Decimal, rate: Decimal) -> Decimal:
    """Half-up to cents with exact rationals: independent of the decimal module's contexts."""
    exact = Fraction(quantity) * Fraction(rate)
    sign = -1 if exact < 0 else 1
    cents = (abs(exact) * 100 + Fraction(1, 2)).__floor__()
    return Decimal(sign * cents) / 100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        (" 3 ", Decimal(3)),
        (7, Decimal(7)),
        (Decimal("0.335"), Decimal("0.335")),
        # Floats are read as written, never as their binary value (Decimal(0.1) = 0.1000000000000000055...).
        (0.1, Decimal("0.1")),
        (2.675, Decimal("2.675")),
        (1e-7, Decimal("1e-7")),
    ],
)
def test_to_decimal_reads_what_was_written(value: Decimal | int | str | float, expected: Decimal) -> None:
    result = to_decimal(value)
    assert result == expected
    assert str(result) == str(expected)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("twelve", ValueError),
        ("", ValueError),
        ("NaN", ValueError),
        (float("inf"), ValueError),
        (Decimal("-Infinity"), ValueError),
        (True, TypeError),
        (None, TypeError),
        ([1], TypeError),
    ],
)
def test_to_decimal_refuses_what_is_not_an_amount(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_decimal(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1.005"), Decimal("1.01")),  # half-even would give 1.00
        (Decimal("0.125"), Decimal("0.13")),  # half-even would give 0.12
        (Decimal("2.675"), Decimal("2.68")),  # the float 2.675 would give 2.67
        (Decimal("1.00499999"), Decimal("1.00")),
        (Decimal("-1.005"), Decimal("-1.01")),
        (Decimal("7"), Decimal("7.00")),
        (Decimal("123456789012345678901234567890.555"), Decimal("123456789012345678901234567890.56")),
    ],
)
def test_round_money_is_half_up_to_cents(amount: Decimal, expected: Decimal) -> None:
    result = round_money(amount)
    assert result == expected
    assert result.as_tuple().exponent == -2


def test_round_money_refuses_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        round_money(Decimal("NaN"))


@pytest.mark.parametrize(
    ("quantity", "rate", "once", "per_unit_then_multiplied"),
    [
        # 3 x 0.335 = 1.005 -> 1.01; rounding the rate first gives 3 x 0.34 = 1.02.
        (Decimal(3), Decimal("0.335"), Decimal("1.01"), Decimal("1.02")),
        # 1/3 GB x 3.00: the exact product is 0.99999...; rounded once it is 1.00.
        (Decimal(1) / Decimal(3), Decimal("3.00"), Decimal("1.00"), Decimal("0.99")),
        # 341 MB = 0.3330078125 GB x 1.52 = 0.506171875 -> 0.51; rounding the GB first: 0.33 x 1.52 -> 0.50.
        (Decimal("0.3330078125"), Decimal("1.52"), Decimal("0.51"), Decimal("0.50")),
        (Decimal("10.5"), Decimal("0.045"), Decimal("0.47"), Decimal("0.53")),
    ],
)
def test_line_amount_rounds_once_on_the_total(
    quantity: Decimal, rate: Decimal, once: Decimal, per_unit_then_multiplied: Decimal
) -> None:
    assert line_amount(quantity, rate) == once
    # The alternative a careless implementation would compute, to show the table exercises the difference.
    assert round_money(round_money(quantity) * round_money(rate)) == per_unit_then_multiplied


def test_exact_product_keeps_digits_beyond_the_default_precision() -> None:
    quantity = Decimal("1234567890.123456789012345678")
    rate = Decimal("9.87654321")
    assert Fraction(exact_product(quantity, rate)) == Fraction(quantity) * Fraction(rate)


def test_cent_is_one_hundredth() -> None:
    assert Decimal(1) / 100 == CENT


decimals = st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False)


@given(quantity=decimals, rate=decimals)
def test_line_amount_never_loses_or_invents_a_cent(quantity: Decimal, rate: Decimal) -> None:
    assert line_amount(quantity, rate) == reference_cents(quantity, rate)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_become_their_shortest_text(value: float) -> None:
    assert to_decimal(value) == Decimal(repr(value))
    assert float(to_decimal(value)) == value
