"""The Total Backup 365 billing rule: distinct billable objects per customer and month, exclusions, backed-up size.

Billed users of a customer = the number of distinct Object Name values (or the configured key column) among rows
whose Object Type Backed Up is one of the billable types, as the vendor's own Excel recipe counts them: types and
names are compared ignoring case and surrounding spaces (Excel's Remove Duplicates ignores case too), and distinct
is per customer, so one name under two customers is two users. Objects of other types and objects the MSP excludes
by name pattern are not counted, but are kept, with the reason, for the explanation. A customer is known by its
name ignoring case, Unicode form and runs of whitespace (`counts.customer_key`), since that is how the engine finds
it: its rows under every such spelling are one customer's.

`ReportTally` applies it in one pass over the rows, in one process, the way the rule reads: the rows counted are
kept whole in a set (a row already in it is a duplicate), their recurring cells shared (`sys.intern`), each
customer's users in a dict of object key -> products (one shared frozenset per combination of products), sizes
summed as `Decimal`. The running totals and the per-customer result live in `providers.altaro.counts`
(re-exported here).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from sys import intern

from connector.core.errors import DataError
from providers.altaro.counts import SAMPLE_SIZE, CustomerCount, Group, customer_key, merge_groups, parse_month
from providers.altaro.parser import ReportRows
from providers.altaro.settings import DEFAULT_BILLABLE_TYPES, AltaroExclusion, AltaroSettings

__all__ = ["SAMPLE_SIZE", "BillingRules", "CustomerCount", "ReportTally", "parse_month"]


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


Row = tuple[str, ...]  # a row's cells, the customer's name as `customer_key`: what tells duplicate rows apart


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
    says how many were ignored. The rows counted are kept, whole, in `rows_seen`.
    """

    def __init__(
        self, rules: BillingRules, *, seen_before: set[Row] | None = None, sample_size: int = SAMPLE_SIZE
    ) -> None:
        self.rules = rules
        self.sample_size = sample_size  # names of billed objects kept per customer for its explanation
        self.groups: dict[tuple[str, str, str], Group] = {}  # by Customer Name, Month and Customer ID cells
        self.type_spellings: dict[str, str] = {}  # casefolded Object Type -> the spelling shown, the first seen
        self.rows = 0
        self.has_size = False
        self.rows_seen: set[Row] = set()
        self._seen_before: set[Row] = set() if seen_before is None else seen_before
        self._repeated: tuple[int, ...] = ()

    def add(self, report: ReportRows) -> ReportTally:
        """Count a report's rows, one at a time. Raises DataError on a malformed row (then discard the tally) or on
        a report without rows."""
        self.has_size = self.has_size or report.columns.size_gb is not None
        self._repeated = report.columns.repeated
        rows = 0
        for row in report:
            if len(row) != report.width and _skip_odd_row(report, row):
                continue
            rows += 1
            self._count(report, row)
        if rows == 0:
            raise DataError(
                f"{report.where}: the report has a header but no rows where rows were expected; nothing is billed"
            )
        self.rows += rows
        return self

    def _count(self, report: ReportRows, row: list[str]) -> None:
        """One row, as the rule in the module's docstring says."""
        columns = report.columns
        group = self._group(report, row)
        group.rows += 1
        row[columns.customer] = group.key  # a row repeated under another spelling of its customer is a duplicate
        for shared in self._repeated:
            # A cell whose value recurs over the rows (`ColumnIndex.repeated`) is kept once, not once per row: the
            # rows counted are kept whole, and those cells are most of their size (665 -> 252 MiB at 1M rows).
            row[shared] = intern(row[shared])
        cells = tuple(row)
        if cells in self.rows_seen or cells in self._seen_before:
            group.duplicates += 1
            return
        self.rows_seen.add(cells)
        if group.exclude(row[columns.object_name], row[columns.key]):
            return  # neither a user nor storage the MSP charges for
        product = "" if columns.product is None else row[columns.product].strip()
        kind = row[columns.object_type].strip()
        folded = kind.casefold()
        shown_kind = self.type_spellings.setdefault(folded, kind)  # MAILBOX and Mailbox: one type, one spelling
        key = row[columns.key].strip().casefold()
        if not key:
            group.blank += 1
        elif folded in self.rules.billable_types:
            group.add_user(key, product, row[columns.object_name])
        else:
            group.not_users[shown_kind].add(key)
        size = "" if columns.size_gb is None else row[columns.size_gb]
        if size and not group.add_size(size, product):
            group.bad_size(report.position, size)  # the customer then bills no size at all

    def _group(self, report: ReportRows, row: list[str]) -> Group:
        """The group of a row's Customer Name, Month and Customer ID cells (as written), made on its first row."""
        columns = report.columns
        month = "" if columns.month is None else row[columns.month]
        customer_id = "" if columns.customer_id is None else row[columns.customer_id]
        cells = (row[columns.customer], month, customer_id)
        group = self.groups.get(cells)
        if group is None:
            name = cells[0].strip()
            if not name:
                raise DataError(
                    f"{report.where}: line {report.line} has no customer name; nothing from the report is billed"
                )
            group = self.groups[cells] = Group(
                customer=name,
                customer_id=customer_id.strip(),
                month=month.strip(),
                exclusions=self.rules.exclusions_for(name),
                key=customer_key(name),
                sample_size=self.sample_size,
            )
        return group

    def merge(self, other: ReportTally) -> None:
        """Add another link's counts: a customer's users are distinct across links too."""
        self.has_size = self.has_size or other.has_size
        self.rows += other.rows
        self.rows_seen |= other.rows_seen
        for folded, kind in other.type_spellings.items():
            shown = self.type_spellings.setdefault(folded, kind)
            if shown != kind:  # a type is shown as first spelled in the tally: MAILBOX in a later link is Mailbox
                for group in other.groups.values():
                    if kind in group.not_users:
                        group.not_users[shown].update(group.not_users.pop(kind))
        for cells, group in other.groups.items():
            mine = self.groups.get(cells)
            if mine is None:
                self.groups[cells] = group
            else:
                mine.absorb(group)

    def customers(self, default_period: str) -> list[CustomerCount]:
        """Counts per customer (in any spelling; see `counts.merge_groups`) and month, sorted by name then month.

        Rows with an empty Month fall in `default_period` (the month of the observation).
        """
        merged = merge_groups(self.groups.values(), default_period)
        counts = [CustomerCount.of(m, has_size=self.has_size) for m in merged]
        return sorted(counts, key=lambda c: (c.customer.casefold(), c.customer, c.period_key))
