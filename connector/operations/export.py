"""What was billed for one period, per customer, for the finance person: read from the store, written as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from connector.core.errors import ParameterError
from connector.core.redact import redact
from connector.store import Store
from connector.store.database import masked
from connector.sync import corrections
from mappings.billing import price
from mappings.lines import LineStatus, StoredLine
from mappings.periods import parse_period_key

# How many months of observed usage each customer's chart shows, ending with the exported period's last month.
CHART_MONTHS = 6

COLUMNS = (
    "psa_customer", "contract", "period", "metric", "quantity", "unit", "rate", "amount", "by_hand", "outcome", "why",
    "source", "vendor_customer", "rule",
)  # fmt: skip
# A spreadsheet runs a cell starting with one of these as a formula: a vendor name must never become one.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The statuses whose row is said without the line's history; the others (discarded, corrected) read it.
_SAID_WITHOUT_HISTORY = (LineStatus.PUSHED, LineStatus.PENDING, LineStatus.FAILED, LineStatus.HELD)


@dataclass(frozen=True)
class ExportLine:
    """One line of the outbox as finance reads it: what, how much, where it stands and why.

    `quantity` and `amount` are what goes through the PSA: the quantity pushed once a push landed (a later change
    that was never pushed, such as a correction, does not rewrite it), else the quantity computed and waiting.
    `by_hand` is what a person billed outside the PSA: a correction they closed.
    """

    psa_customer: str
    contract: str
    period: str
    metric: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal
    by_hand: Decimal
    outcome: str
    why: str
    source: str
    vendor_customer: str
    rule: str


@dataclass(frozen=True)
class Series:
    """One metric's usage per month for a customer: the peak observed in each month, None where nothing was."""

    metric: str
    unit: str
    source: str
    vendor_customer: str
    points: list[tuple[str, Decimal | None]]


@dataclass
class CustomerExport:
    psa_customer: str
    lines: list[ExportLine] = field(default_factory=list)
    usage: list[Series] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """What the customer's lines bill through the PSA (a line discarded before any push bills nothing there)."""
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def by_hand_total(self) -> Decimal:
        """What was billed by hand for the customer: the corrections closed."""
        return sum((line.by_hand for line in self.lines), Decimal(0))


@dataclass
class Export:
    period: str
    generated_at: datetime
    months: list[str]
    customers: list[CustomerExport]

    @property
    def lines(self) -> list[ExportLine]:
        return [line for customer in self.customers for line in customer.lines]

    @property
    def total(self) -> Decimal:
        return sum((customer.total for customer in self.customers), Decimal(0))

    @property
    def by_hand_total(self) -> Decimal:
        return sum((customer.by_hand_total for customer in self.customers), Decimal(0))


# What the export reads of a line's inputs (where its usage was measured, and the rule): not its explanation.
_INPUTS = ("source", "vendor_customer", "product", "rule")
# SQLite's NOCASE, which the observations' lookup by vendor customer uses: ASCII letters folded, nothing else.
_NOCASE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
SeriesKey = tuple[str | None, str, str | None, str | None]


def build_export(store: Store, period_key: str, generated_at: datetime, months: int = CHART_MONTHS) -> Export:
    """Every line of the period in the outbox, grouped by PSA customer, with each line's usage over the months."""
    try:
        period = parse_period_key(period_key)
    except ValueError as error:
        raise ParameterError(str(error), param="--period") from None
    stored = store.outbox.of_period(period_key, inputs=_INPUTS)
    if not stored:
        known = store.outbox.periods()
        have = f"periods in the store: {', '.join(known)}" if known else "the store has no line yet: run a sync first"
        raise ParameterError(f"no line of period {period_key} in the store ({have})", param="--period")
    window = month_window(period.end, months)
    # The histories of the lines whose row reads them, and the period's observations, each in a few queries: a large
    # MSP's period holds thousands of lines.
    histories = store.outbox.histories([s.id for s in stored if s.status not in _SAID_WITHOUT_HISTORY])
    peaks = monthly_peaks(store, stored, window)
    # Each series' key as the store keeps it, each distinct text masked once.
    mask = cache(masked)
    grouped: dict[str, CustomerExport] = {}
    for item in sorted(stored, key=lambda s: (s.line.psa_customer.casefold(), s.line.contract, s.line.metric)):
        customer = grouped.setdefault(item.line.psa_customer, CustomerExport(item.line.psa_customer))
        customer.lines.append(export_line(item, histories.get(item.id, [])))
        series = usage_series(item, window, peaks, mask)
        if series is not None and series not in customer.usage:
            customer.usage.append(series)
    return Export(period_key, generated_at, window, list(grouped.values()))


def month_window(last_day: date, months: int) -> list[str]:
    """The `months` month keys (YYYY-MM) ending with the month of `last_day`, oldest first."""
    year, month = last_day.year, last_day.month
    keys = []
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def _why(stored: StoredLine, history: list[dict[str, Any]]) -> str:
    """Where the line stands, in words a person acts on."""
    status = stored.status
    if status is LineStatus.PUSHED:
        return f"in the PSA ({stored.psa_ref})" if stored.psa_ref else "in the PSA"
    if status is LineStatus.PENDING:
        return "computed, waiting to be pushed by the next sync"
    if status is LineStatus.FAILED:
        return f"push failed, tried again by the next sync: {stored.last_error or 'no cause recorded'}"
    if status is LineStatus.HELD:
        return f"held for review (connector review, then approve or discard): {stored.hold_reason or ''}".rstrip(": ")
    notes = [entry["note"] for entry in history]
    return notes[-1] if notes else str(status)


def _by_hand(stored: StoredLine, history: list[dict[str, Any]]) -> Decimal:
    """What a person billed by hand for the line: a correction they closed (the usage now, less what was invoiced)."""
    if stored.status is not LineStatus.DISCARDED:
        return Decimal(0)
    was_correction = any(entry["status"] == LineStatus.CORRECTION for entry in history)
    return corrections.to_bill(stored.line, corrections.invoiced_quantity(stored)) if was_correction else Decimal(0)


def export_line(stored: StoredLine, history: list[dict[str, Any]]) -> ExportLine:
    """The line as finance reads it; `history` is the line's (read for the lines `_why` and `_by_hand` read it of)."""
    line, inputs = stored.line, stored.line.inputs
    discarded = stored.status is LineStatus.DISCARDED
    # What the PSA bills: the quantity pushed, else (never pushed) the one computed, unless a person discarded it.
    quantity = stored.pushed_quantity
    if quantity is None:
        quantity = Decimal(0) if discarded else line.quantity
    by_hand = _by_hand(stored, history)
    why = _why(stored, history)
    if (quantity != line.quantity and not discarded) or by_hand:
        why = f"{why} (usage now {line.quantity} {line.unit}" + (f"; {by_hand:+} billed by hand)" if by_hand else ")")
    return ExportLine(
        psa_customer=line.psa_customer,
        contract=line.contract,
        period=line.period_key,
        metric=line.metric,
        quantity=quantity,
        unit=line.unit,
        rate=line.rate,
        # The one money function, on the stored quantity and rate: the export cannot disagree with the bill.
        amount=price(quantity, line.rate),
        by_hand=by_hand,
        outcome=str(stored.status),
        why=why,
        source=str(inputs.get("source", "")),
        vendor_customer=str(inputs.get("vendor_customer", "")),
        rule=str(inputs.get("rule", "")),
    )


def _measured(stored: StoredLine) -> tuple[str, str, str] | None:
    """Where the line's usage was measured (source, vendor customer, product; "" for every product's total), or
    None when the line does not say."""
    inputs = stored.line.inputs
    source, vendor_customer = inputs.get("source"), inputs.get("vendor_customer")
    if not isinstance(source, str) or not isinstance(vendor_customer, str):
        return None
    product = inputs.get("product")
    return source, vendor_customer, "" if product in (None, "", "all") else str(product)


def monthly_peaks(store: Store, stored: Iterable[StoredLine], window: list[str]) -> dict[SeriesKey, dict[str, Decimal]]:
    """The peak observed in each month of `window` for every series the lines were measured from, read in one
    query (the observations of the lines' sources, metrics and products in those months), by series as
    `Observations.query` finds one: its keys masked as stored, the vendor customer compared as SQLite's NOCASE
    compares it (ASCII letters folded)."""
    series = sorted({(where[0], s.line.metric, where[2]) for s in stored if (where := _measured(s)) is not None})
    peaks: dict[SeriesKey, dict[str, Decimal]] = {}
    for row in store.observations.quantities(series, window):
        month, quantity = row["period_key"][:7], Decimal(row["quantity"])
        key = (row["source"], row["vendor_customer"].translate(_NOCASE), row["metric"], row["product"])
        found = peaks.setdefault(key, {})
        # As the series' observations are read in order: an equal later figure takes the place of an earlier one.
        found[month] = max(quantity, found.get(month, quantity))
    return peaks


def usage_series(
    stored: StoredLine,
    window: list[str],
    peaks: dict[SeriesKey, dict[str, Decimal]],
    mask: Callable[[str], str | None],
) -> Series | None:
    """The peak observed in each month for the line's vendor customer, metric and product (the observations of
    product "" hold every product's total), or None when the line does not say where its usage came from."""
    measured = _measured(stored)
    if measured is None:
        return None
    source, vendor_customer, product = measured
    key = (mask(source), (mask(vendor_customer) or "").translate(_NOCASE), mask(stored.line.metric), mask(product))
    found = peaks.get(key, {})
    points = [(month, found.get(month)) for month in window]
    return Series(stored.line.metric, stored.line.unit, source, vendor_customer, points)


def to_csv(export: Export) -> str:
    """One row per line, grouped by customer; text cells a spreadsheet would run as a formula are quoted with '.

    Every value is exact text: money and quantities as decimals, never floats; every other value through `redact`
    (each distinct text redacted once: an export repeats the same names, units and outcomes thousands of times)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    numbers = {"quantity", "rate", "amount", "by_hand"}  # a negative figure is a number, not a formula
    clean = cache(redact)
    for line in export.lines:
        row = {name: _text(getattr(line, name), clean) for name in COLUMNS}
        writer.writerow(
            {k: v if k in numbers or not v.startswith(_FORMULA_STARTS) else f"'{v}" for k, v in row.items()}
        )
    return buffer.getvalue()


def _text(value: Any, clean: Callable[[str], str]) -> str:
    return format(value, "f") if isinstance(value, Decimal) else clean(str(value))
