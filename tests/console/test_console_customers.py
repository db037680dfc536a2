"""The Customers pages (issue 23): a search over the mapped and stored customers, a page at a time, and a customer's
page with every line explained as `connector explain` explains it and a usage chart (inline SVG, no script) over the
last 12 periods of the line history `connector history` reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from markupsafe import escape

from connector import operations
from connector.operations.review import explain
from connector.store import Store
from mappings.billing import price
from mappings.lines import Line
from tests.clock import MONTH

from .conftest import INJECTED, Console

ESCAPED = "&lt;script&gt;alert(&#39;billing&#39;)&lt;/script&gt; &amp; Co"
SVG = re.compile(r"<svg\b.*?</svg>", re.S)
HISTORIC = "Historic Holdings"  # a customer with lines in 14 monthly periods, staged by hand below
MONTHS = [f"{2025 + (9 + i - 1) // 12}-{(9 + i - 1) % 12 + 1:02d}" for i in range(14)]  # 2025-09 … 2026-10


def escaped(text: str) -> str:
    """Text as the console's templates escape it."""
    return str(escape(text))


def customer_url(name: str) -> str:
    return "/customer?" + urlencode({"name": name})


def stage(console: Console, customer: str, period: str, quantity: int, *, metric: str = "altaro.billed_users") -> None:
    with Store.open(console.settings.store.path) as store:
        amount, rate = Decimal(quantity), Decimal("2.00")
        line = Line(
            customer, "Backup (per user)", period, metric, quantity=amount, unit="user", rate=rate,
            amount=price(amount, rate), inputs={"why": "staged by the test"},
        )  # fmt: skip
        store.outbox.stage(line, None)


@pytest.fixture
def many(console: Console) -> Iterator[Console]:
    """The console's store with 60 more customers ("Bulk Customer 00" …) and one customer with 14 periods of lines."""
    for number in range(60):
        stage(console, f"Bulk Customer {number:02d}", MONTH, number + 1)
    for index, period in enumerate(MONTHS):
        stage(console, HISTORIC, period, 10 + index)
    yield console


def test_the_customer_pages_need_a_sign_in(console: Console) -> None:
    for page in ("/customers", "/customers?q=contoso", customer_url("Contoso Ltd")):
        answer = console.client.get(page)
        assert answer.status_code == 303 and answer.headers["location"] == "/signin", page


def test_the_search_finds_a_customer_by_part_of_its_name_in_any_case(console: Console) -> None:
    console.signin("ada")
    everyone = console.client.get("/customers")
    assert everyone.status_code == 200
    for customer in console.settings.customers:
        assert f">{customer.psa_customer}</a>" in everyone.text
    assert '<label for="customer-search">' in everyone.text and 'id="customer-search"' in everyone.text
    found = console.client.get("/customers?q=CONTOSO")
    assert found.status_code == 200
    assert f'<a href="{escaped(customer_url("Contoso Ltd"))}">Contoso Ltd</a>' in found.text
    assert "Fabrikam" not in found.text and "1 of " in found.text
    none = console.client.get("/customers?q=no-such-customer")
    assert none.status_code == 200 and "0 of " in none.text and "/customer?" not in none.text


def test_the_search_escapes_an_injected_name_and_the_query_itself(console: Console) -> None:
    console.signin("ada")
    page = console.client.get("/customers?" + urlencode({"q": "<script>alert"})).text
    assert ESCAPED in page and INJECTED not in page
    assert 'value="&lt;script&gt;alert"' in page  # the query shown back in the box, escaped
    assert "<script" not in page
    attack = console.client.get("/customers?" + urlencode({"q": '"><img src=x onerror=alert(1)>'})).text
    assert "<img" not in attack and "&#34;&gt;&lt;img" in attack


def test_a_long_list_is_shown_fifty_a_page(many: Console) -> None:
    many.signin("ada")
    first = many.client.get("/customers?q=bulk").text
    assert first.count(">Bulk Customer ") == 50 and ">Bulk Customer 49<" in first
    assert "page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = many.client.get("/customers?q=bulk&page=2").text
    assert second.count(">Bulk Customer ") == 10 and ">Bulk Customer 59<" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "/customers?q=bulk&amp;page=1" in second
    beyond = many.client.get("/customers?q=bulk&page=99").text
    assert ">Bulk Customer 59<" in beyond  # the last page, not an empty one
    assert many.client.get("/customers?page=x").status_code == 200


def test_a_customer_page_explains_every_line_as_connector_explain_does(console: Console) -> None:
    console.signin("ada")
    answer = console.client.get(customer_url("contoso ltd"))  # any case, as `connector explain`
    assert answer.status_code == 200
    page = answer.text
    assert "<h1>Contoso Ltd</h1>" in page
    explained = operations.explain_customer(console.settings, "Contoso Ltd")
    assert explained
    for item in explained:
        assert f'id="line-{item["id"]}"' in page
        # Amounts and quantities are the strings the JSON output gives.
        assert f'<strong class="number">{format(item["amount"], "f")}</strong>' in page
        assert f'<span class="number">{format(item["quantity"], "f")}</span>' in page
        detail = item["inputs"]["observations"]["explanation"]
        counted = detail.get("objects") or [row[detail["columns"].index("computer")] for row in detail["accounts"]]
        for name in counted:  # every user or account counted, not only the first few
            assert f"<li>{escaped(str(name))}</li>" in page, name
        for excluded in detail.get("excluded", []):  # what was left out, and why
            assert escaped(excluded["reason"]) in page, excluded
        for row in detail.get("not_billed", []):
            assert escaped(f"{row[detail['not_billed_columns'].index('computer')]}: {row[-1]}") in page
        assert escaped(detail["rule"]) in page  # the counting rule
    assert "<dt>excluded</dt>" in page and "<dt>counted</dt>" in page


def test_a_customer_page_charts_each_line_in_an_accessible_svg_with_its_figures(console: Console) -> None:
    console.signin("ada")
    page = console.client.get(customer_url("Contoso Ltd")).text
    charts = SVG.findall(page)
    history = operations.history(console.settings, "Contoso Ltd")
    assert len(charts) == len({(row["contract"], row["metric"]) for row in history}) > 0
    for chart in charts:
        assert 'role="img"' in chart and "<title id=" in chart and "<desc id=" in chart
        assert 1 <= chart.count('<rect class="bar"') <= 12
        assert "<script" not in chart and "style=" not in chart
    for item in operations.explain_customer(console.settings, "Contoso Ltd"):  # the table beside each chart
        assert f'<td>{item["period"]}</td><td class="number">{format(item["quantity"], "f")}</td>' in page


def test_a_chart_shows_the_last_twelve_periods(many: Console) -> None:
    many.signin("ada")
    page = many.client.get(customer_url(HISTORIC)).text
    (chart,) = SVG.findall(page)
    assert chart.count('<rect class="bar"') == 12
    shown = re.findall(r'<text class="period"[^>]*>([^<]+)</text>', chart)
    assert shown == MONTHS[-12:]  # the oldest two are left out, oldest first
    assert "<title>2026-10: 23 user</title>" in chart
    assert f"<td>{MONTHS[0]}</td>" not in page.split("<svg")[1].split("</table>")[0]


def test_an_injected_customer_name_is_escaped_on_its_page(console: Console) -> None:
    console.signin("ada")
    answer = console.client.get(customer_url(INJECTED))
    assert answer.status_code == 200
    page = answer.text
    assert f"<h1>{ESCAPED}</h1>" in page
    assert "<script" not in page and "<b>users</b>" not in page and "<img" not in page
    assert "Backup &lt;b&gt;users&lt;/b&gt;" in page and "a name that is markup" in page


def test_an_unknown_customer_is_refused_with_the_nearest_names(console: Console) -> None:
    console.signin("ada")
    answer = console.client.get(customer_url("Contoso Ltdd"))
    assert answer.status_code == 404 and "no customer" in answer.text and "Contoso Ltd" in answer.text
    assert console.client.get("/customer").status_code == 303


def test_the_customer_page_shows_exactly_that_customer_s_lines_whatever_the_case(console: Console) -> None:
    """The lines are picked in the store by name as Python's casefold compares names (ß is ss, Ö is ö: not SQLite's
    NOCASE, which folds ASCII only), and only theirs: another customer whose name holds it is not shown."""
    for name, quantity in (("Straße Süd", 3), ("STRASSE SÜD", 4), ("Strasse Süd Nord", 5), ("Other", 6)):
        stage(console, name, MONTH, quantity)
    with Store.open(console.settings.store.path) as store:
        every = store.outbox.lines()
        explained = explain(store, "strasse süd")
        in_period = explain(store, "STRASSE süd", MONTH)
    wanted = [s.id for s in every if s.line.psa_customer.casefold() == "strasse süd"]
    assert [item["id"] for item in explained] == [item["id"] for item in in_period] == wanted and len(wanted) == 2
    assert all(item["history"] for item in explained)

    console.signin("ada")
    page = console.client.get(customer_url("strasse SÜD"))
    assert page.status_code == 200, page.text
    shown = [int(i) for i in re.findall(r'<article class="card card-[a-z]+" id="line-(\d+)">', page.text)]
    assert shown == wanted
