"""The billing rule and the report reader on reports of many shapes, against counts computed independently."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.core.errors import DataError
from providers.altaro.parser import read_payload, sniff_format
from providers.altaro.rules import BillingRules, CustomerCount, ReportTally, parse_month
from providers.altaro.sandbox import HEADER, generate_report_with_counts
from providers.altaro.settings import AltaroColumns, AltaroExclusion, AltaroSettings

DEFAULT = AltaroSettings()


def counts(body: bytes | str, altaro: AltaroSettings = DEFAULT, content_type: str | None = None) -> list[CustomerCount]:
    payload = body.encode("utf-8") if isinstance(body, str) else body
    rows = read_payload(payload, altaro.columns, altaro.distinct_key_column, content_type=content_type)
    return ReportTally(BillingRules.from_settings(altaro)).add(rows).customers("2026-12")


def billed(body: bytes | str, altaro: AltaroSettings = DEFAULT, content_type: str | None = None) -> dict[str, int]:
    return {c.customer: c.billed_users for c in counts(body, altaro, content_type)}


def csv_text(rows: list[list[str]], header: list[str] | tuple[str, ...] = HEADER, line_end: str = "\r\n") -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def reshape(
    text: str,
    *,
    order: list[int] | None = None,
    rename: dict[str, str] | None = None,
    extra: bool = False,
    line_end: str = "\r\n",
    bom: bool = False,
) -> str:
    """Rewrite a generated report: reorder columns, rename headers, add awkward extra columns, change line ends."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    order = order or list(range(len(header)))
    header = [(rename or {}).get(header[i], header[i]) for i in order]
    body = [[row[i] for i in order] for row in body]
    if extra:
        header = ["Tenant, domain", *header, "Notes"]
        body = [[f"t{n}.example, Inc", *row, f'line one\nline "two", three{n}'] for n, row in enumerate(body)]
    return ("\ufeff" if bom else "") + csv_text(body, header, line_end)


@pytest.mark.parametrize(
    "shape",
    [
        {},
        {"line_end": "\n"},
        {"bom": True},
        {"extra": True},
        {"order": [5, 4, 3, 2, 1, 0, 6]},
        {
            "rename": {
                "Customer Name": "  customer name ",
                "Object Name": "OBJECT NAME",
                "Object Type Backed Up": "object_type_backed_up",
            }
        },
        {
            "rename": {"Object Type Backed Up": "ObjectTypeBackedUp", "Backed Up Size (GB)": "Backed up size GB"},
            "bom": True,
            "extra": True,
            "line_end": "\n",
        },
    ],
    ids=["crlf", "lf", "bom", "extra-columns-quoted-commas-newlines", "reordered", "header-spellings", "everything"],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_generated_reports_of_many_shapes_bill_the_vendors_count(shape: dict[str, object], seed: int) -> None:
    text, expected = generate_report_with_counts(customers=6, users_per_customer=25, seed=seed)
    assert billed(reshape(text, **shape)) == expected.billed_users  # type: ignore[arg-type]


def test_generated_reports_include_the_awkward_cases() -> None:
    text, expected = generate_report_with_counts(customers=5, users_per_customer=30, seed=4)
    assert "Smith, Jones & Partners" in text and '"The ""Corner"" Bakery 0005"' in text
    assert " mailbox " in text or "MAILBOX" in text
    assert "SharePoint" in text
    assert expected.rows == text.count("\r\n") - 1


@pytest.mark.parametrize("content_type", [None, "application/json"])
@pytest.mark.parametrize("wrap", ["array", "items", "data", "rows"])
def test_json_bodies(wrap: str, content_type: str | None) -> None:
    text, expected = generate_report_with_counts(customers=3, users_per_customer=15, seed=9, fmt="json")
    items = json.loads(text)["items"]
    body = json.dumps(items if wrap == "array" else {"total": len(items), wrap: items})
    assert billed(body, content_type=content_type) == expected.billed_users


def test_json_numbers_and_nulls() -> None:
    body = json.dumps(
        [
            {"Customer Name": "A", "Object Type Backed Up": "Mailbox", "Object Name": "x", "Backed Up Size (GB)": 1.25},
            {
                "Customer Name": "A",
                "Object Type Backed Up": "Mailbox",
                "Object Name": None,
                "Backed Up Size (GB)": None,
            },
        ]
    )
    [count] = counts(body)
    assert count.billed_users == 1 and count.blank == 1 and count.backup_gb == Decimal("1.25")


def row(
    customer: str, kind: str, name: str, product: str = "365 Total Backup", size: str = "1.00", month: str = "2026-11"
) -> list[str]:
    return [customer, f"id-{customer}", product, month, kind, name, size]


def test_same_name_in_two_customers_is_two_users_and_twice_in_one_is_one() -> None:
    text = csv_text(
        [
            row("Contoso", "Mailbox", "Jane Doe"),
            row("Contoso", "OneDrive", "Jane Doe"),
            row("Contoso", "User Teams Chats", " jane doe "),
            row("Fabrikam", "Mailbox", "Jane Doe"),
        ]
    )
    assert billed(text) == {"Contoso": 1, "Fabrikam": 1}


def test_only_billable_types_count_ignoring_case_and_spaces() -> None:
    text = csv_text(
        [
            row("C", "  MAILBOX ", "a"),
            row("C", "n/a", "b"),
            row("C", "onedrive", "c"),
            row("C", "User Teams Chats", "d"),
            row("C", "SharePoint", "e"),
            row("C", "Teams", "a site named like a user"),
            row("C", "Group Mailbox", "f"),
            row("C", "User Teams", "g"),
            row("C", "SHAREPOINT", "h"),
        ]
    )
    [count] = counts(text)
    assert count.billed_users == 4
    reasons = {item["reason"]: item["objects"] for item in count.exclusion_summary()}
    assert {item["label"] for item in count.exclusion_summary()} == {
        "Group Mailbox",
        "SharePoint",
        "Teams",
        "User Teams",
    }
    assert reasons == {
        "object type 'Group Mailbox' is not a billed user type": 1,
        "object type 'SharePoint' is not a billed user type": 2,
        "object type 'Teams' is not a billed user type": 1,
        "object type 'User Teams' is not a billed user type": 1,
    }


def test_configured_types_replace_the_default() -> None:
    text = csv_text([row("C", "Mailbox", "a"), row("C", "SharePoint", "s")])
    assert billed(text, AltaroSettings(billable_object_types=[" sharepoint "])) == {"C": 1}
    assert counts(text, AltaroSettings(billable_object_types=["SharePoint"]))[0].sample == ["s"]


def test_exclusions_by_customer_and_pattern_are_reported_with_reasons() -> None:
    altaro = AltaroSettings(
        exclusions=[
            AltaroExclusion(pattern="test-*", reason="test mailboxes"),
            AltaroExclusion(customer="contoso*", pattern="shared-*", reason="shared mailboxes are free"),
        ]
    )
    text = csv_text(
        [
            row("Contoso Ltd", "Mailbox", "Jane"),
            row("Contoso Ltd", "Mailbox", "TEST-one"),
            row("Contoso Ltd", "Mailbox", "shared-reception"),
            row("Contoso Ltd", "OneDrive", "shared-reception", size="5"),
            row("Fabrikam", "Mailbox", "shared-reception"),
            row("Fabrikam", "Mailbox", "test-two"),
        ]
    )
    found = {c.customer: c for c in counts(text, altaro)}
    assert {name: c.billed_users for name, c in found.items()} == {"Contoso Ltd": 1, "Fabrikam": 1}
    contoso = found["Contoso Ltd"].exclusion_summary()
    assert {
        "reason": "shared mailboxes are free",
        "label": "shared mailboxes are free",
        "objects": 1,
        "sample": ["shared-reception"],
    } in contoso
    assert {"reason": "test mailboxes", "label": "test mailboxes", "objects": 1, "sample": ["TEST-one"]} in contoso
    assert found["Contoso Ltd"].backup_gb == Decimal("1.00")  # excluded objects' storage is not billed either
    assert found["Fabrikam"].sample == ["shared-reception"]


def test_a_configured_identifier_column_is_the_distinct_key() -> None:
    header = [*HEADER, "Object ID"]
    text = csv_text(
        [
            [*row("C", "Mailbox", "Jane Doe"), "u1"],
            [*row("C", "Mailbox", "Jane Doe"), "u2"],
            [*row("C", "OneDrive", "J. Doe"), "u1"],
        ],
        header,
    )
    assert billed(text) == {"C": 2}
    assert billed(text, AltaroSettings(distinct_key_column="object id")) == {"C": 2}
    assert billed(text.replace(",u2", ",u1"), AltaroSettings(distinct_key_column="Object ID")) == {"C": 1}


def test_user_configured_column_names() -> None:
    header = ["Tenant", "Service", "Kind", "Item", "GB"]
    text = csv_text([["T1", "P", "Mailbox", "a", "2.5"], ["T1", "P", "Mailbox", "b", "1"]], header)
    altaro = AltaroSettings(
        columns=AltaroColumns(
            customer="tenant", product="service", object_type="kind", object_name="item", size_gb="gb"
        )
    )
    [count] = counts(text, altaro)
    assert count.billed_users == 2 and count.backup_gb == Decimal("3.5") and count.users_by_product == {"P": 2}


def test_size_per_customer_and_product_and_users_per_product() -> None:
    text = csv_text(
        [
            row("C", "Mailbox", "a", product="P1", size="1.10"),
            row("C", "OneDrive", "a", product="P1", size="2.20"),
            row("C", "Mailbox", "a", product="P2", size="0.05"),
            row("C", "SharePoint", "site", product="P2", size="10"),
            row("D", "Mailbox", "z", product="P1", size=""),
        ]
    )
    found = {c.customer: c for c in counts(text)}
    assert found["C"].size_by_product == {"P1": Decimal("3.30"), "P2": Decimal("10.05")}
    assert found["C"].backup_gb == Decimal("13.35")
    assert found["C"].users_by_product == {"P1": 1, "P2": 1} and found["C"].billed_users == 1
    assert found["D"].backup_gb == Decimal(0)


def test_no_size_column_means_no_size() -> None:
    header = [h for h in HEADER if "Size" not in h]
    [count] = counts(csv_text([row("C", "Mailbox", "a")[:6]], header))
    assert count.backup_gb is None


def test_a_size_that_is_not_a_number_is_a_customer_problem() -> None:
    [count] = counts(csv_text([row("C", "Mailbox", "a", size="lots")]))
    assert count.problems and "line 2" in count.problems[0] and "'lots'" in count.problems[0]


def test_months_split_the_counts_and_empty_month_is_the_observation_month() -> None:
    text = csv_text(
        [
            row("C", "Mailbox", "a", month="2026-10"),
            row("C", "Mailbox", "b", month="10/2026"),
            row("C", "Mailbox", "a", month="Nov 2026"),
            row("C", "Mailbox", "z", month=""),
        ]
    )
    assert [(c.period_key, c.billed_users) for c in counts(text)] == [("2026-10", 2), ("2026-11", 1), ("2026-12", 1)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10", "2026-10"),
        ("2026-10-01", "2026-10"),
        ("2026-10-01T00:00:00", "2026-10"),
        ("10/2026", "2026-10"),
        ("October 2026", "2026-10"),
        ("Oct-2026", "2026-10"),
        ("202610", "2026-10"),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_month(value: str, expected: str | None) -> None:
    assert parse_month(value) == expected


# -- unusable reports ---------------------------------------------------------------------------------------------


def test_a_missing_column_names_the_columns_found() -> None:
    text = csv_text([["C", "Mailbox", "x"]], ["Customer Name", "Type", "Object Name"])
    with pytest.raises(DataError) as caught:
        counts(text)
    message = str(caught.value)
    assert "'Object Type Backed Up'" in message and "columns found: 'Customer Name', 'Type', 'Object Name'" in message


def test_a_row_cut_short_is_an_error_with_its_line() -> None:
    text, _ = generate_report_with_counts(customers=2, users_per_customer=5, seed=1)
    lines = text.split("\r\n")
    cut = "\r\n".join(lines[:6]) + "\r\n" + lines[6].rsplit(",", 3)[0]
    with pytest.raises(DataError, match=r"line 7 has 4 of 7 fields: the report is truncated"):
        counts(cut)


def test_an_unterminated_quote_is_truncation() -> None:
    text = csv_text([row("C", "Mailbox", "a")]) + 'C,id,P,2026-11,Mailbox,"Jane, D'
    with pytest.raises(DataError, match=r"line 3: .*unterminated quote"):
        counts(text)


def test_a_row_with_too_many_fields_is_an_error_but_trailing_empty_cells_are_not() -> None:
    good = csv_text([row("C", "Mailbox", "a")]) + "C,id,P,2026-11,Mailbox,b,1,,\r\n"
    assert billed(good) == {"C": 2}
    with pytest.raises(DataError, match="line 3 has 8 fields, the header 7"):
        counts(csv_text([row("C", "Mailbox", "a")]) + "C,id,P,2026-11,Mailbox,b,c,1\r\n")


def test_blank_lines_are_skipped() -> None:
    assert billed("\r\n" + csv_text([row("C", "Mailbox", "a")]) + "\r\n\r\n") == {"C": 1}


@pytest.mark.parametrize("body", [b"", b"   \r\n", b"\xef\xbb\xbf"])
def test_an_empty_body_is_an_error(body: bytes) -> None:
    with pytest.raises(DataError, match="empty"):
        counts(body)


def test_a_header_without_rows_is_an_error() -> None:
    with pytest.raises(DataError, match="no rows where rows were expected"):
        counts(csv_text([]))


@pytest.mark.parametrize("body", ['[{"Customer Name": "C", "Object Type', "[]", '{"items": []}', '{"x": 1}', "[1, 2]"])
def test_unusable_json_is_an_error(body: str) -> None:
    with pytest.raises(DataError):
        counts(body, content_type="application/json")


def test_a_row_without_customer_is_an_error() -> None:
    with pytest.raises(DataError, match="line 3 has no customer name"):
        counts(csv_text([row("C", "Mailbox", "a"), row(" ", "Mailbox", "b")]))


def test_not_utf8_is_an_error() -> None:
    with pytest.raises(DataError, match="not UTF-8"):
        counts(csv_text([row("C", "Mailbox", "a")]).encode("utf-8") + b"C,i,P,2026-11,Mailbox,\xff\xfe,1\r\n")


def test_format_sniffing() -> None:
    assert sniff_format(b"\xef\xbb\xbf [", None) == "json"
    assert sniff_format(b"Customer Name,", "application/octet-stream") == "csv"
    assert sniff_format(b"[", "text/csv; charset=utf-8") == "csv"
    assert sniff_format(b"Customer", "application/json") == "json"
    assert sniff_format(b"{", None, declared="csv") == "csv"


# -- property: the rule on arbitrary small tables -------------------------------------------------------------------

NAMES = st.sampled_from(["Jane Doe", "jane doe", " Jane Doe ", "Ann, Smith", 'Bob "B" Jones', "Line\nBreak", "Zoë"])
TYPES = st.sampled_from(
    ["Mailbox", "MAILBOX", " onedrive ", "N/A", "User Teams Chats", "SharePoint", "Teams", "Group Mailbox"]
)
CUSTOMERS = st.sampled_from(["Contoso", "Fabrikam, Inc", "Näher GmbH"])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(CUSTOMERS, TYPES, NAMES), min_size=1, max_size=40),
    line_end=st.sampled_from(["\r\n", "\n"]),
    bom=st.booleans(),
)
def test_property_distinct_billable_names_per_customer(
    rows: list[tuple[str, str, str]], line_end: str, bom: bool
) -> None:
    expected: dict[str, set[str]] = {}
    for customer, kind, name in rows:
        users = expected.setdefault(customer, set())
        if kind.strip().casefold() in {"mailbox", "onedrive", "n/a", "user teams chats"}:
            users.add(name.strip().casefold())
    text = ("\ufeff" if bom else "") + csv_text([row(c, k, n) for c, k, n in rows], line_end=line_end)
    assert billed(text) == {c: len(users) for c, users in expected.items()}
