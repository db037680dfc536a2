"""End to end: `connector users` on report files and `connector usage altaro` against the sandbox link."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from connector.cli import main
from providers.altaro import views
from providers.altaro.sandbox import AltaroSandbox, generate_report_with_counts, write_report

from ..conftest import write_vendor_config

KEY = "altaro-e2e-key-0c4f9a1b7e"
KEY_ENV = "ALTARO_E2E_API_KEY"


@pytest.fixture(autouse=True)
def no_local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `users` reads ./connector.toml when present; the tests must not pick up a developer's file.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_json_is_sorted_by_customer_with_billed_users(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.csv"
    expected = write_report(report, customers=6, users_per_customer=20, seed=11)
    code, out, err = run(capsys, "users", str(report), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [d["customer"] for d in data] == sorted(expected.billed_users, key=str.casefold)
    assert {d["customer"]: d["billed_users"] for d in data} == expected.billed_users
    first = data[0]
    assert isinstance(first["billed_users"], int) and first["month"] == "2026-11"
    assert first["excluded_objects"] == sum(item["objects"] for item in first["excluded"]) > 0
    assert all("not a billed user type" in item["reason"] for item in first["excluded"])


def test_users_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.csv"
    expected = write_report(report, customers=2, users_per_customer=5, seed=2)
    code, out, _ = run(capsys, "users", str(report))
    assert (
        code == 0
        and "Contoso" in out
        and "SharePoint: " in out
        and f"{sum(expected.billed_users.values())} billed user(s)" in out
    )


def test_users_json_report_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, expected = generate_report_with_counts(customers=3, users_per_customer=6, seed=1, fmt="json")
    report = tmp_path / "report.json"
    report.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "users", str(report), "-f", "json")
    assert code == 0, err
    assert {d["customer"]: d["billed_users"] for d in json.loads(out)} == expected.billed_users


def test_users_takes_columns_types_and_exclusions_from_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "odd.csv"
    report.write_text("Tenant,Kind,Item\r\nC,Mailbox,a\r\nC,Mailbox,shared-desk\r\nC,Mailbox,A \r\nC,Teams,t\r\n")
    config = tmp_path / "altaro.toml"
    config.write_text(
        '[altaro.columns]\ncustomer = "tenant"\nobject_type = "kind"\nobject_name = "item"\n'
        '[[altaro.exclusions]]\npattern = "shared-*"\nreason = "shared mailboxes are free"\n'
    )
    code, out, err = run(capsys, "users", str(report), "--config", str(config), "--format", "json")
    assert code == 0, err
    [entry] = json.loads(out)
    assert entry["billed_users"] == 1 and entry["excluded_objects"] == 2
    assert {"reason": "shared mailboxes are free", "label": "shared mailboxes are free", "objects": 1} in entry[
        "excluded"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Customer Name,Type,Object Name\r\nC,Mailbox,a\r\n", "columns found: 'Customer Name', 'Type', 'Object Name'"),
        ("Customer Name,Object Type Backed Up,Object Name\r\nC,Mailbox,a\r\nC,Mail", "line 3 has 2 of 3 fields"),
        ('Customer Name,Object Type Backed Up,Object Name\r\nC,Mailbox,"a', "unterminated quote"),
        ("", "empty"),
        ("Customer Name,Object Type Backed Up,Object Name\r\n", "no rows"),
    ],
    ids=["missing-column", "truncated-row", "truncated-quote", "empty", "header-only"],
)
def test_bad_files_exit_3_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    report = tmp_path / "bad.csv"
    report.write_text(body, encoding="utf-8", newline="")
    code, out, err = run(capsys, "users", str(report), "--format", "json")
    assert code == 3 and out == ""
    assert message in err and err.startswith("error: ") and "Traceback" not in err


def test_a_missing_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "users", str(tmp_path / "nope.csv"))
    assert code == 3 and "cannot read" in err


def test_a_message_prints_names_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Not turned into emoji; and printing loads no emoji table, so a message still prints when memory is short.
    missing = tmp_path / ":smile: report.csv"
    code, _, err = run(capsys, "users", str(missing))
    assert code == 3 and f"{missing}: cannot read" in err


def _out_of_memory(*args: object, **kwargs: object) -> NoReturn:
    raise MemoryError


@pytest.mark.parametrize(("fmt", "reader"), [("csv", "read_csv"), ("json", "read_json")])
def test_running_out_of_memory_names_the_file_and_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str, reader: str
) -> None:
    report = tmp_path / f"report.{fmt}"
    text, _ = generate_report_with_counts(customers=2, users_per_customer=3, seed=1, fmt=fmt)
    report.write_text(text, encoding="utf-8", newline="")
    monkeypatch.setattr(views, reader, _out_of_memory)
    code, out, err = run(capsys, "users", str(report), "--format", "json")
    assert code == 1 and out == ""
    assert err.startswith(f"error: {report}: memory ran out") and "unexpected" not in err
    assert "memory limit" in err


# -- connector usage altaro ----------------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[AltaroSandbox]:
    text, _ = generate_report_with_counts(customers=3, users_per_customer=6, seed=8)
    with AltaroSandbox(text, api_key=KEY) as server:
        assert isinstance(server, AltaroSandbox)
        yield server


def write_config(directory: Path, url: str, monkeypatch: pytest.MonkeyPatch, key: str = KEY) -> Path:
    monkeypatch.setenv(KEY_ENV, key)
    return write_vendor_config(
        directory,
        f"""
[altaro]
enabled = true

[[altaro.links]]
name = "all-customers"
url = "{url}"
api_key = {{ env = "{KEY_ENV}" }}
""",
        max_attempts=1,
    )


def test_usage_altaro_fetches_once_then_answers_from_the_store(
    tmp_path: Path, sandbox: AltaroSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sandbox.link_url, monkeypatch)
    code, out, err = run(capsys, "usage", "altaro", "--config", str(config), "--format", "json")
    assert code == 0, err
    first = json.loads(out)
    assert first["complete"] and not first["from_cache"] and len(first["customers"]) == 3
    assert all(c["billed_users"].isdigit() for c in first["customers"])  # exact decimals, as strings
    code, out, err = run(capsys, "usage", "altaro", "--config", str(config))
    assert code == 0 and "from the stored report" in out
    assert len(sandbox.requests) == 1
    assert KEY not in out + err


def test_usage_altaro_with_a_rejected_key_exits_non_zero_without_the_key(
    tmp_path: Path, sandbox: AltaroSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "altaro-wrong-key-88e1d2c3"
    config = write_config(tmp_path, sandbox.link_url, monkeypatch, key=wrong)
    code, out, err = run(capsys, "usage", "altaro", "--config", str(config))
    assert code == 3
    assert "key rejected or this host's IP is not on the link's allow list" in err
    # One sentence per error: the link is named once in the log line and once in the error, not three times.
    assert err.count("'all-customers'") == 2, err
    assert wrong not in out + err and KEY not in out + err
    assert wrong.encode() not in (tmp_path / "state.db").read_bytes()


def test_usage_altaro_disabled_is_a_configuration_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[altaro]\nenabled = false\n")
    code, _, err = run(capsys, "usage", "altaro", "--config", str(config))
    assert code == 2 and "[altaro] enabled = false" in err
