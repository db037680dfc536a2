"""The Periods page (issue 23): the periods the store holds, reconcile against the PSA's invoices through the operation
`connector reconcile` calls (after the PSA's own invoicing run), and the CSV and HTML downloads `connector export`
writes, for signed-in people only."""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from connector import operations
from connector.cli import main
from connector.console import create_app
from connector.core.config import Settings
from connector.operations.demo import CONFIG_NAME, running_sandboxes, write_config
from connector.wiring import load_settings
from tests.clock import MONTH
from tests.e2e.psa_worlds import DRIVERS

from .conftest import HELD, INJECTED, Console, Prepared, console_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PERIOD_PAGES = ("/periods", f"/periods/{MONTH}", f"/periods/{MONTH}/export.csv", f"/periods/{MONTH}/export.html")
GENERATED = re.compile(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


@dataclass(frozen=True)
class Invoiced:
    """The demo's sandboxes, still running, synced once and then invoiced by the PSA's own invoicing run."""

    directory: Path
    settings: Settings
    report: dict[str, Any]


@contextmanager
def invoicing_run(directory: Path, *, typed: bool = False) -> Iterator[Invoiced]:
    """The demo synced once and invoiced by the PSA's invoicing run; with `typed`, a person first typed another
    quantity on one contract in the PSA, so its invoice differs from what was pushed."""
    with running_sandboxes(directory, MONTH) as sandboxes:
        config = write_config(directory, sandboxes)
        config.write_text(config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
        settings = load_settings(config)
        report = operations.sync(settings).to_data()
        assert report["lines"] and {line["outcome"] for line in report["lines"]} == {"pushed"}
        driver, sandbox = DRIVERS[sandboxes.psa], sandboxes[sandboxes.psa]
        if typed:
            line = next(x for x in report["lines"] if (x["psa_customer"], x["metric"]) == HELD)
            driver.type_quantity(sandbox, line, Decimal(str(line["quantity"])) * 10 + 7)
        driver.invoice(sandbox, MONTH)
        yield Invoiced(directory, settings, report)


@pytest.fixture(scope="module")
def invoiced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Invoiced]:
    with invoicing_run(tmp_path_factory.mktemp("invoiced")) as world:
        yield world


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Invoiced]:
    with invoicing_run(tmp_path_factory.mktemp("typed"), typed=True) as world:
        yield world


def console_over(world: Invoiced) -> Iterator[Console]:
    settings = console_settings(world.settings, world.directory)
    app = create_app(settings, sleep=_no_sleep, now=lambda: 1_000_000.0)
    with TestClient(app, follow_redirects=False) as client:
        yield Console(client, settings, [], [1_000_000.0])


@pytest.fixture
def live(invoiced: Invoiced) -> Iterator[Console]:
    """A console over the invoiced world's store, its PSA still answering."""
    yield from console_over(invoiced)


@pytest.fixture
def differing(typed: Invoiced) -> Iterator[Console]:
    """A console over the world whose PSA invoiced one contract with a quantity typed by hand."""
    yield from console_over(typed)


async def _no_sleep(seconds: float) -> None:
    return None


def reconcile(console: Console, period: str = MONTH, **extra: Any) -> Any:
    csrf = console.csrf(f"/periods/{period}")
    return console.client.post(f"/periods/{period}/reconcile", data={"csrf": csrf}, **extra)


def test_the_periods_pages_need_a_sign_in(console: Console) -> None:
    for page in PERIOD_PAGES:
        answer = console.client.get(page)
        assert answer.status_code == 303 and answer.headers["location"] == "/signin", page
        assert "content-disposition" not in answer.headers
    refused = console.client.post(f"/periods/{MONTH}/reconcile", data={"csrf": "x"})
    assert refused.status_code == 403 and "Sign in first" in refused.text


def test_the_periods_the_store_holds_are_listed_and_linked(console: Console) -> None:
    console.signin("ada")
    page = console.client.get("/periods")
    assert page.status_code == 200
    assert f'<a href="/periods/{MONTH}">{MONTH}</a>' in page.text
    history = operations.history(console.settings)
    lines = {row["line_id"] for row in history if row["period"] == MONTH}
    assert re.search(rf'<td class="number">{len(lines)}</td>', page.text)
    chosen = console.client.get(f"/periods/{MONTH}")
    assert chosen.status_code == 200
    assert "Reconcile now" in chosen.text and 'name="csrf"' in chosen.text
    assert f"/periods/{MONTH}/export.csv" in chosen.text and f"/periods/{MONTH}/export.html" in chosen.text
    unknown = console.client.get("/periods/1999-01")
    assert unknown.status_code == 404 and "no line of period" in unknown.text
    assert '<a href="/periods">Periods</a>' in page.text and "Periods (coming)" not in page.text


def test_reconcile_shows_every_line_invoiced_as_pushed_after_the_psa_s_invoicing_run(
    live: Console, invoiced: Invoiced
) -> None:
    live.signin("ada")  # a viewer may reconcile: it reads the PSA and changes nothing
    answer = reconcile(live)
    assert answer.status_code == 200, answer.text
    page = answer.text
    expected = operations.reconcile_period(live.settings, MONTH).reconciliation.rows()
    assert expected and {row["status"] for row in expected} == {"invoiced as pushed"}
    rows = re.findall(r'<tr class="reconciled">(.*?)</tr>', page, re.S)
    assert len(rows) == len(expected) == len(invoiced.report["lines"])
    for row, want in zip(rows, expected, strict=True):
        cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        assert cells[:3] == [str(want["id"]), want["psa_customer"], want["contract"]]
        # Amounts and quantities are the strings the JSON output gives.
        assert cells[3:7] == [
            format(want[key], "f")
            for key in ("pushed_quantity", "pushed_amount", "invoiced_quantity", "invoiced_amount")
        ]
        assert cells[7] == ", ".join(map(str, want["invoices"])) and cells[7]
        assert cells[8] == "invoiced as pushed"
    assert "Outcome: <strong>ok</strong>" in page and "exits 0" in page
    assert "Every pushed line was invoiced as pushed" in page


def test_an_invoice_that_differs_from_what_was_pushed_is_named_with_the_exit_status_it_means(
    differing: Console,
) -> None:
    differing.signin("bob")
    page = reconcile(differing).text
    expected = operations.reconcile_period(differing.settings, MONTH).reconciliation
    assert expected.status == "differs"
    (difference,) = expected.differences()
    assert f"<li>{escape(difference)}</li>" in page
    assert "Outcome: <strong>differs</strong>" in page and "exits 3" in page
    assert "Money was billed other than computed" in page
    (row,) = [r for r in expected.rows() if r["status"] != "invoiced as pushed"]
    assert row["psa_customer"] == HELD[0]
    assert f'<td class="number">{format(row["invoiced_quantity"], "f")}</td>' in page


def test_reconcile_needs_the_form_s_token_and_this_console_s_origin(live: Console) -> None:
    live.signin("bob")
    csrf = live.csrf(f"/periods/{MONTH}")
    for data, headers in (
        ({}, {}),
        ({"csrf": csrf + "x"}, {}),
        ({"csrf": csrf}, {"origin": "https://evil.example"}),
    ):
        answer = live.client.post(f"/periods/{MONTH}/reconcile", data=data, headers=headers)
        assert answer.status_code == 403 and "invoiced as pushed" not in answer.text, data


def test_reconcile_of_a_period_without_pushed_lines_says_so(live: Console) -> None:
    live.signin("ada")
    csrf = live.csrf(f"/periods/{MONTH}")
    answer = live.client.post("/periods/1999-01/reconcile", data={"csrf": csrf})
    assert answer.status_code == 404  # the store holds no line of it: nothing to reconcile, nothing asked


def test_a_psa_that_does_not_answer_is_said_and_nothing_breaks(console: Console) -> None:
    # The prepared store's sandboxes are gone: the PSA's address no longer answers.
    console.signin("ada")
    answer = reconcile(console)
    assert answer.status_code == 409 and 'role="alert"' in answer.text
    assert "would exit" in answer.text and "Reconcile now" in answer.text


def test_the_exports_download_what_connector_export_writes(
    console: Console, prepared: Prepared, capsys: pytest.CaptureFixture[str]
) -> None:
    console.signin("ada")
    config = str(prepared.directory / CONFIG_NAME)
    lines = operations.waiting(console.settings)
    for fmt in ("csv", "html"):
        answer = console.client.get(f"/periods/{MONTH}/export.{fmt}")
        assert answer.status_code == 200, answer.text
        disposition = answer.headers["content-disposition"]
        assert disposition == f'attachment; filename="billing-{MONTH}.{fmt}"'
        assert answer.headers["content-type"].startswith("text/csv" if fmt == "csv" else "text/html")
        assert main(["export", "--period", MONTH, "--config", config, "--format", fmt]) == 0
        written = capsys.readouterr().out
        assert GENERATED.sub("", answer.text) == GENERATED.sub("", written)
        _, text = operations.export_period(console.settings, MONTH, fmt)
        assert GENERATED.sub("", answer.text) == GENERATED.sub("", text)
        for line in lines:
            assert (line["psa_customer"] if fmt == "csv" else html.escape(line["psa_customer"])) in answer.text
    csv_text = console.client.get(f"/periods/{MONTH}/export.csv").text
    assert "Contoso Ltd" in csv_text and INJECTED in csv_text  # CSV is data, not a page: the name as it is
    page = console.client.get(f"/periods/{MONTH}/export.html").text
    assert INJECTED not in page and "<script" not in page


def test_an_export_of_a_period_the_store_does_not_hold_is_refused(console: Console) -> None:
    console.signin("ada")
    for page in ("/periods/1999-01/export.csv", "/periods/not-a-period/export.html"):
        answer = console.client.get(page)
        assert answer.status_code == 404 and "content-disposition" not in answer.headers, page
        assert "<script" not in answer.text
