"""The CLI builds a provider's read-only views from its registry declaration: a new vendor needs no CLI change."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import pytest

import providers
from connector.cli import build_app, run
from connector.core.errors import ParameterError, Status
from connector.interfaces.usage import UsageReport
from connector.store import Store
from providers.spec import CONFIG, FORMAT, Param, Table, View, ViewInput, ViewResult

from ..fakevendor.provider import PROVIDER as SEATS
from ..fakevendor.provider import SEATS as LICENSED


def usage(view: ViewInput) -> ViewResult:
    report: UsageReport = view.fetched
    rows = [(c.vendor_customer, c.quantities[(LICENSED, "")]) for c in report.customers]
    idle = [f"problem: {customer} holds no seat" for customer, seats in rows if not seats]
    return ViewResult(
        data={customer: seats for customer, seats in rows},
        tables=[Table("Seats", ["customer", "seats"], rows, numeric=("seats",))],
        notes=[f"{len(rows)} customer(s)"],
        problems=idle,
        status=Status.INCOMPLETE if idle else Status.OK,
    )


def licences(view: ViewInput) -> ViewResult:
    since: date | None = view.args["since"]
    if since is not None and since > date(2030, 1, 1):
        raise ParameterError(f"{since} is in the future", param="--since")
    held = view.settings().section("seats").seats.get(view.args["customer"], 0)
    return ViewResult(data={**view.args, "seats": held}, tables=[Table("Licences", ["seats"], [(held,)])])


def seat_file(view: ViewInput) -> ViewResult:
    # Offline: without a configuration file the section's defaults apply.
    enabled = view.settings().enabled("seats")
    return ViewResult(data={"file": view.args["path"].name, "enabled": enabled})


VIEWS = (
    View(
        "seat-file",
        "Read a seat export (offline).",
        seat_file,
        params=(Param("path", "The export.", Path, required=True), CONFIG, FORMAT),
        group="top",
        needs_config=False,
    ),
    View("seats", "Count the seats each customer holds (and record them).", usage, group="usage"),
    View(
        "licences",
        "Show one customer's licences.\n\nReads the configuration only.",
        licences,
        params=(
            Param("customer", "Vendor customer name.", flag="--customer", required=True),
            CONFIG,
            Param("since", "First day (yyyy-mm-dd).", date, flag="--since"),
            Param("spare", "Count spare seats too.", bool, flag="--spare"),
            FORMAT,
        ),
    ),
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = dataclasses.replace(SEATS, views=VIEWS, views_help="Read the seat vendor (nothing is written).")
    monkeypatch.setitem(providers.REGISTRY, SEATS.name, declared)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text('[store]\npath = "state.db"\n\n[seats]\nenabled = true\nseats = { "Acme" = 7, "Initech" = 0 }\n')
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(build_app(), list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_views_become_commands_with_their_help(registered: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--help")
    assert code == 0 and "seats" in out and "Read the seat vendor" in out
    code, out, _ = cli(capsys, "usage", "--help")
    assert code == 0 and "Count the seats each customer holds" in out
    code, out, _ = cli(capsys, "seats", "licences", "--help")
    assert code == 0 and "Reads the configuration only." in out
    for option in ("--customer", "--config", "--since", "--spare", "--format"):
        assert option in out
    assert out.index("--customer") < out.index("--config") < out.index("--since") < out.index("--format")


def test_a_usage_view_fetches_through_the_operations_and_records(
    registered: None, config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = cli(capsys, "usage", "seats", "--config", str(config), "--format", "json")
    assert code == 3 and json.loads(out) == {"Acme": "7", "Initech": "0"}
    assert err.strip() == "problem: Initech holds no seat"
    with Store.open(tmp_path / "state.db") as store:
        assert {o.vendor_customer for o in store.observations.query("seats")} == {"Acme", "Initech"}
    code, out, _ = cli(capsys, "usage", "seats", "--config", str(config))
    assert code == 3 and "Seats" in out and "Acme" in out and out.rstrip().endswith("2 customer(s)")


def test_a_view_gets_its_parameters_parsed(registered: None, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("seats", "licences", "--customer", "Acme", "--config", str(config), "--format", "json")
    code, out, err = cli(capsys, *args, "--since", "2026-11-01", "--spare")
    assert code == 0, err
    assert json.loads(out) == {"customer": "Acme", "since": "2026-11-01", "spare": True, "seats": 7}
    code, out, _ = cli(capsys, *args)
    assert code == 0 and json.loads(out) == {"customer": "Acme", "since": None, "spare": False, "seats": 7}


@pytest.mark.parametrize(
    ("since", "message"),
    [("2026-13-01", "'2026-13-01' is not a date (yyyy-mm-dd)"), ("2031-01-01", "2031-01-01 is in the future")],
)
def test_a_bad_value_is_a_usage_error_naming_the_option(
    registered: None, config: Path, capsys: pytest.CaptureFixture[str], since: str, message: str
) -> None:
    code, out, err = cli(capsys, "seats", "licences", "--customer", "Acme", "-c", str(config), "--since", since)
    assert code == 2 and out == ""
    assert f"Invalid value for --since: {message}" in err


def test_a_disabled_source_s_usage_view_is_a_configuration_error(
    registered: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    off = tmp_path / "off.toml"
    off.write_text("[seats]\nenabled = false\n")
    code, _, err = cli(capsys, "usage", "seats", "--config", str(off))
    assert code == 2 and err.strip() == "error: [seats] enabled = false: enable it"


def test_a_top_level_view_takes_an_argument_and_may_run_without_a_configuration(
    registered: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    code, out, err = cli(capsys, "seat-file", "export.csv", "-f", "json")
    assert code == 0, err
    assert json.loads(out) == {"file": "export.csv", "enabled": False}
    code, _, err = cli(capsys, "seat-file", "export.csv", "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml" in err
