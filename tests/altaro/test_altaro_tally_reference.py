"""The tally (`providers.altaro.rules.ReportTally`, reading a report through the CSV reader) against the billing
rule written out independently: for any report, in any row order, both give the same counts, exclusions, sizes and
row totals.

`reference` below is the rule as written in providers/altaro/rules.py's docstring, in fifty lines that share nothing
with the tally but `customer_key`, `parse_month` and the settings' defaults: whole rows kept in a set, every size
parsed on every row. The tally must agree with it on every customer and month; the same cases fail on a tally broken
in any of several ways (`test_the_property_fails_on_a_tally_that_breaks_the_rule`), so they can tell.
"""

from __future__ import annotations

import csv
import fnmatch
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from providers.altaro import counts
from providers.altaro.counts import MAX_OBJECT_GB, Group, customer_key, parse_month
from providers.altaro.parser import read_payload
from providers.altaro.rules import BillingRules, ReportTally, Row
from providers.altaro.sandbox import HEADER
from providers.altaro.settings import DEFAULT_BILLABLE_TYPES, AltaroExclusion, AltaroSettings

COLUMNS = AltaroSettings().columns
PERIOD = "2026-11"
EXCLUSIONS = (
    AltaroExclusion(customer="contoso", pattern="shared-*", reason="shared mailbox"),
    AltaroExclusion(customer="*", pattern="test*", reason="test object"),
)
RULES = BillingRules.of(DEFAULT_BILLABLE_TYPES, EXCLUSIONS)

CUSTOMERS = st.sampled_from(["Contoso", " CONTOSO ", "contoso", "Fabrikam, Inc", "Näher GmbH", "NÄHER  GmbH"])
MONTHS = st.sampled_from(["2026-11", "", "Nov 2026", "2026-10"])
PRODUCTS = st.sampled_from(["365 Total Backup", " 365 Total Backup ", "VM Backup", ""])
TYPES = st.sampled_from(["Mailbox", "MAILBOX", " onedrive ", "N/A", "User Teams Chats", "SharePoint", "Teams", ""])
NAMES = st.sampled_from(["Ann", "ann ", "Bo", "shared-desk", "Test user", "Zoë", "", " ", 'Cy "C" Lee', "Line\nBreak"])
SIZES = st.sampled_from(["1.00", "0.25", "12.5", "", "3", "0", "0.00", "-1", "NaN", "abc", "1E+2", "100001", "7.125"])
ROW = st.tuples(CUSTOMERS, MONTHS, PRODUCTS, TYPES, NAMES, SIZES).map(
    lambda r: [r[0], "", r[2], r[1], r[3], r[4], r[5]]
)


@dataclass
class Expected:
    """One customer's month, as the rule defines it."""

    rows: int = 0
    duplicates: int = 0
    blank: int = 0
    users: dict[str, set[str]] = field(default_factory=dict)  # key -> products
    not_users: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # folded type -> keys
    excluded: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # reason -> keys
    size: Decimal = Decimal(0)
    bad_sizes: int = 0


def plausible(cell: str) -> Decimal | None:
    try:
        value = Decimal(cell)
        return value if Decimal(0) <= value <= MAX_OBJECT_GB else None
    except InvalidOperation:
        return None


def reference(rows: list[list[str]]) -> dict[tuple[str, str], tuple[object, ...]]:
    """Per customer (as `customer_key`) and month: what the rule counts, computed without any of the tally's tricks."""
    found: dict[tuple[str, str], Expected] = {}
    counted: set[tuple[str, ...]] = set()
    billable = {t.casefold() for t in DEFAULT_BILLABLE_TYPES}
    for customer, _, product, month, kind, name, size in rows:
        name_key = customer_key(customer.strip())
        entry = found.setdefault((name_key, parse_month(month) or PERIOD), Expected())
        entry.rows += 1
        identity = (name_key, "", product, month, kind, name, size)
        if identity in counted:
            entry.duplicates += 1
            continue
        counted.add(identity)
        key = name.strip().casefold()
        reasons = [e.reason for e in EXCLUSIONS if _matches(e, name_key, key)]
        if reasons:
            entry.excluded[reasons[0]].add(key)
            continue
        if not key:
            entry.blank += 1
        elif kind.strip().casefold() in billable:
            entry.users.setdefault(key, set()).add(product.strip())
        else:
            entry.not_users[kind.strip().casefold()].add(key)
        if size:
            value = plausible(size)
            if value is None:
                entry.bad_sizes += 1
            else:
                entry.size += value
    return {identity: _shape(entry) for identity, entry in found.items()}


def _matches(exclusion: AltaroExclusion, name_key: str, key: str) -> bool:
    return fnmatch.fnmatchcase(name_key, customer_key(exclusion.customer)) and fnmatch.fnmatchcase(
        key, exclusion.pattern.casefold()
    )


def _shape(entry: Expected) -> tuple[object, ...]:
    by_product: dict[str, int] = defaultdict(int)
    for products in entry.users.values():
        for product in products - {""}:
            by_product[product] += 1
    return (
        len(entry.users),
        dict(sorted(by_product.items())),
        {kind: len(keys) for kind, keys in entry.not_users.items()},
        {reason: len(keys) for reason, keys in entry.excluded.items()},
        entry.blank,
        entry.rows,
        entry.duplicates,
        None if entry.bad_sizes else str(entry.size),
    )


def tallied(rows: list[list[str]]) -> dict[tuple[str, str], tuple[object, ...]]:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    counts = ReportTally(RULES).add(read_payload(out.getvalue().encode(), COLUMNS)).customers(PERIOD)
    return {
        (customer_key(c.customer), c.period_key): (
            c.billed_users,
            c.users_by_product,
            {kind.casefold(): len(keys) for kind, keys in c.not_users.items()},
            {reason: len(keys) for reason, keys in c.excluded.items()},
            c.blank,
            c.rows,
            c.duplicates,
            None if c.backup_gb is None else str(c.backup_gb),
        )
        for c in counts
    }


CASES = given(rows=st.lists(ROW, min_size=1, max_size=40), data=st.data())


def tally_follows_the_rule(rows: list[list[str]], data: st.DataObject) -> None:
    # Repeats, so duplicates (and the same customer's rows far apart) are common, in an order hypothesis picks.
    repeated = data.draw(st.permutations(rows + data.draw(st.lists(st.sampled_from(rows), max_size=10))))
    expected = reference([list(row) for row in repeated])
    assert tallied([list(row) for row in repeated]) == expected


@settings(max_examples=300, deadline=None)
@CASES
def test_property_the_tally_counts_what_the_rule_says_in_any_row_order(
    rows: list[list[str]], data: st.DataObject
) -> None:
    tally_follows_the_rule(rows, data)


class _NothingSeen(set[Row]):
    def __contains__(self, row: object) -> bool:
        return False


def _forget_rows(patch: pytest.MonkeyPatch) -> None:
    real = ReportTally.__init__

    def init(self: ReportTally, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        self.rows_seen = _NothingSeen()

    patch.setattr(ReportTally, "__init__", init)


def _one_product(patch: pytest.MonkeyPatch) -> None:
    real = Group.add_user
    patch.setattr(Group, "add_user", lambda self, key, product, name: real(self, key, "", name))


# Tallies that break the rule, each in one way: the same cases must find every one of them.
BROKEN = {
    "duplicate rows counted again": _forget_rows,
    "products not told apart": _one_product,
    "exclusions ignored": lambda patch: patch.setattr(Group, "exclude", lambda self, name, key: False),
    "sizes over the plausible maximum billed": lambda patch: patch.setattr(counts, "MAX_OBJECT_GB", Decimal(10**6)),
    "rows without a name not counted": lambda patch: patch.setattr(
        Group, "blank", property(lambda self: 0, lambda self, value: None)
    ),
}


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_the_property_fails_on_a_tally_that_breaks_the_rule(broken: Callable[[pytest.MonkeyPatch], None]) -> None:
    # Generation only (no shrinking) and no example database: the first failure is all this needs.
    check = settings(max_examples=300, deadline=None, database=None, phases=[Phase.generate])(
        CASES(tally_follows_the_rule)
    )
    with pytest.MonkeyPatch.context() as patch:
        broken(patch)
        with pytest.raises(AssertionError):
            check()
