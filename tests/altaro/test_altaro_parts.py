"""A report file counted in parts by forked workers (`providers.altaro.parts`) gives exactly the one-pass count.

Each example writes a report, counts it in one pass and in 2 to 4 parts cut a few hundred bytes apart, and compares
everything a customer's count holds: users with their products, the sample of names and its order, objects not
billed by type and reason, blanks, rows, duplicates, sizes as written (exponent included), problems with their line
numbers, and the spellings. Rows repeat across parts (duplicates a part cannot see alone), names break lines inside
quotes (a cut can fall inside a quoted field), and some sizes are bad (their lines are reported).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import multiprocessing
from pathlib import Path
from typing import Any, NoReturn, TextIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.errors import DataError
from providers.altaro import parts
from providers.altaro.counts import SAMPLE_SIZE, CustomerCount
from providers.altaro.parts import Part, available_cpus, count_csv_file, cut, open_part
from providers.altaro.sandbox import HEADER, write_report
from providers.altaro.settings import AltaroExclusion, AltaroSettings

PERIOD = "2026-11"
SETTINGS = AltaroSettings(
    exclusions=[
        AltaroExclusion(customer="contoso", pattern="shared-*", reason="shared mailbox"),
        AltaroExclusion(customer="*", pattern="test*", reason="test object"),
    ]
)

CUSTOMERS = st.sampled_from(["Contoso", " CONTOSO ", "contoso", "Fabrikam, Inc", "Näher GmbH", "NÄHER  GmbH"])
MONTHS = st.sampled_from(["2026-11", "", "Nov 2026", "2026-10"])
PRODUCTS = st.sampled_from(["365 Total Backup", " 365 Total Backup ", "VM Backup", ""])
TYPES = st.sampled_from(["Mailbox", "MAILBOX", " onedrive ", "N/A", "SharePoint", "Teams", "TEAMS", ""])
NAMES = st.sampled_from(
    ["Ann", "ann ", "Bo", "Cy", "Di", "shared-desk", "Test user", "Zoë", "", 'Ed "E" Lee', "Line\nBreak"]
)
SIZES = st.sampled_from(["1.00", "0.25", "12.50", "", "0.00", "3", "7.125", "1E+2"])
BAD_SIZES = st.sampled_from(["-1", "NaN", "abc", "100001"])
ROW = st.tuples(CUSTOMERS, MONTHS, PRODUCTS, TYPES, NAMES, SIZES).map(
    lambda r: [r[0], "", r[2], r[1], r[3], r[4], r[5]]
)


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def snapshot(counts: list[CustomerCount]) -> list[dict[str, Any]]:
    """Everything a count holds, sizes as written (str keeps the exponent)."""
    return [
        {
            **{name: getattr(c, name) for name in ("customer", "customer_id", "period_key", "rows", "users")},
            **{name: getattr(c, name) for name in ("sample", "not_users", "excluded", "excluded_sample", "blank")},
            "sizes": None if c.size_by_product is None else {p: str(s) for p, s in c.size_by_product.items()},
            "problems": c.problems,
            "spellings": c.spellings,
            "duplicates": c.duplicates,
            "by_product": c.users_by_product,
            "gb": str(c.backup_gb),
        }
        for c in counts
    ]


def counted(path: Path, processes: int, min_part_bytes: int = 1, sample: int = SAMPLE_SIZE) -> list[dict[str, Any]]:
    return snapshot(count_csv_file(path, SETTINGS, processes, min_part_bytes, sample_size=sample).customers(PERIOD))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=4, max_size=60), data=st.data())
def test_property_counting_in_parts_gives_the_one_pass_count(
    rows: list[list[str]], data: st.DataObject, tmp_path: Path
) -> None:
    # Repeated rows anywhere (often in another part), and now and then a bad size.
    rows = data.draw(st.permutations(rows + data.draw(st.lists(st.sampled_from(rows), max_size=15))))
    if data.draw(st.booleans()):
        rows[data.draw(st.integers(0, len(rows) - 1))][6] = data.draw(BAD_SIZES)
    report = write(tmp_path / f"report-{len(rows)}.csv", [list(row) for row in rows])
    processes = data.draw(st.integers(2, 4))
    part_bytes = max(1, report.stat().st_size // (processes + 1))
    # A sample of 2 names fills in the first part, so later parts leave theirs out of the exchange; 0 keeps none.
    sample = data.draw(st.sampled_from([0, 2, SAMPLE_SIZE]))
    assert counted(report, processes, part_bytes, sample) == counted(report, 1, sample=sample)


def test_a_generated_report_counts_the_same_in_parts(tmp_path: Path) -> None:
    report = tmp_path / "large.csv"
    write_report(report, customers=40, users_per_customer=30, seed=3)
    parts = cut(report, 3, 1)
    assert len(parts) == 3
    assert counted(report, 3) == counted(report, 1)


def test_a_byte_order_mark_is_skipped_in_one_pass_and_in_parts(tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    write_report(plain, customers=6, users_per_customer=20, seed=5)
    marked.write_bytes(codecs.BOM_UTF8 + plain.read_bytes())
    assert counted(marked, 1) == counted(plain, 1) == counted(marked, 3) == counted(plain, 3)
    assert len(counted(plain, 1)) == 6


def test_rows_repeated_in_a_later_part_count_once_with_their_size_and_blank(tmp_path: Path) -> None:
    rows = [
        ["Contoso", "", "365 Total Backup", "2026-11", "Mailbox", "Ann", "2.50"],
        ["Contoso", "", "365 Total Backup", "2026-11", "Mailbox", "", "1.25"],
        ["Contoso", "", "365 Total Backup", "2026-11", "OneDrive", "Bo", "4.00"],
    ]
    other = [["Fabrikam", "", "", "2026-11", "Mailbox", "Cy", "1.00"]] * 40
    report = write(tmp_path / "repeats.csv", rows + other + rows)
    whole = counted(report, 1)
    contoso = next(c for c in whole if c["customer"] == "Contoso")
    assert (contoso["duplicates"], contoso["blank"], contoso["gb"]) == (3, 1, "7.75")
    assert counted(report, 2, report.stat().st_size // 3) == whole


def test_a_bad_size_in_a_later_part_is_reported_at_its_line_in_the_report(tmp_path: Path) -> None:
    rows = [["Contoso", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(200)]
    rows[150][6] = "-3"
    report = write(tmp_path / "bad.csv", rows)
    (contoso,) = counted(report, 2, report.stat().st_size // 3)
    assert contoso["sizes"] is None
    assert contoso["problems"][0].startswith("line 152: backed-up size '-3' is negative")
    assert counted(report, 1) == [contoso]


def test_a_malformed_row_in_a_later_part_is_the_one_pass_error(tmp_path: Path) -> None:
    rows = [["Contoso", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(200)]
    report = write(tmp_path / "malformed.csv", rows)
    text = report.read_text(encoding="utf-8").replace("user 180,1.00", "user 180,1.00,extra")
    report.write_text(text, encoding="utf-8", newline="")
    with pytest.raises(DataError, match=r"line 182 has 8 fields, the header 7"):
        count_csv_file(report, SETTINGS, 2, report.stat().st_size // 3)


def test_a_cut_inside_a_quoted_field_is_counted_again_in_one_pass(tmp_path: Path) -> None:
    # One long name with line breaks spans the middle of the file, so the cut falls inside its quotes.
    rows = [["Contoso", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(20)]
    rows.insert(10, ["Contoso", "", "", "2026-11", "Mailbox", "long\n" * 400, "1.00"])
    report = write(tmp_path / "quoted.csv", rows)
    middle = report.stat().st_size // 2
    assert any(p.start and 0 < p.start - report.read_bytes().index(b"long") < 2000 for p in cut(report, 2, middle))
    assert counted(report, 2, middle) == counted(report, 1)


def test_a_worker_out_of_memory_is_counted_again_in_one_pass_once_every_worker_has_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers' memory is given back before the one pass needs as much again in this process.
    rows = [["Contoso", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(300)]
    report = write(tmp_path / "report.csv", rows)
    whole, size = counted(report, 1), report.stat().st_size // 4
    first_worker = cut(report, 3, size)[1]
    real_open, real_one_pass = parts.open_part, parts._one_pass

    def open_short_of_memory(path: Path, part: Part) -> TextIO:
        if part == first_worker:
            raise MemoryError
        return real_open(path, part)

    workers_alive: list[int] = []

    def one_pass(*args: Any) -> Any:
        workers_alive.append(len(multiprocessing.active_children()))
        return real_one_pass(*args)

    monkeypatch.setattr(parts, "open_part", open_short_of_memory)
    monkeypatch.setattr(parts, "_one_pass", one_pass)
    assert counted(report, 3, size) == whole
    assert workers_alive == [0]


def test_a_worker_failing_in_the_exchange_prints_nothing_and_the_count_is_the_one_pass_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    rows = [["Contoso", "", "", "2026-11", "Mailbox", f"user {n}", "1.00"] for n in range(300)]
    report = write(tmp_path / "report.csv", rows)
    whole = counted(report, 1)

    def short_of_memory(*args: Any) -> NoReturn:
        raise MemoryError

    monkeypatch.setattr(parts, "_repeats", short_of_memory)  # the worker's part of the exchange, once counted
    assert counted(report, 2, report.stat().st_size // 3) == whole
    assert capfd.readouterr().err == ""  # no worker's traceback before the command's own message


def test_the_file_is_cut_after_line_breaks_into_parts_that_read_back_as_the_file(tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    write_report(report, customers=5, users_per_customer=20, seed=1, bom=True)
    body = report.read_bytes()
    parts = cut(report, 4, 1)
    assert parts[0].start == 0 and parts[-1].end == len(body)
    assert all(body[p.start - 1 : p.start] == b"\n" for p in parts[1:])
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    text = "".join(open_part(report, p).read() for p in parts)
    assert text == body.decode("utf-8-sig")
    assert cut(report, 4, len(body)) == [Part(0, len(body))]  # too small for two parts


def test_connector_users_counts_a_large_file_in_parts_with_the_one_process_answer(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    report = tmp_path / "report.csv"
    write_report(report, customers=30, users_per_customer=20, seed=5)
    runner = CliRunner()
    one = runner.invoke(app, ["users", str(report), "--format", "json", "--jobs", "1"])
    two = runner.invoke(app, ["users", str(report), "--format", "json", "--jobs", "2"])
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout


def test_connector_users_refuses_a_number_of_processes_below_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    report = write(tmp_path / "report.csv", [["Contoso", "", "", "2026-11", "Mailbox", "Ann", "1.00"]])
    done = CliRunner().invoke(app, ["users", str(report), "--jobs", "0"])
    assert done.exit_code == 2
    assert "--jobs 0: give the number of processes, 1 or more" in done.output


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "150000 100000\n"}, 2),  # Docker --cpus=1.5 (cgroup v2)
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu.max": "max 100000\n"}, None),  # no quota
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # cgroup v1
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),  # no cgroup files
    ],
)
def test_the_processes_counted_are_those_the_container_s_cpu_quota_allows(
    tmp_path: Path, files: dict[str, str], expected: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    unlimited = available_cpus(tmp_path / "absent")
    assert available_cpus(tmp_path) == (unlimited if expected is None else min(expected, unlimited))
