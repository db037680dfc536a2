"""Properties of the report reader and the billing rule (issue 9): a cut body, name variants, duplicated rows.

Each property runs enough examples to find, on the code before the fix, the defect it guards against (rows 1, 2
and 7 of the issue); the examples are small so the whole file takes a few seconds.
"""

from __future__ import annotations

import csv
import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.core.errors import DataError
from providers.altaro.parser import read_payload
from providers.altaro.rules import BillingRules, ReportTally
from providers.altaro.sandbox import HEADER
from providers.altaro.settings import AltaroSettings

DEFAULT = AltaroSettings()
RULES = BillingRules.from_settings(DEFAULT)

NAMES = st.sampled_from(["Jane Doe", "jane doe", " Jane Doe ", "Ann, Smith", 'Bob "B" Jones', "Line\nBreak", "Zoë"])
TYPES = st.sampled_from(["Mailbox", "MAILBOX", " onedrive ", "N/A", "User Teams Chats", "SharePoint", "Teams"])
CUSTOMERS = st.sampled_from(["Contoso", "Fabrikam, Inc", "Näher GmbH"])
SIZES = st.sampled_from(["1.00", "0.25", "12.5", "", "3"])
ROWS = st.lists(st.tuples(CUSTOMERS, TYPES, NAMES, SIZES), min_size=1, max_size=12)


def table(rows: list[tuple[str, str, str, str]]) -> list[list[str]]:
    return [[customer, "", "365 Total Backup", "2026-11", kind, name, size] for customer, kind, name, size in rows]


def csv_body(rows: list[list[str]], line_end: str = "\r\n", bom: bool = False) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def json_body(rows: list[list[str]]) -> bytes:
    return json.dumps({"items": [dict(zip(HEADER, row, strict=True)) for row in rows]}).encode()


def tally(body: bytes) -> dict[str, tuple[int, object]]:
    """Billed users and GB per customer name as reported."""
    rows = read_payload(body, DEFAULT.columns, content_type=None)
    found = ReportTally(RULES).add(rows).customers("2026-11")
    return {c.customer: (c.billed_users, c.backup_gb) for c in found}


# -- row 1: a cut body -----------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    rows=ROWS,
    fmt=st.sampled_from(["csv", "csv-lf", "csv-bom", "json"]),
    from_end=st.integers(min_value=1, max_value=10_000),
)
def test_property_a_cut_body_is_rejected_or_holds_only_whole_rows(
    rows: list[tuple[str, str, str, str]], fmt: str, from_end: int
) -> None:
    full = table(rows)
    line_end, bom = ("\n" if fmt == "csv-lf" else "\r\n"), fmt == "csv-bom"

    def render(kept: list[list[str]]) -> bytes:
        return json_body(kept) if fmt == "json" else csv_body(kept, line_end, bom)

    body = render(full)
    cut = body[: max(0, len(body) - from_end)]
    try:
        tally(cut)
    except DataError:
        return
    # Accepted: what is left must be a complete report of the first rows (a cut at a row's line break cannot be told
    # from a report made shorter), so every count is the count of whole rows, never of a row cut in half.
    assert any(cut == render(full[:kept]) for kept in range(1, len(full))), cut[-40:]


# -- row 2: one customer spelled several ways -------------------------------------------------------------------------

RESPELL = st.sampled_from(
    [
        lambda name: name,
        str.upper,
        str.lower,
        str.swapcase,
        lambda name: f"  {name} ",
        lambda name: name.replace(" ", "  "),
        lambda name: name.replace(" ", "\u00a0"),
        lambda name: name.replace(" ", "\t").upper(),
    ]
)


def loose(name: str) -> str:
    return " ".join(name.casefold().split())


@settings(max_examples=100, deadline=None)
@given(rows=ROWS, data=st.data())
def test_property_case_and_whitespace_variants_never_lower_a_count(
    rows: list[tuple[str, str, str, str]], data: st.DataObject
) -> None:
    original = tally(csv_body(table(rows)))
    respelled = [(data.draw(RESPELL)(customer), *rest) for customer, *rest in rows]
    found = tally(csv_body(table(respelled)))  # type: ignore[arg-type]
    for customer, (users, gb) in original.items():
        # The engine finds a customer by name ignoring case: one entry, or it would bill one spelling's share.
        matches = [counted for name, counted in found.items() if loose(name) == loose(customer)]
        assert len(matches) == 1, (customer, sorted(found))
        assert matches[0][0] >= users and matches[0] == (users, gb)


# -- row 7: duplicated rows -------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(rows=ROWS, data=st.data())
def test_property_duplicated_rows_never_raise_a_quantity(
    rows: list[tuple[str, str, str, str]], data: st.DataObject
) -> None:
    full = table(rows)
    copies = data.draw(st.lists(st.sampled_from(full), min_size=1, max_size=len(full) + 2))
    shuffled = data.draw(st.permutations([*full, *copies]))
    original, repeated = tally(csv_body(full)), tally(csv_body(shuffled))
    assert {loose(name): counted for name, counted in repeated.items()} == {
        loose(name): counted for name, counted in original.items()
    }
