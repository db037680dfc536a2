"""What the billing rule accumulates: running totals per customer and Month value, and the counts they give.

`Group` is filled row by row by `providers.altaro.rules.ReportTally`; `merge_groups` joins the groups of one customer
and month, whatever the customer's spelling; `CustomerCount` is one customer's result for one month, with everything
needed to explain it. `parse_month` reads the Month cells a report may carry.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

SAMPLE_SIZE = 200  # object names kept per metric in an explanation; the count is always exact
EXCLUDED_SAMPLE = 20
BAD_SIZES_KEPT = 5
# The most one object (a mailbox, a OneDrive, a site) can plausibly hold: Microsoft 365 caps a OneDrive or a site at
# 25 TB, so a larger size is bad vendor data (a unit slip, an overflow), never a quantity to bill.
MAX_OBJECT_GB = Decimal(100_000)
_MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%m/%Y", "%m-%Y", "%Y%m", "%b %Y", "%B %Y", "%b-%Y", "%B-%Y", "%Y-%b")


def customer_key(name: str) -> str:
    """What identifies a customer by name: Unicode form, case and runs of whitespace do not count.

    The engine finds a customer by name ignoring case, so two spellings that differ only so must be one customer:
    counted apart, either one would be billed short.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def shown_name(spellings: list[str]) -> str:
    """The name a customer is reported under: its first spelling without odd whitespace, else its first."""
    return next((s for s in spellings if s == " ".join(s.split())), spellings[0])


def parse_month(value: str) -> str | None:
    """`YYYY-MM` for a Month cell (2026-10, 2026-10-01, 10/2026, Oct 2026, ...), or None when not understood."""
    text = value.strip()
    for candidate in (text, text[:7], text[:10]):
        for pattern in (*_MONTH_FORMATS, "%Y-%m-%d", "%Y/%m/%d"):
            try:
                return datetime.strptime(candidate, pattern).strftime("%Y-%m")
            except ValueError:
                continue
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m")
    except ValueError:
        return None


# Every user's products are one of a few combinations (most users are on one product): each combination is kept
# once and shared, not once per user, which on a million-row report is most of what the users take.
_PRODUCTS: dict[frozenset[str], frozenset[str]] = {}


def products_of(products: frozenset[str]) -> frozenset[str]:
    return _PRODUCTS.setdefault(products, products)


@dataclass
class Group:
    """Running totals of one customer and one Month value while rows stream past.

    `users` maps each counted key to the products it was seen under: its length is the billed users, and the
    per-product counts come from the sets.
    """

    customer: str
    customer_id: str
    month: str
    exclusions: tuple[tuple[re.Pattern[str], str], ...]
    rows: int = 0
    users: dict[str, frozenset[str]] = field(default_factory=dict)
    sample: dict[str, str] = field(default_factory=dict)  # the first users counted: key -> name as written
    not_users: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # type -> keys
    excluded: dict[str, set[str]] = field(default_factory=dict)
    excluded_sample: dict[str, list[str]] = field(default_factory=dict)
    blank: int = 0
    size_by_product: dict[str, Decimal] = field(default_factory=dict)
    bad_sizes: list[str] = field(default_factory=list)  # the first few, for the explanation
    bad_size_count: int = 0
    duplicates: int = 0  # rows identical to one counted before, not counted again
    key: str = ""  # customer_key(customer)
    sample_size: int = SAMPLE_SIZE  # names kept in `sample` (0 where no explanation shows them)

    def exclude(self, raw_name: str, raw_key: str) -> bool:
        """Whether an object name matches one of the customer's exclusions; if so, it is recorded with the reason."""
        folded = raw_name.strip().casefold()
        for pattern, reason in self.exclusions:
            if pattern.match(folded):
                self.excluded.setdefault(reason, set()).add(raw_key.strip().casefold() or folded)
                shown = self.excluded_sample.setdefault(reason, [])
                if len(shown) < EXCLUDED_SAMPLE and raw_name.strip() not in shown:
                    shown.append(raw_name.strip())
                return True
        return False

    def add_user(self, key: str, product: str, raw_name: str) -> None:
        """Count a key under a product; the names of the first few keys are kept as written."""
        products = self.users.get(key)
        if products is None:
            self.users[key] = products_of(frozenset((product,)))
            if len(self.sample) < self.sample_size:
                self.sample[key] = raw_name.strip()
        elif product not in products:
            self.users[key] = products_of(products | {product})

    def add_size(self, cell: str, product: str) -> bool:
        """Add a size cell to the product's sum. False, adding nothing, for a cell that is not a finite size from 0
        to MAX_OBJECT_GB: bad vendor data (`bad_size`)."""
        try:
            value = Decimal(cell)
            plausible = Decimal(0) <= value <= MAX_OBJECT_GB
        except InvalidOperation:  # not a number; or NaN, which no comparison accepts
            plausible = False
        if plausible:
            self.size_by_product[product] = self.size_by_product.get(product, Decimal(0)) + value
        return plausible

    def bad_size(self, position: str, cell: str) -> None:
        """Note a size cell that is not a plausible size (the first few with their line, all of them counted)."""
        self.bad_size_count += 1
        if len(self.bad_sizes) < BAD_SIZES_KEPT:
            shown = cell.strip()[:40]
            self.bad_sizes.append(
                f"{position}: backed-up size {shown!r} {size_problem(cell)}: bad vendor data, so the customer's "
                "usage is not billed"
            )

    def absorb(self, other: Group) -> None:
        """Add another group's totals to this one (same customer and month, from another spelling, link or part of
        the report). What is kept of both reads as if their rows had been counted one after the other: the sample
        lists the first users new to this group, the bad sizes the first few."""
        self.rows += other.rows
        self.blank += other.blank
        room = self.sample_size - len(self.sample)
        if room > 0:
            new = [(key, name) for key, name in other.sample.items() if key not in self.users]
            self.sample.update(new[:room])
        for key, products in other.users.items():
            held = self.users.get(key)
            self.users[key] = products if held is None else products_of(held | products)
        for kind, keys in other.not_users.items():
            self.not_users[kind].update(keys)
        for reason, keys in other.excluded.items():
            self.excluded.setdefault(reason, set()).update(keys)
            shown = self.excluded_sample.setdefault(reason, [])
            shown += [n for n in other.excluded_sample.get(reason, []) if n not in shown][
                : EXCLUDED_SAMPLE - len(shown)
            ]
        for product, size in other.size_by_product.items():
            self.size_by_product[product] = self.size_by_product.get(product, Decimal(0)) + size
        self.bad_sizes += other.bad_sizes[: BAD_SIZES_KEPT - len(self.bad_sizes)]
        self.bad_size_count += other.bad_size_count
        self.duplicates += other.duplicates


def size_problem(cell: str) -> str:
    """What is wrong with a size cell the billing rule refused."""
    try:
        value = Decimal(cell)
    except InvalidOperation:
        return "is not a number"
    if not value.is_finite():
        return "is not a finite number"
    if value < 0:
        return "is negative"
    return f"is over {MAX_OBJECT_GB} GB, more than one object can hold"


@dataclass
class CustomerCount:
    """One customer's counts for one month: what is billed and everything needed to explain it."""

    customer: str
    customer_id: str
    period_key: str
    rows: int
    users: dict[str, frozenset[str]]
    sample: list[str]
    not_users: dict[str, set[str]]
    excluded: dict[str, set[str]]
    excluded_sample: dict[str, list[str]]
    blank: int
    size_by_product: dict[str, Decimal] | None
    problems: list[str] = field(default_factory=list)
    spellings: list[str] = field(default_factory=list)
    duplicates: int = 0  # of the customer's name in the report, as first seen

    @property
    def billed_users(self) -> int:
        return len(self.users)

    @property
    def users_by_product(self) -> dict[str, int]:
        """Distinct users per product (a user on two products counts under each); empty without a Product column."""
        counts = Counter(product for products in self.users.values() for product in products if product)
        return dict(sorted(counts.items()))

    @property
    def backup_gb(self) -> Decimal | None:
        if self.size_by_product is None:
            return None
        return sum(self.size_by_product.values(), Decimal(0))

    def exclusion_summary(self) -> list[dict[str, Any]]:
        """Objects not billed, grouped by why, each with a count and a few names."""
        summary: list[dict[str, Any]] = [
            {
                "reason": reason,
                "label": reason,
                "objects": len(keys),
                "sample": self.excluded_sample.get(reason, [])[:EXCLUDED_SAMPLE],
            }
            for reason, keys in sorted(self.excluded.items())
        ]
        summary += [
            {
                "reason": f"object type {kind or '(blank)'!r} is not a billed user type",
                "label": kind or "(blank type)",
                "objects": len(keys),
            }
            for kind, keys in sorted(self.not_users.items())
        ]
        if self.blank:
            summary.append({"reason": "row without an object name", "label": "no name", "objects": self.blank})
        return summary

    @classmethod
    def of(cls, merged: Merged, *, has_size: bool) -> CustomerCount:
        group = merged.group
        return cls(
            customer=group.customer,
            customer_id=group.customer_id,
            period_key=group.month,
            rows=group.rows,
            users=group.users,
            sample=list(group.sample.values()),
            not_users=dict(group.not_users),
            excluded=group.excluded,
            excluded_sample=group.excluded_sample,
            blank=group.blank,
            # A customer with a bad size gets no size at all: the sum of the others would be a wrong number.
            size_by_product=group.size_by_product if has_size and not group.bad_size_count else None,
            problems=merged.problems,
            spellings=merged.spellings,
            duplicates=group.duplicates,
        )


@dataclass
class Merged:
    """One customer's groups in one period, merged, and what merging them showed."""

    group: Group
    spellings: list[str]
    problems: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    bad_sizes_listed: int = 0
    # The first group is used as it is (copying a million users' keys would double the peak memory); a second one
    # is added to a copy, never to the original, which belongs to its report's tally.
    copied: bool = False

    def add(self, group: Group) -> None:
        if not self.copied:
            first = self.group
            copy = Group(first.customer, first.customer_id, first.month, (), sample_size=first.sample_size)
            copy.absorb(first)
            self.group, self.copied = copy, True
        self.group.absorb(group)


def merge_groups(groups: Iterable[Group], default_period: str) -> list[Merged]:
    """The groups merged per customer (by `customer_key`) and month; rows with an empty Month fall in
    `default_period`. Namesakes with different Customer IDs, and one Customer ID under two names, are problems."""
    groups = list(groups)
    spellings: dict[str, list[str]] = {}
    for group in groups:
        seen = spellings.setdefault(customer_key(group.customer), [])
        if group.customer not in seen:
            seen.append(group.customer)
    merged: dict[tuple[str, str], Merged] = {}
    for group in groups:
        period = parse_month(group.month) if group.month else default_period
        problems = list(group.bad_sizes)
        if period is None:
            problems.append(f"Month value {group.month!r} is not a month; counted in {default_period}")
            period = default_period
        name = customer_key(group.customer)
        found = merged.get((name, period))
        if found is None:
            shown = dataclasses.replace(group, customer=shown_name(spellings[name]), month=period, bad_sizes=[])
            found = merged[(name, period)] = Merged(shown, spellings[name])
        else:
            found.add(group)
        found.problems += problems
        found.bad_sizes_listed += len(group.bad_sizes)
        if group.customer_id:
            found.ids.add(group.customer_id)
    for found in merged.values():
        if found.group.bad_size_count > found.bad_sizes_listed:
            found.problems.append(
                f"{found.group.bad_size_count} rows have a bad backed-up size (the first {found.bad_sizes_listed} "
                "are listed)"
            )
    _ambiguous(merged)
    return list(merged.values())


def _ambiguous(merged: dict[tuple[str, str], Merged]) -> None:
    """Blocks customers a name cannot tell apart: counted together or apart, one of them would be billed wrong."""
    names: dict[tuple[str, str], list[str]] = {}  # (Customer ID, period) -> the customers listing it
    for (_, period), found in merged.items():
        if len(found.ids) > 1:
            found.problems.append(
                f"ambiguous customer: {len(found.ids)} customers are named {found.group.customer!r} "
                f"(Customer ID {', '.join(sorted(found.ids))}); their users cannot be told apart by name, so none "
                "is billed: give them distinct names in the console"
            )
        for customer_id in found.ids:
            names.setdefault((customer_id, period), []).append(found.group.customer)
    for (_, period), found in merged.items():
        for customer_id in sorted(found.ids):
            others = [name for name in names[(customer_id, period)] if name != found.group.customer]
            if others:
                found.problems.append(
                    f"ambiguous customer: Customer ID {customer_id} is also listed as "
                    f"{', '.join(repr(o) for o in others)}; one customer under two names would be billed short "
                    "under either, so neither is billed until the names agree"
                )
