"""The Total Backup 365 billing rule: distinct billable objects per customer and month, exclusions, backed-up size.

Billed users of a customer = the number of distinct Object Name values (or the configured key column) among rows
whose Object Type Backed Up is one of the billable types, as the vendor's own Excel recipe counts them: types and
names are compared ignoring case and surrounding spaces (Excel's Remove Duplicates ignores case too), and distinct
is per customer, so one name under two customers is two users. Objects of other types and objects the MSP excludes
by name pattern are not counted, but are kept, with the reason, for the explanation.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.errors import DataError
from providers.altaro.parser import ReportRows
from providers.altaro.settings import DEFAULT_BILLABLE_TYPES, AltaroExclusion, AltaroSettings

SAMPLE_SIZE = 200  # object names kept per metric in an explanation; the count is always exact
EXCLUDED_SAMPLE = 20
_MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%m/%Y", "%m-%Y", "%Y%m", "%b %Y", "%B %Y", "%b-%Y", "%B-%Y", "%Y-%b")


@dataclass(frozen=True)
class _Exclusion:
    customer: re.Pattern[str]
    pattern: re.Pattern[str]
    reason: str


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern.strip().casefold()))


@dataclass(frozen=True)
class BillingRules:
    """What counts: billable object types (casefolded) and per-customer exclusions by object-name glob."""

    billable_types: frozenset[str] = frozenset(t.casefold() for t in DEFAULT_BILLABLE_TYPES)
    exclusions: tuple[_Exclusion, ...] = ()
    type_names: tuple[str, ...] = DEFAULT_BILLABLE_TYPES

    @classmethod
    def from_settings(cls, settings: AltaroSettings) -> BillingRules:
        return cls.of(settings.billable_object_types, settings.exclusions)

    @classmethod
    def of(cls, types: Iterable[str], exclusions: Iterable[AltaroExclusion] = ()) -> BillingRules:
        names = tuple(t.strip() for t in types)
        return cls(
            billable_types=frozenset(t.casefold() for t in names),
            exclusions=tuple(_Exclusion(_glob(e.customer), _glob(e.pattern), e.reason) for e in exclusions),
            type_names=names,
        )

    def exclusions_for(self, customer: str) -> tuple[tuple[re.Pattern[str], str], ...]:
        wanted = customer.strip().casefold()
        return tuple((e.pattern, e.reason) for e in self.exclusions if e.customer.match(wanted))


def parse_month(value: str) -> str | None:
    """`YYYY-MM` for a Month cell (2026-10, 2026-10-01, 10/2026, Oct 2026, ...), or None when not understood."""
    text = value.strip()
    if not text:
        return None
    candidates = [text, text[:7], text[:10]]
    for candidate in candidates:
        for pattern in (*_MONTH_FORMATS, "%Y-%m-%d", "%Y/%m/%d"):
            try:
                return datetime.strptime(candidate, pattern).strftime("%Y-%m")
            except ValueError:
                continue
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m")
    except ValueError:
        return None


@dataclass
class _Group:
    """Running totals of one customer and one Month value while rows stream past.

    `users` maps each counted key to a bit mask of the products it was seen under (bit i = the tally's product i):
    one dict serves both the all-products count and the per-product counts, and holds each key once.
    """

    customer: str
    customer_id: str
    month: str
    exclusions: tuple[tuple[re.Pattern[str], str], ...]
    rows: int = 0
    users: dict[str, int] = field(default_factory=dict)
    sample: list[str] = field(default_factory=list)
    not_users: dict[str, set[str]] = field(default_factory=dict)
    excluded: dict[str, set[str]] = field(default_factory=dict)
    excluded_sample: dict[str, list[str]] = field(default_factory=dict)
    blank: int = 0
    size_by_product: dict[str, Decimal] = field(default_factory=dict)
    bad_sizes: list[str] = field(default_factory=list)


@dataclass
class CustomerCount:
    """One customer's counts for one month: what is billed and everything needed to explain it."""

    customer: str
    customer_id: str
    period_key: str
    rows: int
    users: dict[str, int]
    products: list[str]
    sample: list[str]
    not_users: dict[str, set[str]]
    excluded: dict[str, set[str]]
    excluded_sample: dict[str, list[str]]
    blank: int
    size_by_product: dict[str, Decimal] | None
    problems: list[str] = field(default_factory=list)

    @property
    def billed_users(self) -> int:
        return len(self.users)

    @property
    def users_by_product(self) -> dict[str, int]:
        """Distinct users per product (a user on two products counts under each); empty without a Product column."""
        per_mask: dict[int, int] = {}
        for mask in self.users.values():
            per_mask[mask] = per_mask.get(mask, 0) + 1
        counts: dict[str, int] = {}
        for mask, users in per_mask.items():
            for bit, product in enumerate(self.products):
                if mask >> bit & 1 and product:
                    counts[product] = counts.get(product, 0) + users
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

    @property
    def excluded_objects(self) -> int:
        return sum(item["objects"] for item in self.exclusion_summary())


class ReportTally:
    """Counts accumulated from one or more reports (links); `customers()` gives the result per customer and month."""

    def __init__(self, rules: BillingRules, *, has_size: bool = False) -> None:
        self.rules = rules
        self.groups: dict[tuple[str, str], _Group] = {}
        self.products: dict[str, int] = {}  # product name -> its bit in the users' masks
        self.rows = 0
        self.has_size = has_size

    def add(self, report: ReportRows) -> ReportTally:
        """Stream a report's rows into the counts. Raises DataError on a malformed row; then discard the tally."""
        cols = report.columns
        ci, ti, ni, ki = cols.customer, cols.object_type, cols.object_name, cols.key
        mi, pi, si, ii = cols.month, cols.product, cols.size_gb, cols.customer_id
        width = report.width
        self.has_size = self.has_size or si is not None
        billable = self.rules.billable_types
        products = self.products
        # Raw cell -> what it means: a report has a handful of types and products, and a million rows.
        types: dict[str, tuple[bool, str]] = {}
        spellings: dict[str, str] = {}
        product_bits: dict[str, tuple[str, int]] = {}
        groups: dict[tuple[str, str], _Group] = {}
        current_customer: str | None = None
        current_month: str | None = None
        # The current group's containers, held in locals: attribute lookups per row cost more than the counting.
        group: _Group | None = None
        users: dict[str, int] = {}
        sample: list[str] = []
        exclusions: tuple[tuple[re.Pattern[str], str], ...] = ()
        sizes: dict[str, Decimal] = {}
        group_rows = 0
        rows = 0
        zero = Decimal(0)
        for row in report:
            if len(row) != width:
                if not row:
                    continue  # a blank line
                if len(row) < width or any(cell.strip() for cell in row[width:]):
                    raise report.bad_row(row)
            rows += 1
            customer = row[ci]
            month = row[mi] if mi is not None else ""
            # Reports are sorted by customer, so the current group is almost always the right one.
            if customer != current_customer or month != current_month:
                if group is not None:
                    group.rows += group_rows
                group_key = (customer, month)
                group = groups.get(group_key)
                if group is None:
                    name = customer.strip()
                    if not name:
                        raise _blank_customer(report)
                    group = groups[group_key] = _Group(
                        customer=name,
                        customer_id=row[ii].strip() if ii is not None else "",
                        month=month.strip(),
                        exclusions=self.rules.exclusions_for(name),
                    )
                current_customer, current_month, group_rows = customer, month, 0
                users, sample, exclusions, sizes = group.users, group.sample, group.exclusions, group.size_by_product
            group_rows += 1
            raw_product = row[pi] if pi is not None else ""
            known_product = product_bits.get(raw_product)
            if known_product is None:
                product = raw_product.strip()
                if product not in products:
                    products[product] = len(products)
                known_product = product_bits[raw_product] = (product, 1 << products[product])
            product, bit = known_product
            raw_name = row[ni]
            if exclusions:
                folded = raw_name.strip().casefold()
                reason = next((why for pattern, why in exclusions if pattern.match(folded)), None)
                if reason is not None:
                    assert group is not None
                    group.excluded.setdefault(reason, set()).add(row[ki].strip().casefold() or folded)
                    shown = group.excluded_sample.setdefault(reason, [])
                    if len(shown) < EXCLUDED_SAMPLE and raw_name.strip() not in shown:
                        shown.append(raw_name.strip())
                    continue  # neither a user nor storage the MSP charges for
            kind = row[ti]
            known = types.get(kind)
            if known is None:
                folded_kind = kind.strip().casefold()
                # One spelling per type in the explanation (MAILBOX and Mailbox are one type).
                shown_kind = spellings.setdefault(folded_kind, kind.strip())
                known = types[kind] = (folded_kind in billable, shown_kind)
            key = row[ki].strip().casefold()
            if not key:
                assert group is not None
                group.blank += 1
            elif known[0]:
                mask = users.get(key)
                if mask is None:
                    users[key] = bit
                    if len(sample) < SAMPLE_SIZE:
                        sample.append(raw_name.strip())
                elif not mask & bit:
                    users[key] = mask | bit
            else:
                assert group is not None
                others = group.not_users.get(known[1])
                if others is None:
                    others = group.not_users[known[1]] = set()
                others.add(key)
            if si is not None:
                cell = row[si]
                if cell:
                    try:
                        sizes[product] = sizes.get(product, zero) + Decimal(cell)
                    except InvalidOperation:
                        assert group is not None
                        if len(group.bad_sizes) < 5:
                            group.bad_sizes.append(f"line {report.line}: size {cell.strip()[:40]!r} is not a number")
        if group is not None:
            group.rows += group_rows
        if rows == 0:
            raise _no_rows(report)
        self._merge(groups, self.products)
        self.rows += rows
        return self

    def _merge(self, groups: dict[tuple[str, str], _Group], products: dict[str, int]) -> None:
        remap = {1 << bit: self._product_bit(name) for name, bit in products.items()}
        identity = all(old == new for old, new in remap.items())
        for key, group in groups.items():
            if not identity:
                group.users = {user: _remapped(mask, remap) for user, mask in group.users.items()}
            mine = self.groups.get(key)
            if mine is None:
                self.groups[key] = group
            elif mine is not group:
                _absorb(mine, group)

    def _product_bit(self, name: str) -> int:
        if name not in self.products:
            self.products[name] = len(self.products)
        return 1 << self.products[name]

    def merge(self, other: ReportTally) -> None:
        """Add another link's counts: a customer's users are distinct across links too."""
        self.has_size = self.has_size or other.has_size
        self.rows += other.rows
        self._merge(other.groups, other.products)

    def customers(self, default_period: str) -> list[CustomerCount]:
        """Counts per customer (name as in the report, spaces trimmed) and month, sorted by name then month.

        Rows with an empty Month fall in `default_period` (the month of the observation).
        """
        names = sorted(self.products, key=self.products.__getitem__)
        merged: dict[tuple[str, str], _Group] = {}
        periods: dict[tuple[str, str], list[str]] = {}
        shared: set[tuple[str, str]] = set()
        for group in self.groups.values():
            period = parse_month(group.month) if group.month else default_period
            problems = list(group.bad_sizes)
            if period is None:
                problems.append(f"Month value {group.month!r} is not a month; counted in {default_period}")
                period = default_period
            key = (group.customer, period)
            found = merged.get(key)
            if found is None:
                # Shares the group's containers: copying a million users' keys would double the peak memory.
                merged[key] = dataclasses.replace(group, month=period, bad_sizes=[])
                shared.add(key)
            else:
                if key in shared:  # two spellings of one customer or month: merge into copies, never the originals
                    copy = _Group(found.customer, found.customer_id, period, ())
                    _absorb(copy, found)
                    merged[key], found = copy, copy
                    shared.discard(key)
                _absorb(found, group)
            periods.setdefault(key, []).extend(problems)
        counts = [
            CustomerCount(
                customer=g.customer,
                customer_id=g.customer_id,
                period_key=period,
                rows=g.rows,
                users=g.users,
                products=names,
                sample=g.sample,
                not_users=g.not_users,
                excluded=g.excluded,
                excluded_sample=g.excluded_sample,
                blank=g.blank,
                size_by_product=g.size_by_product if self.has_size else None,
                problems=periods[(g.customer, period)],
            )
            for (_, period), g in merged.items()
        ]
        return sorted(counts, key=lambda c: (c.customer.casefold(), c.customer, c.period_key))


def _remapped(mask: int, remap: dict[int, int]) -> int:
    result = 0
    for old, new in remap.items():
        if mask & old:
            result |= new
    return result


def _absorb(into: _Group, other: _Group) -> None:
    into.rows += other.rows
    into.blank += other.blank
    if not into.users:
        into.users = dict(other.users)
    else:
        for key, mask in other.users.items():
            into.users[key] = into.users.get(key, 0) | mask
    room = SAMPLE_SIZE - len(into.sample)
    if room > 0:
        seen = set(into.sample)
        into.sample += [name for name in other.sample if name not in seen][:room]
    for kind, keys in other.not_users.items():
        into.not_users.setdefault(kind, set()).update(keys)
    for reason, keys in other.excluded.items():
        into.excluded.setdefault(reason, set()).update(keys)
        shown = into.excluded_sample.setdefault(reason, [])
        shown += [n for n in other.excluded_sample.get(reason, []) if n not in shown][: EXCLUDED_SAMPLE - len(shown)]
    for product, size in other.size_by_product.items():
        into.size_by_product[product] = into.size_by_product.get(product, Decimal(0)) + size
    into.bad_sizes += other.bad_sizes


def _blank_customer(report: ReportRows) -> DataError:
    return DataError(f"{report.where}: line {report.line} has no customer name; nothing from the report is billed")


def _no_rows(report: ReportRows) -> DataError:
    return DataError(f"{report.where}: the report has a header but no rows where rows were expected; nothing is billed")


def tally_report(report: ReportRows, rules: BillingRules) -> ReportTally:
    """Counts of one report."""
    return ReportTally(rules).add(report)
