"""Issue 9 row 1: a report body cut short is rejected with its line, unless it ends the way a complete report ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.cli import main
from connector.core.errors import DataError
from providers.altaro.demo import demo_report
from providers.altaro.parser import read_payload
from providers.altaro.rules import BillingRules, ReportTally
from providers.altaro.sandbox import AltaroSandbox, generate_report
from providers.altaro.settings import AltaroSettings

from ..conftest import write_vendor_config

DEFAULT = AltaroSettings()
KEY = "altaro-truncation-key-5b7e0c2d"
KEY_ENV = "ALTARO_TRUNCATION_API_KEY"


def billed(body: bytes) -> dict[str, int]:
    rows = read_payload(body, DEFAULT.columns)
    return {
        c.customer: c.billed_users
        for c in ReportTally(BillingRules.of(DEFAULT.billable_object_types)).add(rows).customers("2026-11")
    }


def record_ends(body: bytes) -> set[int]:
    """The lengths at which a CSV body without quoted line breaks holds only whole rows (after each CRLF)."""
    return {i + 2 for i in range(len(body)) if body[i : i + 2] == b"\r\n"}


@pytest.mark.parametrize(
    ("cut", "line"),
    [(-1, 31), (-2, 31), (-3, 31), (-6, 31)],
    ids=["before-the-LF", "at-the-row-end-without-CRLF", "inside-the-last-field", "after-the-last-comma"],
)
def test_a_body_cut_at_its_end_is_rejected_with_its_line(cut: int, line: int) -> None:
    body = demo_report("2026-11").encode()
    with pytest.raises(DataError, match=rf"line {line} .*truncated.*nothing from it is billed"):
        billed(body[:cut])


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_body_cut_exactly_at_a_row_end_without_its_line_break_is_rejected(line_end: str) -> None:
    body = "Customer Name,Object Type Backed Up,Object Name" + line_end + f"C,Mailbox,a{line_end}C,Mailbox,b"
    with pytest.raises(DataError, match=r"line 3 ends without a line break"):
        billed(body.encode())
    assert billed((body + line_end).encode()) == {"C": 2}


def test_a_header_cut_short_is_truncation_not_a_missing_column() -> None:
    with pytest.raises(DataError, match=r"line 1 ends without a line break: the report is truncated"):
        billed(b"Customer Name,Object Type Backed Up,Object Na")


def test_a_report_with_bare_cr_line_ends_may_end_with_one() -> None:
    assert billed(b"Customer Name,Object Type Backed Up,Object Name\rC,Mailbox,a\r") == {"C": 1}
    with pytest.raises(DataError, match="line 2 ends without a line break"):
        billed(b"Customer Name,Object Type Backed Up,Object Name\rC,Mailbox,a")


def test_every_cut_of_the_demo_report_is_rejected_unless_it_ends_at_a_row_end() -> None:
    body = demo_report("2026-11").encode()
    full = billed(body)
    accepted = set()
    for length in range(len(body)):
        try:
            billed(body[:length])
        except DataError:
            continue
        accepted.add(length)
    # What is left is a shorter but complete report: no body can tell it from one the console made that way.
    assert accepted <= record_ends(body)
    assert billed(body) == full


def test_every_cut_of_a_json_report_is_rejected() -> None:
    body = generate_report(customers=2, users_per_customer=3, seed=1, fmt="json").encode()
    for length in range(len(body)):
        with pytest.raises(DataError):
            billed(body[:length])


def test_the_sandbox_and_the_demo_serve_complete_reports() -> None:
    assert demo_report("2026-11").endswith("\r\n")
    assert generate_report(customers=2, users_per_customer=3).endswith("\r\n")
    assert generate_report(customers=2, users_per_customer=3, line_end="\n").endswith("\n")
    json.loads(generate_report(customers=2, users_per_customer=3, fmt="json"))  # one whole document


# -- through the CLI -----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)


def test_users_on_a_file_cut_at_a_row_end_exits_3_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "cut.csv"
    report.write_bytes(demo_report("2026-11").encode()[:-2])
    code = main(["users", str(report), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 3 and out == ""
    assert "line 31 ends without a line break: the report is truncated" in err


@pytest.fixture
def sandbox() -> Iterator[AltaroSandbox]:
    with AltaroSandbox(demo_report("2026-11"), api_key=KEY) as server:
        assert isinstance(server, AltaroSandbox)
        yield server


def test_usage_altaro_on_a_body_cut_at_a_row_end_bills_nothing_and_exits_3(
    tmp_path: Path, sandbox: AltaroSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    section = f'[altaro]\nenabled = true\n[[altaro.links]]\nname = "all"\nurl = "{sandbox.link_url}"\n'
    config = write_vendor_config(tmp_path, section + f'api_key = {{ env = "{KEY_ENV}" }}\n', max_attempts=1)
    sandbox.serve_cut(len(demo_report("2026-11").encode()) - 2)  # the Content-Length matches the cut body
    code = main(["usage", "altaro", "--config", str(config), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 3, err
    data = json.loads(out)
    assert data["customers"] == [] and not data["complete"]
    assert "line 31 ends without a line break" in data["problems"][0]
