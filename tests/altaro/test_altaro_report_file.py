"""`connector users` counts a report file in one pass: rows repeated far apart count once, a byte-order mark is
skipped, and what is wrong in a file (a bad size, a malformed row) is reported at its line in the file.

(These were the cases counting a file in parts had to settle at its merge; the one pass must still get them right.)
"""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

import pytest

from connector.cli import main
from connector.core.errors import DataError
from providers.altaro.counts import CustomerCount
from providers.altaro.sandbox import HEADER, write_report
from providers.altaro.settings import AltaroExclusion, AltaroSettings
from providers.altaro.views import count_file

SETTINGS = AltaroSettings(
    exclusions=[
        AltaroExclusion(customer="contoso", pattern="shared-*", reason="shared mailbox"),
        AltaroExclusion(customer="*", pattern="test*", reason="test object"),
    ]
)


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def counted(path: Path) -> dict[str, CustomerCount]:
    return {c.customer: c for c in count_file(path, SETTINGS)}


def test_rows_repeated_far_apart_count_once_with_their_size_and_blank(tmp_path: Path) -> None:
    rows = [
        ["Contoso", "", "365 Total Backup", "2026-11", "Mailbox", "Ann", "2.50"],
        ["Contoso", "", "365 Total Backup", "2026-11", "Mailbox", "", "1.25"],
        ["Contoso", "", "365 Total Backup", "2026-11", "OneDrive", "Bo", "4.00"],
    ]
    other = [["Fabrikam", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(400)]
    contoso = counted(write(tmp_path / "repeats.csv", rows + other + rows))["Contoso"]
    assert (contoso.rows, contoso.duplicates, contoso.blank, str(contoso.backup_gb)) == (6, 3, 1, "7.75")
    assert contoso.billed_users == 2


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    write_report(plain, customers=6, users_per_customer=20, seed=5)
    marked.write_bytes(codecs.BOM_UTF8 + plain.read_bytes())
    assert count_file(marked, SETTINGS) == count_file(plain, SETTINGS)
    assert len(count_file(plain, SETTINGS)) == 6


def test_a_bad_size_deep_in_the_file_is_reported_at_its_line(tmp_path: Path) -> None:
    rows = [["Contoso", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(200)]
    rows[150][6] = "-3"
    contoso = counted(write(tmp_path / "bad.csv", rows))["Contoso"]
    assert contoso.size_by_product is None and contoso.billed_users == 200
    assert contoso.problems[0].startswith("line 152: backed-up size '-3' is negative")


def test_a_malformed_row_deep_in_the_file_is_an_error_with_its_line(tmp_path: Path) -> None:
    rows = [["Contoso", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(200)]
    report = write(tmp_path / "malformed.csv", rows)
    text = report.read_text(encoding="utf-8").replace("user 180,1.00", "user 180,1.00,extra")
    report.write_text(text, encoding="utf-8", newline="")
    with pytest.raises(DataError, match=r"line 182 has 8 fields, the header 7"):
        count_file(report, SETTINGS)


def test_a_quoted_name_over_many_lines_is_one_row_and_later_lines_keep_their_numbers(tmp_path: Path) -> None:
    rows = [["Contoso", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(20)]
    rows.insert(10, ["Contoso", "", "", "2026-11", "Mailbox", "long\n" * 400, "1.00"])
    rows[-1][6] = "abc"
    contoso = counted(write(tmp_path / "quoted.csv", rows))["Contoso"]
    assert (contoso.rows, contoso.billed_users) == (21, 21)
    assert contoso.problems[0].startswith("line 422: backed-up size 'abc' is not a number")


def test_connector_users_no_longer_takes_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    report = write(tmp_path / "report.csv", [["Contoso", "", "", "2026-11", "Mailbox", "Ann", "1.00"]])
    assert main(["users", str(report), "--jobs", "2"]) == 2
    assert "--jobs" in capsys.readouterr().err
    assert main(["users", str(report), "--format", "json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["customer"], entry["billed_users"], entry["backup_gb"]) == ("Contoso", 1, "1.00")
