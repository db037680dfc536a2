"""Exact money arithmetic: Decimal in, cents rounded half-up once on a line total."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

CENT = Decimal("0.01")


def to_decimal(value: Decimal | int | str | float) -> Decimal:
    """Turn a number or its text into a finite Decimal; floats go through their shortest text form."""
    # bool is an int subclass; a True price is a bug upstream, not the number 1.
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # Decimal(0.1) would carry the binary error (0.1000000000000000055...); repr() is what the user wrote.
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise TypeError(f"cannot read {type(value).__name__} as an amount")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def exact_product(quantity: Decimal, rate: Decimal) -> Decimal:
    """quantity x rate with every digit kept, whatever the context's precision."""
    # The default 28-digit context would round a long product before we round it to cents: two roundings.
    digits = len(quantity.as_tuple().digits) + len(rate.as_tuple().digits) + 2
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, digits)
        return quantity * rate


def round_money(amount: Decimal) -> Decimal:
    """Round to cents, half away from zero (1.005 → 1.01, -1.005 → -1.01)."""
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    with localcontext() as ctx:
        # quantize refuses results longer than the precision; a large total must not become an error.
        ctx.prec = max(ctx.prec, amount.adjusted() + 4)
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
