"""Issue 9 rows 3-5 on the Altaro side: a negative, non-finite or absurd size never becomes a quantity.

That customer's usage is marked incomplete, with the line; every other customer is counted and billed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from connector.cli import main
from connector.core.errors import DataError
from connector.interfaces.usage import UsageReport
from connector.operations.demo import running_sandboxes, write_config
from providers.altaro.demo import demo_report
from providers.altaro.parser import read_payload
from providers.altaro.rules import BillingRules, CustomerCount, ReportTally
from providers.altaro.sandbox import AltaroSandbox
from providers.altaro.settings import AltaroSettings
from providers.altaro.source import AltaroSource
from tests.clock import MONTH

from .conftest import altaro_settings, link

DEFAULT = AltaroSettings()
HEADER = "Customer Name,Object Type Backed Up,Object Name,Backed Up Size (GB)\r\n"
BAD = ["-1.50", "-0.01", "NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "1e400", "1E+999999999", "100001"]


def counts(body: bytes | str, content_type: str | None = None) -> dict[str, CustomerCount]:
    payload = body.encode() if isinstance(body, str) else body
    rows = read_payload(payload, DEFAULT.columns, content_type=content_type)
    found = ReportTally(BillingRules.from_settings(DEFAULT)).add(rows).customers("2026-11")
    return {c.customer: c for c in found}


def report_with(size: str) -> str:
    return HEADER + f"Good,Mailbox,a,1.25\r\nBad,Mailbox,b,2.00\r\nBad,OneDrive,b,{size}\r\nGood,Mailbox,c,0.75\r\n"


@pytest.mark.parametrize("size", BAD)
def test_a_bad_size_is_that_customers_problem_with_its_line(size: str) -> None:
    found = counts(report_with(size))
    good, bad = found["Good"], found["Bad"]
    assert good.problems == [] and good.backup_gb == Decimal("2.00") and good.billed_users == 2
    [problem] = bad.problems
    assert "line 4" in problem and repr(size) in problem and "bad vendor data" in problem
    assert bad.backup_gb is None  # no partial sum: a wrong number is worse than none


@pytest.mark.parametrize(
    ("size", "why"),
    [("-1.50", "negative"), ("NaN", "not a finite number"), ("Infinity", "not a finite number"), ("1e400", "over")],
)
def test_the_problem_says_what_is_wrong(size: str, why: str) -> None:
    assert why in counts(report_with(size))["Bad"].problems[0]


def test_many_bad_sizes_are_counted_not_all_listed() -> None:
    rows = "".join(f"Bad,Mailbox,u{n},-1\r\n" for n in range(12))
    [problem, *rest] = counts(HEADER + rows)["Bad"].problems
    assert "line 2" in problem and rest[-1].startswith("12 rows have a bad backed-up size")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-2", "9" * 5000])
def test_json_numbers_that_are_not_sizes(literal: str) -> None:
    body = (
        '[{"Customer Name": "Good", "Object Type Backed Up": "Mailbox", "Object Name": "a", '
        '"Backed Up Size (GB)": 1.5}, {"Customer Name": "Bad", "Object Type Backed Up": "Mailbox", '
        f'"Object Name": "b", "Backed Up Size (GB)": {literal}}}]'
    )
    found = counts(body, "application/json")
    assert found["Good"].backup_gb == Decimal("1.5") and found["Good"].problems == []
    assert "item 2" in found["Bad"].problems[0] and found["Bad"].backup_gb is None


@pytest.mark.parametrize(
    ("body", "message"),
    [("[" * 100_000 + "]" * 100_000, "nested too deeply"), (b'[{"Customer Name": "\xff"}]', "not UTF-8")],
    ids=["deep-nesting", "not-utf8"],
)
def test_json_bodies_that_break_the_decoder_are_data_errors(body: str | bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        counts(body, "application/json")


def test_the_source_blocks_only_the_bad_customer(make_source: Callable[..., AltaroSource]) -> None:
    with AltaroSandbox(report_with("NaN")) as sandbox:
        report: UsageReport = make_source(altaro_settings(link(sandbox.link_url))).collect()  # type: ignore[attr-defined]
    good, bad = report.customer("Good"), report.customer("Bad")
    assert good is not None and good.complete and good.quantities[("altaro.backup_gb", "")] == Decimal("2.00")
    assert bad is not None and not bad.complete and "line 4" in bad.problems[0]
    assert ("altaro.backup_gb", "") not in bad.quantities
    for usage in report.customers:
        assert all(q.is_finite() and q >= 0 for q in usage.quantities.values())


def test_sync_pushes_every_other_customer_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    month = MONTH  # the sandboxes serve the month the clock is in
    with running_sandboxes(tmp_path, month) as sandboxes:
        sandboxes["altaro"].set_report(demo_report(month).replace("Ina Park,2.75", "Ina Park,NaN", 1))  # Fabrikam
        config = write_config(tmp_path, sandboxes)
        code = main(["sync", "--config", str(config), "--format", "json", "--period", month])
    out, err = capsys.readouterr()
    assert code == 3, err
    lines = {(line["psa_customer"], line["metric"]): line for line in json.loads(out)["lines"]}
    assert lines[("Fabrikam Inc", "altaro.billed_users")]["outcome"] == "blocked"
    assert "line 21" in lines[("Fabrikam Inc", "altaro.billed_users")]["reason"]
    assert lines[("Contoso Ltd", "altaro.billed_users")]["outcome"] == "pushed"
    assert lines[("Northwind Traders", "altaro.billed_users")]["outcome"] == "pushed"
