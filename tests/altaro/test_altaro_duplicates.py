"""Issue 9 row 7: identical rows count once (the explanation says so); a link configured twice is an error."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from connector.cli import main
from providers.altaro.demo import demo_report
from providers.altaro.parser import read_payload
from providers.altaro.rules import BillingRules, CustomerCount, ReportTally
from providers.altaro.sandbox import AltaroSandbox
from providers.altaro.settings import AltaroSettings
from providers.altaro.source import AltaroSource

from ..conftest import write_vendor_config
from .conftest import altaro_settings, link

DEFAULT = AltaroSettings()
HEADER = ["Customer Name", "Product", "Object Type Backed Up", "Object Name", "Backed Up Size (GB)"]
ROWS = [
    ["Contoso", "P1", "Mailbox", "Ada Moss", "12.40"],
    ["Contoso", "P1", "OneDrive", "Ada Moss", "1.20"],
    ["Contoso", "P1", "SharePoint", "Intranet", "0.00"],
]


def body(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def count(payload: bytes) -> CustomerCount:
    rows = read_payload(payload, DEFAULT.columns)
    [found] = ReportTally(BillingRules.from_settings(DEFAULT)).add(rows).customers("2026-11")
    return found


def test_every_row_twice_bills_13_60_not_27_20() -> None:
    once, twice = count(body(ROWS)), count(body(ROWS + ROWS))
    assert once.backup_gb == twice.backup_gb == Decimal("13.60")
    assert twice.billed_users == once.billed_users == 1
    assert twice.duplicates == 3 and once.duplicates == 0 and twice.rows == 6


def test_rows_that_differ_in_any_cell_are_not_duplicates() -> None:
    header = [*HEADER, "Object ID"]
    rows = [[*ROWS[0], "u1"], [*ROWS[0], "u2"], [*ROWS[0][:4], "12.41", "u1"]]
    assert count(body(rows, header)).backup_gb == Decimal("37.21")


def test_a_duplicate_with_trailing_empty_cells_is_still_a_duplicate() -> None:
    payload = body(ROWS) + b"Contoso,P1,Mailbox,Ada Moss,12.40,,\r\n"
    assert count(payload).backup_gb == Decimal("13.60")


def test_the_demo_reports_duplicate_row_counts_once() -> None:
    rows = read_payload(demo_report("2026-11").encode(), DEFAULT.columns)
    found = {c.customer: c for c in ReportTally(BillingRules.from_settings(DEFAULT)).add(rows).customers("2026-11")}
    assert found["Fabrikam"].backup_gb == Decimal("36.95") and found["Fabrikam"].duplicates == 1


def test_the_explanation_says_how_many_duplicates_were_ignored(make_source: Callable[..., AltaroSource]) -> None:
    with AltaroSandbox(body(ROWS + ROWS[:2])) as sandbox:
        report = make_source(altaro_settings(link(sandbox.link_url))).collect()  # type: ignore[attr-defined]
    [usage] = report.customers
    assert usage.quantities[("altaro.backup_gb", "")] == Decimal("13.60")
    assert usage.inputs["altaro.backup_gb"]["duplicate_rows_ignored"] == 2
    assert usage.inputs["altaro.billed_users"]["duplicate_rows_ignored"] == 2


def test_rows_repeated_by_an_overlapping_second_link_count_once(make_source: Callable[..., AltaroSource]) -> None:
    other = [["Fabrikam", "P1", "Mailbox", "Ben Okoro", "7.25"]]
    everyone = AltaroSandbox(body(ROWS + other)).start()
    just_contoso = AltaroSandbox(body(ROWS), link_path="/api/billing-report/contoso").start()
    try:
        settings = altaro_settings(link(everyone.link_url, "all"), link(just_contoso.link_url, "contoso"))
        report = make_source(settings).collect()
    finally:
        everyone.stop()
        just_contoso.stop()
    contoso = report.customer("Contoso")
    assert contoso is not None and contoso.quantities[("altaro.backup_gb", "")] == Decimal("13.60")
    assert contoso.inputs["altaro.backup_gb"]["duplicate_rows_ignored"] == 3


# -- a link configured twice ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "second",
    [
        "https://cmc.example.test/api/billing-report/1?x=2",
        "https://CMC.example.test:443/api/billing-report/1?x=2",
        "https://cmc.example.test/api/billing-report/1?x=2#again",
    ],
    ids=["same", "host-case-and-default-port", "fragment"],
)
def test_the_same_link_twice_is_a_configuration_error_naming_both(second: str) -> None:
    with pytest.raises(ValidationError) as caught:
        altaro_settings(
            link("https://cmc.example.test/api/billing-report/1?x=2", "first"),
            link("https://cmc.example.test/api/billing-report/2", "other"),
            link(second, "second"),
        )
    message = str(caught.value)
    assert "links[0] ('first')" in message and "links[2] ('second')" in message and "same report link" in message


def test_two_links_with_one_name_are_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match=r"links\[0\] \('all'\) and links\[1\] \('All'\) share a name"):
        altaro_settings(link("https://cmc.example.test/r/1", "all"), link("https://cmc.example.test/r/2", "All"))


def test_the_cli_exits_2_naming_both_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALTARO_DUP_KEY", "k")
    key = '{ env = "ALTARO_DUP_KEY" }'
    links = "".join(
        f'[[altaro.links]]\nname = "{name}"\nurl = "https://cmc.example.test/r/1"\napi_key = {key}\n'
        for name in ("all-customers", "all-again")
    )
    config = write_vendor_config(tmp_path, "[altaro]\nenabled = true\n" + links)
    code = main(["usage", "altaro", "--config", str(config)])
    _, err = capsys.readouterr()
    assert code == 2
    assert "links[0] ('all-customers')" in err and "links[1] ('all-again')" in err


def test_users_command_reports_the_duplicates_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    report = tmp_path / "twice.csv"
    report.write_bytes(body(ROWS + ROWS))
    code = main(["users", str(report), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    [entry] = json.loads(out)
    assert entry["backup_gb"] == "13.60" and entry["duplicate_rows_ignored"] == 3 and entry["rows"] == 6
