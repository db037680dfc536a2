"""The Total Backup 365 billing rule: distinct billable objects per customer and month, exclusions, backed-up size.

Billed users of a customer = the number of distinct Object Name values (or the configured key column) among rows
whose Object Type Backed Up is one of the billable types, as the vendor's own Excel recipe counts them: types and
names are compared ignoring case and surrounding spaces (Excel's Remove Duplicates ignores case too), and distinct
is per customer, so one name under two customers is two users. Objects of other types and objects the MSP excludes
by name pattern are not counted, but are kept, with the reason, for the explanation. A customer is known by its
name ignoring case, Unicode form and runs of whitespace (`counts.customer_key`), since that is how the engine finds
it: its rows under every such spelling are one customer's.

The running totals and the per-customer result live in `providers.altaro.counts` (re-exported here).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.errors import DataError
from providers.altaro.cells import Added, Cells
from providers.altaro.counts import (
    EXCLUDED_SAMPLE,
    SAMPLE_SIZE,
    CustomerCount,
    Group,
    customer_key,
    merge_groups,
    parse_month,
    remapped,
)
from providers.altaro.parser import ReportRows
from providers.altaro.settings import DEFAULT_BILLABLE_TYPES, AltaroExclusion, AltaroSettings

__all__ = [
    "EXCLUDED_SAMPLE",
    "SAMPLE_SIZE",
    "BillingRules",
    "CustomerCount",
    "ReportTally",
    "parse_month",
    "tally_report",
]


@dataclass(frozen=True)
class _Exclusion:
    customer: re.Pattern[str]
    pattern: re.Pattern[str]
    reason: str


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern.strip().casefold()))


def _customer_glob(pattern: str) -> re.Pattern[str]:
    # Matched against `customer_key`, so an exclusion applies to every spelling of its customer.
    return re.compile(fnmatch.translate(customer_key(pattern)))


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
            exclusions=tuple(_Exclusion(_customer_glob(e.customer), _glob(e.pattern), e.reason) for e in exclusions),
            type_names=names,
        )

    def exclusions_for(self, customer: str) -> tuple[tuple[re.Pattern[str], str], ...]:
        wanted = customer_key(customer)
        return tuple((e.pattern, e.reason) for e in self.exclusions if e.customer.match(wanted))


# Fingerprints of the rows counted, per customer (`customer_key`), Month cell and Customer ID; each maps to the
# size its row added with its product (`cells.Added`: a shared tuple, so keeping it costs no memory), or None.
Fingerprints = dict[tuple[str, str, str], dict[int, Added | None]]
# What the tally's loop holds in locals for one group: Month and Customer ID cells, the group, its row fingerprints
# (this report's, earlier ones'), its users, exclusions, sizes by product (`cells.Size` values while the loop runs)
# and customer key.
_Slot = tuple[
    str,
    str,
    Group,
    dict[int, Added | None],
    Mapping[int, Added | None],
    dict[str, int],
    tuple[tuple[re.Pattern[str], str], ...],
    dict[str, Any],
    str,
]


def _skip_odd_row(report: ReportRows, row: list[str]) -> bool:
    """For a row whose field count is not the header's: skip a blank line, keep a row with only blank cells past
    the header, raise DataError on anything else (a truncated or malformed report)."""
    if not row:
        return True
    if len(row) < report.width or any(cell.strip() for cell in row[report.width :]):
        raise report.bad_row(row)
    del row[report.width :]  # so it is identical to the same row written without the empty cells
    return False


class ReportTally:
    """Counts accumulated from one or more reports (links); `customers()` gives the result per customer and month.

    A row identical to one counted before (every cell the same, the customer's name compared as `customer_key`; in
    this report, an earlier one, or `seen_before`: the rows of the tally this one will be merged into) is a
    duplicate: exports carry them, and overlapping links repeat rows. It counts once, and its customer's explanation
    says how many were ignored. Rows are told apart by a 64-bit hash of their cells, kept per customer, month and
    Customer ID: one set entry per row, where keeping the rows would hold the whole report, and small sets are
    faster to fill than one large one.
    """

    def __init__(
        self,
        rules: BillingRules,
        *,
        has_size: bool = False,
        seen_before: Fingerprints | None = None,
        sample_size: int = SAMPLE_SIZE,
    ) -> None:
        self.rules = rules
        self.sample_size = sample_size  # names of billed objects kept per customer for its explanation
        self.groups: dict[tuple[str, str, str], Group] = {}  # by Customer Name, Month and Customer ID cells
        self.products: dict[str, int] = {}  # product name -> its bit in the users' masks
        self.type_spellings: dict[str, str] = {}  # casefolded Object Type -> the spelling shown, the first seen
        self.rows = 0
        self.has_size = has_size
        self.fingerprints: Fingerprints = {}  # of the rows counted
        self._seen_before: Fingerprints = seen_before if seen_before is not None else {}
        self.blank_rows: set[int] = set()  # fingerprints of the rows without an object name

    def add(self, report: ReportRows, *, whole: bool = True) -> ReportTally:
        """Stream a report's rows into the counts. Raises DataError on a malformed row; then discard the tally.

        A `whole` report without rows is an error; a part of one (`providers.altaro.parts`) may have none."""
        self.has_size = self.has_size or report.columns.size_gb is not None
        groups: dict[tuple[str, str, str], Group] = {}
        rows = self._count(report, groups)
        if rows == 0 and whole:
            raise _no_rows(report)
        self._merge(groups, self.products, self.type_spellings)
        self.rows += rows
        return self

    # The per-row hot loop, benchmarked on a 1,000,000-row report (benchmarks/altaro_users.py). It stays one loop
    # over local variables because a call or an attribute lookup per row costs more than the counting itself. What
    # does not happen on every row (a new customer or month, a new user, a new type, product, name or size spelling, an
    # excluded name, a size that is not a plausible size, a row of the wrong width) is handled outside it.
    def _count(self, report: ReportRows, groups: dict[tuple[str, str, str], Group]) -> int:
        """Count a report's rows into `groups` (customer, Month and ID cells -> totals); returns the rows counted."""
        cols = report.columns
        ci, ti, ni, ki, pi, si = cols.customer, cols.object_type, cols.object_name, cols.key, cols.product, cols.size_gb
        # An absent Month or Customer ID column reads the customer cell again: one group key for every report
        # shape, with no test per row (`_group` knows the column is absent).
        mi, ii = (ci if index is None else index for index in (cols.month, cols.customer_id))
        width = report.width
        cells = Cells(self.rules.billable_types, self.products, groups.values(), self.type_spellings)
        types, products, keys = cells.types, cells.products, cells.keys
        blanks = self.blank_rows
        # Each customer cell's last group and its containers: a row of another customer than the previous one
        # (reports in random order) costs one string-keyed lookup and two compares, no tuple and no call.
        slots: dict[str, _Slot] = {}
        for row in report:
            if len(row) != width and _skip_odd_row(report, row):
                continue
            slot = slots.get(row[ci])
            if slot is None or slot[0] != row[mi] or slot[1] != row[ii]:
                slot = self._slot(slots, groups, report, (row[ci], row[mi], row[ii]))
            _, _, group, seen, before, users, exclusions, sizes, name_key = slot
            group.rows += 1
            # The customer as the engine knows it: a row repeated under another spelling of its name is a duplicate.
            row[ci] = name_key
            fingerprint = hash(tuple(row))
            if fingerprint in seen or (before and fingerprint in before):  # before: usually empty
                group.duplicates += 1
                continue
            product, bit, known_sizes = products[row[pi] if pi is not None else ""]
            if exclusions and group.exclude(row[ni], row[ki]):
                seen[fingerprint] = None
                continue  # neither a user nor storage the MSP charges for
            billable, shown_kind = types[row[ti]]
            key = keys[row[ki]]
            if not key:
                group.blank += 1
                blanks.add(fingerprint)
            elif billable:
                mask = users.get(key)
                if mask is None:
                    group.new_user(key, bit, row[ni])
                else:
                    users[key] = mask | bit  # a store costs what a test would: one branch fewer
            else:
                group.not_users[shown_kind].add(key)
            size = None
            if si is not None and (cell := row[si]):
                # Sizes are remembered as tuples: a zero is falsy, so "0.00" would be parsed on every row.
                size = known_sizes.get(cell) or cells.size_of(cell, product, known_sizes, group, report)
                sizes[product] = sizes.get(product, 0) + size[0]
            seen[fingerprint] = size
        cells.finish()
        return sum(group.rows for group in groups.values())

    def _group(
        self, groups: dict[tuple[str, str, str], Group], report: ReportRows, cells: tuple[str, str, str]
    ) -> Group:
        """The group of a Customer Name, Month and Customer ID (as written in the report), made on its first row."""
        group = groups.get(cells)
        if group is None:
            customer, month, customer_id = cells
            if report.columns.month is None:
                month = ""
            if report.columns.customer_id is None:
                customer_id = ""
            name = customer.strip()
            if not name:
                raise _blank_customer(report)
            group = groups[cells] = Group(
                customer=name,
                customer_id=customer_id.strip(),
                month=month.strip(),
                exclusions=self.rules.exclusions_for(name),
                key=customer_key(name),
                sample_size=self.sample_size,
            )
        return group

    def _slot(
        self,
        slots: dict[str, _Slot],
        groups: dict[tuple[str, str, str], Group],
        report: ReportRows,
        cells: tuple[str, str, str],
    ) -> _Slot:
        """The group of a row's Customer Name, Month and Customer ID cells, with what the loop keeps in locals:
        the customer's last one when the Month and ID match, else looked up (made on its first row)."""
        slot = slots.get(cells[0])
        if slot is None or slot[0] != cells[1] or slot[1] != cells[2]:
            group = self._group(groups, report, cells)
            seen, before = self._fingerprints(group)
            slot = slots[cells[0]] = (
                *cells[1:],
                group,
                seen,
                before,
                group.users,
                group.exclusions,
                group.size_by_product,
                group.key,
            )
        return slot

    def _fingerprints(self, group: Group) -> tuple[dict[int, Any], Mapping[int, Any]]:
        """The fingerprints of the rows counted for a group's customer, month and ID, and of those counted before."""
        identity = (group.key, group.month, group.customer_id)
        return self.fingerprints.setdefault(identity, {}), self._seen_before.get(identity) or {}

    def _merge(
        self, groups: dict[tuple[str, str, str], Group], products: dict[str, int], spellings: dict[str, str]
    ) -> None:
        """Take groups counted with their own product bits and type spellings (another link's, another part's)."""
        remap = {1 << bit: self._product_bit(name) for name, bit in products.items()}
        identity = all(old == new for old, new in remap.items())
        # A type is shown as first spelled in the tally: MAILBOX in a later link is the Mailbox already listed.
        shown = {kind: self.type_spellings.setdefault(folded, kind) for folded, kind in spellings.items()}
        for key, group in groups.items():
            if not identity:
                masks = {mask: remapped(mask, remap) for mask in set(group.users.values())}  # a few for all users
                group.users = {user: masks[mask] for user, mask in group.users.items()}
            if any(shown[kind] != kind for kind in group.not_users):
                not_users = group.not_users.copy()
                group.not_users.clear()
                for kind, objects in not_users.items():
                    group.not_users[shown[kind]].update(objects)
            mine = self.groups.get(key)
            if mine is None:
                self.groups[key] = group
            elif mine is not group:
                mine.absorb(group)

    def _product_bit(self, name: str) -> int:
        if name not in self.products:
            self.products[name] = len(self.products)
        return 1 << self.products[name]

    def merge(self, other: ReportTally) -> None:
        """Add another link's counts: a customer's users are distinct across links too."""
        self.has_size = self.has_size or other.has_size
        self.rows += other.rows
        for identity, rows in other.fingerprints.items():
            mine = self.fingerprints.setdefault(identity, rows)
            if mine is not rows:
                mine.update(rows)
        self._merge(other.groups, other.products, other.type_spellings)

    def customers(self, default_period: str) -> list[CustomerCount]:
        """Counts per customer (in any spelling; see `counts.merge_groups`) and month, sorted by name then month.

        Rows with an empty Month fall in `default_period` (the month of the observation).
        """
        names = sorted(self.products, key=self.products.__getitem__)
        merged = merge_groups(self.groups.values(), default_period)
        counts = [CustomerCount.of(m, names, has_size=self.has_size) for m in merged]
        return sorted(counts, key=lambda c: (c.customer.casefold(), c.customer, c.period_key))


def _blank_customer(report: ReportRows) -> DataError:
    return DataError(f"{report.where}: line {report.line} has no customer name; nothing from the report is billed")


def _no_rows(report: ReportRows) -> DataError:
    return DataError(f"{report.where}: the report has a header but no rows where rows were expected; nothing is billed")


def tally_report(report: ReportRows, rules: BillingRules) -> ReportTally:
    """Counts of one report."""
    return ReportTally(rules).add(report)
