"""Issue 9 row 2: one customer spelled several ways is one customer, and namesakes told apart by ID are blocked."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from connector.cli import main
from providers.altaro.parser import read_payload
from providers.altaro.rules import BillingRules, CustomerCount, ReportTally
from providers.altaro.sandbox import AltaroSandbox
from providers.altaro.settings import AltaroExclusion, AltaroSettings
from providers.altaro.source import AltaroSource

from .conftest import altaro_settings, link

HEADER = ["Customer Name", "Customer ID", "Month", "Object Type Backed Up", "Object Name", "Backed Up Size (GB)"]


def body(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def counts(payload: bytes, altaro: AltaroSettings | None = None) -> list[CustomerCount]:
    altaro = altaro or AltaroSettings()
    rows = read_payload(payload, altaro.columns)
    return ReportTally(BillingRules.from_settings(altaro)).add(rows).customers("2026-11")


def northwind(spellings: list[str], ids: list[str] | None = None) -> list[list[str]]:
    """Five users of one customer, the nth written under spellings[n % len(spellings)]."""
    rows = []
    for n, user in enumerate(["Liam Neal", "Maya Cole", "Noah Park", "Olga Ruiz", "Pete Sand"]):
        customer_id = (ids or ["nw-1"])[n % len(ids or ["nw-1"])]
        rows.append([spellings[n % len(spellings)], customer_id, "2026-11", "Mailbox", user, "1.00"])
    return rows


@pytest.mark.parametrize(
    "spellings",
    [
        ["Northwind Traders", "NORTHWIND TRADERS"],
        ["Northwind Traders", "northwind traders", " Northwind Traders "],
        ["Northwind Traders", "Northwind  Traders", "Northwind\u00a0Traders", "Northwind\tTraders"],
        ["Näher GmbH", "Na\u0308her GmbH"],  # composed and decomposed umlaut
    ],
    ids=["upper-case", "lower-case-and-padding", "inner-whitespace", "unicode-forms"],
)
def test_one_customer_in_several_spellings_is_one_customer_with_every_user(spellings: list[str]) -> None:
    [count] = counts(body(northwind(spellings)))
    assert count.billed_users == 5 and count.backup_gb == Decimal("5.00") and count.problems == []
    assert count.customer == spellings[0].strip()


def test_the_spellings_are_listed_in_the_explanation(make_source: Callable[..., AltaroSource]) -> None:
    with AltaroSandbox(body(northwind(["Northwind Traders", "NORTHWIND TRADERS"]))) as sandbox:
        report = make_source(altaro_settings(link(sandbox.link_url))).collect()  # type: ignore[attr-defined]
    usage = report.customer("NORTHWIND TRADERS")
    assert usage is not None and usage.complete and len(report.customers) == 1
    assert usage.quantities[("altaro.billed_users", "")] == 5
    assert usage.inputs["altaro.billed_users"]["spellings"] == ["Northwind Traders", "NORTHWIND TRADERS"]


def test_namesakes_with_different_customer_ids_are_blocked_never_merged_quietly() -> None:
    [count] = counts(body(northwind(["Northwind Traders", "NORTHWIND TRADERS"], ids=["nw-1", "nw-2"])))
    assert count.billed_users == 5  # never fewer than either
    assert any("nw-1" in p and "nw-2" in p and "ambiguous" in p for p in count.problems), count.problems


def test_one_customer_id_under_two_names_is_blocked_for_both() -> None:
    rows = [*northwind(["Northwind Traders"]), ["Northwind Ltd", "nw-1", "2026-11", "Mailbox", "Quinn Ray", "1"]]
    found = {c.customer: c for c in counts(body(rows))}
    assert set(found) == {"Northwind Traders", "Northwind Ltd"}
    for count in found.values():
        assert any("nw-1" in p and "ambiguous" in p for p in count.problems), count.problems


def test_one_customer_id_under_two_names_in_different_months_is_not_ambiguous() -> None:
    rows = [*northwind(["Northwind Traders"]), ["Northwind Ltd", "nw-1", "2026-12", "Mailbox", "Quinn Ray", "1"]]
    assert all(c.problems == [] for c in counts(body(rows)))


def test_a_blank_customer_id_is_no_conflict() -> None:
    [count] = counts(body(northwind(["Northwind Traders", "NORTHWIND TRADERS"], ids=["nw-1", ""])))
    assert count.billed_users == 5 and count.problems == []


def test_exclusions_for_a_customer_apply_to_every_spelling() -> None:
    altaro = AltaroSettings(
        exclusions=[AltaroExclusion(customer="Northwind Traders", pattern="noah*", reason="a test user")]
    )
    [count] = counts(body(northwind(["Northwind Traders", "NORTHWIND  TRADERS"])), altaro)
    assert count.billed_users == 4 and count.excluded == {"a test user": {"noah park"}}


def test_users_command_shows_one_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no connector.toml here: the defaults
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    report = tmp_path / "report.csv"
    report.write_bytes(body(northwind(["Northwind Traders", "NORTHWIND TRADERS"])))
    code = main(["users", str(report), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [(c["customer"], c["billed_users"]) for c in json.loads(out)] == [("Northwind Traders", 5)]
