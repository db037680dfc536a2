"""`connector autotask …` views against the sandbox, with a generated configuration (keys in environment variables,
as operators are told to) and every exchange held to the Swagger subset: companies, Recurring Service contracts, a
contract's services with this month's units, and invoices dated in a range; the keys show up nowhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.core.config import Settings
from connector.core.errors import ConfigError, ParameterError
from connector.wiring import load_settings
from providers.autotask import views
from providers.autotask.client import AutotaskClient
from providers.autotask.connect import build_autotask_client
from providers.autotask.provider import PROVIDER
from providers.autotask.sandbox import AutotaskSandbox
from providers.autotask.settings import AutotaskSettings
from providers.spec import ViewInput, ViewResult

from .support import HELD, MONTH, SERVER_GB, USERS, CheckedTransport, mid
from .swagger_check import SwaggerContract


@pytest.fixture(autouse=True)
def checked(monkeypatch: pytest.MonkeyPatch, at_contract: SwaggerContract) -> None:
    """Every client a view opens holds its requests and answers to the Swagger subset."""

    def build_checked(section: AutotaskSettings, http: Any, **options: Any) -> AutotaskClient:
        return build_autotask_client(
            section, http, transport=CheckedTransport(at_contract), sleep=lambda _: None, **options
        )

    monkeypatch.setattr("providers.autotask.views.build_autotask_client", build_checked)


def write_config(directory: Path, sandbox: AutotaskSandbox, enabled: bool = True) -> Path:
    """A connector.toml in `directory`: quick retries, and `[autotask]` on the sandbox, its keys in the environment."""
    path = directory / "connector.toml"
    path.write_text(
        f"""
[store]
path = "state.db"

[http]
max_attempts = 2
backoff_initial_seconds = 0

[billing]
timezone = "UTC"

[autotask]
enabled = {"true" if enabled else "false"}
zone_lookup_url = "{sandbox.api_url}"
username = {{ env = "AT_TEST_USERNAME" }}
secret = {{ env = "AT_TEST_SECRET" }}
integration_code = {{ env = "AT_TEST_CODE" }}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(tmp_path: Path, at_sandbox: AutotaskSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AT_TEST_USERNAME", at_sandbox.username)
    monkeypatch.setenv("AT_TEST_SECRET", at_sandbox.secret)
    monkeypatch.setenv("AT_TEST_CODE", at_sandbox.integration_code)
    return write_config(tmp_path, at_sandbox)


@pytest.fixture
def show(config: Path, at_sandbox: AutotaskSandbox) -> Callable[..., ViewResult]:
    """A view of the configuration's Autotask, run as the CLI runs it; no key shows in what it returns."""

    def run(view: Callable[[ViewInput], ViewResult], **args: Any) -> ViewResult:
        loaded: list[Settings] = []

        def settings() -> Settings:
            if not loaded:
                loaded.append(load_settings(config))
            return loaded[0]

        result = view(ViewInput(args=args, settings=settings))
        text = json.dumps(result.data, default=str) + repr(result.tables) + repr(result.notes)
        assert at_sandbox.secret not in text and at_sandbox.integration_code not in text
        return result

    return run


def rows(result: ViewResult) -> list[tuple[Any, ...]]:
    [table] = result.tables
    return [tuple(row) for row in table.rows]


def test_the_views_are_declared_for_the_cli() -> None:
    assert [v.name for v in PROVIDER.views] == ["companies", "contracts", "services", "invoices"]


def test_companies_as_data_and_as_a_table(show: Callable[..., ViewResult], at_sandbox: AutotaskSandbox) -> None:
    at_sandbox.add_company("Gone Ltd", isActive=False)
    result = show(views.companies)
    names = {c["companyName"]: c for c in result.data}
    assert {"Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Gone Ltd"} <= set(names)
    assert names["Contoso Ltd"] == {"id": 251, "companyName": "Contoso Ltd", "isActive": True}
    assert result.tables[0].columns == ["ID", "name", "active"]
    assert (251, "Contoso Ltd", "yes") in rows(result)
    assert any(row[1:] == ("Gone Ltd", "no") for row in rows(result))


def test_recurring_service_contracts_of_all_or_one_company(show: Callable[..., ViewResult]) -> None:
    every = show(views.contracts)
    assert sorted((c["id"], c["companyID"]) for c in every.data) == [(501, 251), (502, 252), (503, 253)]
    one = show(views.contracts, company_id=251)
    assert [(c["id"], c["contractName"], c["contractType"]) for c in one.data] == [(501, "Managed Backup", 7)]
    assert rows(one) == [(501, 251, "Managed Backup", 1, date(2024, 1, 1), "")]


def test_a_contract_s_services_with_this_month_s_units(
    show: Callable[..., ViewResult], at_sandbox: AutotaskSandbox
) -> None:
    at_sandbox.adjust(SERVER_GB, 612 - HELD, MONTH.start)
    result = show(views.services, contract_id=501)
    table = result.tables[0]
    assert table.columns[-1] == f"units {MONTH.key}" and "unit price" in table.numeric
    assert rows(result) == [
        (USERS, 401, "Microsoft 365 backup (per user)", Decimal("3.5"), 10),
        (SERVER_GB, 402, "Server backup (per GB)", Decimal("0.12"), 612),
    ]
    by_id = {s["id"]: s for s in result.data}
    assert by_id[SERVER_GB]["units"] == 612 and by_id[SERVER_GB]["unitPrice"] == "0.12"  # exact, as text


def test_the_units_shown_are_those_the_month_bills_now(
    show: Callable[..., ViewResult], at_sandbox: AutotaskSandbox
) -> None:
    # A contract that starts inside the month has no record on its first day; an adjustment dated inside the month
    # starts one of its own: the figure shown is the month's last, the one the sink sets.
    started = at_sandbox.add_contract(253, "Cloud Backup", start=mid(MONTH))
    service = at_sandbox.add_contract_service(started["id"], 405, 0.1)
    at_sandbox.adjust(service["id"], 40, mid(MONTH))
    assert rows(show(views.services, contract_id=started["id"])) == [
        (service["id"], 405, "Online backup (per GB)", Decimal("0.1"), 40)
    ]
    at_sandbox.adjust(SERVER_GB, 5, mid(MONTH) + timedelta(days=1))
    by_id = {row[0]: row for row in rows(show(views.services, contract_id=501))}
    assert by_id[SERVER_GB][-1] == HELD + 5


def test_invoices_dated_in_a_range(show: Callable[..., ViewResult], at_sandbox: AutotaskSandbox) -> None:
    first, last = MONTH.end + timedelta(days=1), MONTH.end + timedelta(days=31)
    none = show(views.invoices, date_from=first, date_to=last)
    assert none.data == [] and none.notes == [f"no invoice dated {first} to {last}"]
    made = at_sandbox.invoice(MONTH.start, on=first)
    result = show(views.invoices, date_from=first, date_to=last)
    assert {i["id"] for i in result.data} == {i["id"] for i in made}
    assert result.notes == []
    contoso = next(row for row in rows(result) if row[2] == 251)
    assert contoso[1] == first and contoso[3] == f"{MONTH.start} to {MONTH.end}" and contoso[5] == ""
    assert show(views.invoices, date_from=last + timedelta(days=1), date_to=last + timedelta(days=9)).data == []


def test_an_invoice_range_that_ends_before_it_starts_is_refused(show: Callable[..., ViewResult]) -> None:
    with pytest.raises(ParameterError, match="is before --from"):
        show(views.invoices, date_from=MONTH.end, date_to=MONTH.start)


def test_a_disabled_section_is_a_configuration_error(
    tmp_path: Path, at_sandbox: AutotaskSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, at_sandbox, enabled=False)
    with pytest.raises(ConfigError, match=r"\[autotask\] enabled = false"):
        views.companies(ViewInput(args={}, settings=lambda: load_settings(path)))
    assert at_sandbox.requests == []
