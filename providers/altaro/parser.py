"""Reading the itemised billing report (CSV or JSON) into rows of strings, with the columns found by header name.

CSV is streamed: rows come one at a time from a text stream (a line without quotes split at its commas, any other
through `csv.reader`), so memory does not grow with the number of rows. JSON is parsed whole (the link's payload is
held in memory and stored anyway) and accepted as an array of objects, or as an object holding such an array under
a key such as `items`, `data`, `rows`, `value`, `records` or `usageDetails` (any single key whose value is a list of
objects also works).

A body that is empty, lacks a required column, or ends mid-row raises `DataError`: a short report must never be
taken as a report of short usage. A complete CSV report ends with the line break after its last row (the console's
export, Excel and Python's csv module end every row with one, the last row too), so a body that stops anywhere else,
even exactly at a row's end, was cut. A complete JSON report is one whole JSON document.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from connector.core.errors import DataError
from providers.altaro.settings import AltaroColumns

ReportFormat = Literal["csv", "json"]
JSON_LIST_KEYS = ("items", "data", "rows", "value", "records", "usagedetails", "results")
BOM = "\ufeff"
# Reports can carry long free-text fields; the csv module's default cap (128 KiB) is a guard, not a real limit.
FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)


def normalise_header(name: str) -> str:
    """Header key for matching: no BOM, no case, no spaces or punctuation (`Object_Name` is `object name`)."""
    return re.sub(r"[\W_]+", "", name.replace(BOM, "").casefold())


@dataclass(frozen=True)
class ColumnIndex:
    """Where each column the rules need sits in a row; optional columns are None when the report lacks them."""

    header: tuple[str, ...]
    customer: int
    object_type: int
    object_name: int
    key: int
    customer_id: int | None
    product: int | None
    month: int | None
    size_gb: int | None

    @property
    def repeated(self) -> tuple[int, ...]:
        """The columns whose values repeat over a whole report's rows: Customer ID, Product, Month and Object Type
        take a few values, and an object's name recurs on the rows of each of its types (mailbox, OneDrive...)."""
        found = (self.customer_id, self.product, self.month, self.object_type, self.object_name)
        return tuple(index for index in dict.fromkeys(found) if index is not None)


def _find(header: list[str], wanted: str) -> int | None:
    """Index of a header, matching exactly-ignoring-case first, then by normalised spelling."""
    stripped = [h.replace(BOM, "").strip().casefold() for h in header]
    exact = [i for i, h in enumerate(stripped) if h == wanted.strip().casefold()]
    if exact:
        return exact[0]
    loose = [i for i, h in enumerate(header) if normalise_header(h) == normalise_header(wanted)]
    if len(loose) > 1:
        names = ", ".join(repr(header[i].strip()) for i in loose)
        raise DataError(f"column {wanted!r} is ambiguous: headers {names} all match it")
    return loose[0] if loose else None


def resolve_columns(
    header: list[str], columns: AltaroColumns, distinct_key_column: str | None = None, *, where: str = "report"
) -> ColumnIndex:
    """Find the columns by name; a missing required one is a DataError that lists what the report has."""
    required = {"customer": columns.customer, "object_type": columns.object_type, "object_name": columns.object_name}
    if distinct_key_column:
        required["key"] = distinct_key_column
    found = {field: index for field, name in required.items() if (index := _find(header, name)) is not None}
    missing = [name for field, name in required.items() if field not in found]
    if missing:
        shown = ", ".join(repr(h.replace(BOM, "").strip()) for h in header) or "none"
        raise DataError(
            f"{where}: required column(s) {', '.join(repr(m) for m in missing)} not found; columns found: {shown}. "
            "Map other header names under [altaro.columns] (or distinct_key_column)"
        )
    return ColumnIndex(
        header=tuple(h.replace(BOM, "").strip() for h in header),
        customer=found["customer"],
        object_type=found["object_type"],
        object_name=found["object_name"],
        key=found.get("key", found["object_name"]),
        customer_id=_find(header, columns.customer_id),
        product=_find(header, columns.product),
        month=_find(header, columns.month),
        size_gb=_find(header, columns.size_gb),
    )


class ReportRows:
    """The rows of one report as lists of strings in header order; iterate once.

    `line` is the physical line (CSV) or item number (JSON) of the row last yielded, for error messages.
    Each row has exactly `width` fields: a shorter one is a DataError, since the body was cut mid-row.
    """

    def __init__(
        self, where: str, columns: ColumnIndex, rows: Iterator[list[str]], lines: _Lines | None = None
    ) -> None:
        self.where = where
        self.columns = columns
        self.width = len(columns.header)
        self._rows = rows
        self._lines = lines
        self._item = 0

    @property
    def line(self) -> int:
        return self._lines.count if self._lines is not None else self._item

    @property
    def position(self) -> str:
        """Where the row last yielded is, for a message: `line 7` (CSV) or `item 7` (JSON)."""
        return f"line {self.line}" if self._lines is not None else f"item {self._item}"

    def __iter__(self) -> Iterator[list[str]]:
        return self._rows

    def bad_row(self, row: list[str]) -> DataError:
        if len(row) < self.width:
            return DataError(
                f"{self.where}: line {self.line} has {len(row)} of {self.width} fields: the report is truncated "
                "or malformed; nothing from it is billed"
            )
        return DataError(
            f"{self.where}: line {self.line} has {len(row)} fields, the header {self.width}: the report is "
            "malformed (an unquoted comma?); nothing from it is billed"
        )


class _Lines:
    """A text stream's physical lines, counting them and remembering how the first and the last one ended."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.first = ""
        self.last: str | None = None  # set once the stream is exhausted
        self.count = 0  # lines read so far: the line of the row last parsed

    def __iter__(self) -> Iterator[str]:
        lines = iter(self._stream)
        line = self.first = next(lines, "")
        if line:
            self.count = 1
            yield line
        # A bare loop: one generator step per line is all this costs on a million-row report.
        for self.count, line in enumerate(lines, start=2):
            yield line
        self.last = line

    def ends_complete(self) -> bool:
        """Whether the body ended with a line break: LF or CRLF, or a lone CR where the lines end so (old Macs)."""
        last = self.last or ""
        return last.endswith("\n") or (last.endswith("\r") and self.first.endswith("\r"))


class _Feed:
    """What the csv reader reads: a line handed to it (`next_line`), else the body's next line (a quoted field that
    runs over a line break takes the lines it needs)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.next_line: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line, self.next_line = self.next_line, None
        return next(self.lines) if line is None else line


def _cut_short(where: str, line: int) -> DataError:
    return DataError(
        f"{where}: line {line} ends without a line break: the report is truncated (a complete report ends with a "
        "line break after its last row); nothing from it is billed"
    )


def _one_quoted(line: str) -> list[str] | None:
    """The cells of a line whose only quotes enclose one whole field (`"Proseware, Inc.",...`, as exports quote a
    name with a comma), split as the csv module would; None for any other line."""
    cells = line.rstrip("\r\n")
    start = cells.find('"')
    end = cells.find('"', start + 1)
    after = end + 1
    if end < 0 or '"' in cells[after:] or (start and cells[start - 1] != ",") or cells[after : after + 1] not in ",":
        return None
    head = cells[: start - 1].split(",") if start else []
    tail = cells[after + 1 :].split(",") if after < len(cells) else []
    return [*head, cells[start + 1 : end], *tail]


def _csv_rows(lines: _Lines, physical: Iterator[str], feed: _Feed, reader: Any, where: str) -> Iterator[list[str]]:
    """The rows after the header. A line without a quote (and within the csv module's field limit) is split at its
    commas, which is all the csv module would do with it, at a fraction of the cost, and so is a line with one quoted
    field; any other line is parsed by the csv reader, with the lines its quoted fields run over
    (tests/altaro/test_altaro_split_lines.py)."""
    limit = FIELD_LIMIT  # a local: looked up on every line
    try:
        for line in physical:
            if '"' not in line and len(line) <= limit:
                cells = line.rstrip("\r\n")
                yield cells.split(",") if cells else []
            elif len(line) <= limit and (row := _one_quoted(line)) is not None:
                yield row
            else:
                feed.next_line = line
                yield next(reader)
        if not lines.ends_complete():
            raise _cut_short(where, lines.count)
    except csv.Error as error:
        raise DataError(
            f"{where}: line {lines.count}: {error} (an unterminated quote: the report is truncated); "
            "nothing from it is billed"
        ) from error
    except UnicodeDecodeError as error:
        raise DataError(f"{where}: near line {lines.count}: not UTF-8 text ({error.reason})") from error


def _only_line(reader: Any) -> bool:
    """Whether the header just read was the body's last line."""
    try:
        return next(reader, None) is None
    except (csv.Error, UnicodeDecodeError):
        return False


def read_csv(
    stream: TextIO, columns: AltaroColumns, distinct_key_column: str | None = None, *, where: str = "report"
) -> ReportRows:
    """Rows of a CSV report read from a text stream (opened with `newline=""`)."""
    # The stream's lines, counted, and the csv reader fed from them (`_csv_rows` hands it the lines it needs).
    lines = _Lines(stream)
    physical = iter(lines)
    feed = _Feed(physical)
    # strict: a quote left open at the end of the body is an error, not a field that silently runs to EOF.
    reader = csv.reader(feed, strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # blank lines before the header
    except csv.Error as error:
        raise DataError(f"{where}: header line: {error}") from error
    except UnicodeDecodeError as error:
        raise DataError(f"{where}: not UTF-8 text ({error.reason})") from error
    if header is None:
        raise DataError(f"{where}: the body is empty where a report with a header row was expected")
    try:
        index = resolve_columns(header, columns, distinct_key_column, where=where)
    except DataError:
        # A header cut short is missing columns because it was cut: say that.
        if _only_line(reader) and not lines.ends_complete():
            raise _cut_short(where, reader.line_num) from None
        raise
    return ReportRows(where, index, _csv_rows(lines, physical, feed, reader, where), lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _json_items(data: Any, where: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        by_key = {normalise_header(k): v for k, v in data.items()}
        for key in JSON_LIST_KEYS:
            if isinstance(by_key.get(key), list):
                return list(by_key[key])
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    raise DataError(
        f"{where}: JSON body is neither an array of rows nor an object with one (under items, data or rows)"
    )


def read_json(
    payload: bytes | str, columns: AltaroColumns, distinct_key_column: str | None = None, *, where: str = "report"
) -> ReportRows:
    """Rows of a JSON report; the header is every key seen, in order of first appearance."""
    try:
        text = payload.decode("utf-8-sig") if isinstance(payload, bytes) else payload.lstrip(BOM)
    except UnicodeDecodeError as error:
        raise DataError(f"{where}: not UTF-8 text ({error.reason}); nothing from it is billed") from error
    if not text.strip():
        raise DataError(f"{where}: the body is empty where a report was expected")
    try:
        # Numbers and NaN / Infinity stay the text the vendor wrote: the billing rule decides what a size may be,
        # and a 5,000-digit integer is refused there rather than raising in int().
        data = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except json.JSONDecodeError as error:
        raise DataError(
            f"{where}: JSON ends or breaks at line {error.lineno} column {error.colno} ({error.msg}): the report is "
            "truncated or malformed; nothing from it is billed"
        ) from error
    except RecursionError as error:
        raise DataError(f"{where}: JSON nested too deeply to be a report; nothing from it is billed") from error
    items = _json_items(data, where)
    keys: dict[str, None] = {}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DataError(f"{where}: item {number} is {type(item).__name__}, not an object")
        keys.update(dict.fromkeys(item))
    header = list(keys)
    if not items:
        raise DataError(f"{where}: the JSON report has no rows where rows were expected")
    index = resolve_columns(header, columns, distinct_key_column, where=where)
    rows = ReportRows(where, index, iter(()))

    def generate() -> Iterator[list[str]]:
        for number, item in enumerate(items, start=1):
            rows._item = number
            yield [_cell(item.get(k)) for k in header]

    rows._rows = generate()
    return rows


def sniff_format(head: bytes, content_type: str | None = None, declared: str = "auto") -> ReportFormat:
    """csv or json: as configured, else by Content-Type, else by the first non-blank character."""
    if declared in ("csv", "json"):
        return declared  # type: ignore[return-value]
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.endswith("json"):
        return "json"
    if kind in ("text/csv", "application/csv", "text/comma-separated-values"):
        return "csv"
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    return "json" if stripped[:1] in (b"[", b"{") else "csv"


def read_payload(
    payload: bytes,
    columns: AltaroColumns,
    distinct_key_column: str | None = None,
    *,
    content_type: str | None = None,
    declared: str = "auto",
    where: str = "report",
) -> ReportRows:
    if sniff_format(payload[:64], content_type, declared) == "json":
        return read_json(payload, columns, distinct_key_column, where=where)
    # Decoded lazily; "utf-8-sig": with or without a byte-order mark.
    stream = io.TextIOWrapper(io.BytesIO(payload), encoding="utf-8-sig", newline="")
    return read_csv(stream, columns, distinct_key_column, where=where)


def report_format(path: Path) -> ReportFormat:
    """A report file's format: JSON by its suffix or first bytes, else CSV (raises OSError when unreadable)."""
    with path.open("rb") as probe:
        head = probe.read(64)
    return "json" if path.suffix.lower() == ".json" else sniff_format(head)
