"""Sizes: for any sizes, in any order and under any customers and products, each customer's GB per product is
exactly the Decimal sum the rule defines (same value, same exponent, so the same text in an explanation), whether the
report writes every size with two decimals, as exports do, or some otherwise."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from providers.altaro.counts import MAX_OBJECT_GB
from providers.altaro.parser import read_payload
from providers.altaro.rules import BillingRules, ReportTally
from providers.altaro.settings import AltaroSettings

COLUMNS = AltaroSettings().columns
HEADER = ("Customer Name", "Product", "Object Type Backed Up", "Object Name", "Backed Up Size (GB)")
TWO_DECIMALS = st.decimals(min_value=0, max_value=MAX_OBJECT_GB, places=2).map(str)
OTHER = st.sampled_from(
    ["5", "4.5", "0", "0.0", "-0.00", "1E+2", "2.5E+1", "7.125", "1.0000000000000000000000000001", "0.10", "abc", "-1"]
)
ROWS = st.lists(
    st.tuples(
        st.sampled_from(["Contoso", "Fabrikam", "Tailspin"]),
        st.sampled_from(["365 Total Backup", "VM Backup"]),
        st.integers(0, 3),  # the object's name, under its row number: no row is a duplicate
        st.one_of(TWO_DECIMALS, TWO_DECIMALS, OTHER),
    ),
    min_size=1,
    max_size=30,
)


def sums(rows: list[tuple[str, str, int, str]]) -> dict[str, dict[str, str] | None]:
    """GB per product per customer by the tally, as text."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(
        [customer, product, "Mailbox", f"user {n} of row {i}", size]
        for i, (customer, product, n, size) in enumerate(rows)
    )
    counts = ReportTally(BillingRules()).add(read_payload(out.getvalue().encode(), COLUMNS)).customers("2026-11")
    return {
        c.customer: None if c.size_by_product is None else {p: str(gb) for p, gb in c.size_by_product.items()}
        for c in counts
    }


def decimal_sums(rows: list[tuple[str, str, int, str]]) -> dict[str, dict[str, str] | None]:
    """The same as the rule defines it: Decimal(0) plus each size in turn; a bad size blocks its customer's GB."""
    found: dict[str, dict[str, Decimal] | None] = {}
    for customer, product, _, size in rows:
        totals = found.setdefault(customer, {})
        try:
            value = Decimal(size)
            good = Decimal(0) <= value <= MAX_OBJECT_GB
        except ArithmeticError:
            good = False
        if not good:
            found[customer] = None
        elif totals is not None:
            totals[product] = totals.get(product, Decimal(0)) + value
    return {c: None if t is None else {p: str(gb) for p, gb in t.items()} for c, t in found.items()}


@settings(max_examples=300, deadline=None)
@given(rows=ROWS)
def test_property_size_sums_are_the_decimal_sums(rows: list[tuple[str, str, int, str]]) -> None:
    assert sums(rows) == decimal_sums(rows)


def test_two_decimal_sizes_keep_their_exponent() -> None:
    rows = [
        ("Contoso", "VM Backup", 1, "0.00"),
        ("Contoso", "VM Backup", 2, "1.50"),
        ("Fabrikam", "VM Backup", 3, "2.05"),
    ]
    assert sums(rows) == {"Contoso": {"VM Backup": "1.50"}, "Fabrikam": {"VM Backup": "2.05"}}


def test_sizes_written_otherwise_sum_as_decimals() -> None:
    rows = [("Contoso", "VM Backup", 1, "1.25"), ("Fabrikam", "VM Backup", 2, "5"), ("Contoso", "VM Backup", 3, "1E+2")]
    assert sums(rows) == {"Contoso": {"VM Backup": "101.25"}, "Fabrikam": {"VM Backup": "5"}}
