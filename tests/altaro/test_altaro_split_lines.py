"""The CSV reader splits a line without quotes at its commas instead of handing it to the csv module (issue 14):
for any body, well formed or not, it yields exactly the rows the csv module yields, and fails exactly where the csv
module fails (an unterminated quote, a stray one) or where the body is cut (no final line break)."""

from __future__ import annotations

import csv
import io

from hypothesis import example, given, settings
from hypothesis import strategies as st

from connector.core.errors import DataError
from providers.altaro.parser import read_csv
from providers.altaro.settings import AltaroSettings

COLUMNS = AltaroSettings().columns
HEADER = "Customer Name,Object Type Backed Up,Object Name\r\n"
# Every character the two ways of reading treat differently, and a few they treat alike.
RAW = st.text(alphabet='a,"\r\n \x00é\t', max_size=80)
CELL = st.text(alphabet='ab,"\r\n \x00é', max_size=8)
QUOTING = st.sampled_from(["minimal", "all"])
TERMINATOR = st.sampled_from(["\r\n", "\n", "\r"])


def ours(body: str) -> tuple[list[list[str]], bool, int | None]:
    """The rows read_csv yields, whether it then failed, and the line it names (of the row last read)."""
    rows: list[list[str]] = []
    report = read_csv(io.StringIO(body, newline=""), COLUMNS)
    try:
        for row in report:
            rows.append(list(row))
    except DataError:
        return rows, True, report.line
    return rows, False, report.line


def theirs(body: str) -> tuple[list[list[str]], bool, int | None]:
    """The same with the csv module alone, and the rule that a complete body ends with a line break."""
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(body, newline=""), strict=True)
    next(reader)
    try:
        rows.extend(reader)
    except csv.Error:
        return rows, True, reader.line_num
    lines = io.StringIO(body, newline="").readlines()
    last = lines[-1]
    complete = last.endswith("\n") or (last.endswith("\r") and lines[0].endswith("\r"))
    return rows, not complete, reader.line_num


@settings(max_examples=400, deadline=None)
@given(raw=RAW)
@example(raw='a,"b\r\nc",d\r\n')
@example(raw='a,b"c,d\r\n"e\r\n')
@example(raw="\r\n\r\na,b\r")
@example(raw='a,"b')
def test_property_any_body_reads_as_the_csv_module_reads_it(raw: str) -> None:
    assert ours(HEADER + raw) == theirs(HEADER + raw)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=6), quoting=QUOTING, end=TERMINATOR)
def test_property_written_reports_read_back_as_written(rows: list[list[str]], quoting: str, end: str) -> None:
    out = io.StringIO(newline="")
    if quoting == "all":
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=end).writerows(rows)
    else:
        csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator=end).writerows(rows)
    body = HEADER.replace("\r\n", end) + out.getvalue()
    assert ours(body) == theirs(body)
