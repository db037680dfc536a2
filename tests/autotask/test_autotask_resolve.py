"""`check --online` and `connector map` for Autotask against the sandbox, every exchange held to the Swagger subset:
the credentials probed through the zone and the request threshold, every demo mapping resolved to its contract
service (or to the service create_if_missing adds), misses said with the nearest name Autotask has."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from importlib import resources
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

import providers
from connector.core.errors import Status
from connector.core.secrets import SecretRef
from connector.interfaces.ledger import FetchLedger
from mappings.customer import CustomerMapping
from providers.autotask.client import AutotaskClient
from providers.autotask.connect import build_autotask_client
from providers.autotask.resolve import contracts, customers, probe, resolve
from providers.autotask.sandbox import AutotaskSandbox
from providers.autotask.settings import AutotaskSettings
from providers.spec import BuildContext, Finding

from .support import HELD, HTTP, MONTH, SERVER_GB, CheckedTransport, settings
from .swagger_check import SwaggerContract


@pytest.fixture(autouse=True)
def checked(monkeypatch: pytest.MonkeyPatch, at_contract: SwaggerContract) -> None:
    """Every client resolve opens holds its requests and answers to the Swagger subset."""

    def build_checked(section: AutotaskSettings, http: Any, **options: Any) -> AutotaskClient:
        return build_autotask_client(
            section, http, transport=CheckedTransport(at_contract), sleep=lambda _: None, **options
        )

    monkeypatch.setattr("providers.autotask.resolve.build_autotask_client", build_checked)


def context(now: Callable[[], datetime] | None = None, timezone: str = "UTC") -> BuildContext:
    # No check here keeps a call-rate rule: the fetch ledger is not needed.
    return BuildContext(HTTP, cast(FetchLedger, None), now=now or (lambda: datetime.now(UTC)), timezone=timezone)


def demo_mappings() -> list[CustomerMapping]:
    text = resources.files(providers).joinpath("demo_mappings.toml").read_text(encoding="utf-8")
    return [CustomerMapping.model_validate(c) for c in tomllib.loads(text)["customers"]]


def mapping(customer: str = "Contoso Ltd", **autotask: Any) -> CustomerMapping:
    return CustomerMapping.model_validate(
        {
            "psa_customer": customer,
            "lines": [
                {
                    "metric": "axcient.server_gb",
                    "contract": "Managed Backup",
                    "autotask": autotask or {"service": "BKP-SERVER-GB"},
                }
            ],
        }
    )


def statuses(found: list[Finding]) -> list[Status]:
    return [f.status for f in found]


# -- the credentials ------------------------------------------------------------------------------------------------


def test_the_credentials_are_probed_with_the_request_threshold(at_sandbox: AutotaskSandbox) -> None:
    [found] = probe(settings(at_sandbox), context())
    assert found.status is Status.OK and found.check == "autotask credentials"
    assert found.note is not None and "of 10,000 requests used this hour on the database" in found.note
    assert [r.path.rsplit("/", 1)[-1] for r in at_sandbox.requests] == ["ZoneInformation", "ThresholdInformation"]


def test_a_wrong_secret_is_invalid_and_not_shown(at_sandbox: AutotaskSandbox) -> None:
    wrong = settings(at_sandbox, secret=SecretRef(value=SecretStr("Not-The-Secret-42")))
    [found] = probe(wrong, context())
    assert found.status is Status.INVALID
    assert found.problem is not None and "Not-The-Secret-42" not in found.problem
    assert "autotask" in found.problem.casefold()


def test_an_unreachable_zone_lookup_is_not_verified(at_sandbox: AutotaskSandbox) -> None:
    gone = settings(at_sandbox, zone_lookup_url="http://127.0.0.1:9/ATServicesRest")
    [found] = probe(gone, context())
    assert found.status is Status.INCOMPLETE


# -- the mappings ---------------------------------------------------------------------------------------------------


def test_every_demo_mapping_is_found_and_create_if_missing_is_noted(at_sandbox: AutotaskSandbox) -> None:
    found = resolve(settings(at_sandbox), context(), demo_mappings())
    assert statuses(found) == [Status.OK] * len(found), [f.problem for f in found if f.problem]
    by_check = {f.check: f for f in found}
    assert set(by_check) >= {"customer 'Contoso Ltd'", "customer 'Fabrikam Inc'", "customer 'Northwind Traders'"}
    server = by_check["service 'Contoso Ltd' / 'Server backup (per GB)'"]
    assert server.note == f"contract 501, service {SERVER_GB}, {HELD} units this month, 0.12 per unit"
    users = by_check["service 'Fabrikam Inc' / 'Microsoft 365 backup (per user)'"]
    assert users.note == "contract 502, service 603, 8 units this month, 3.5 per unit"
    added = [f.note for f in found if f.note and "create_if_missing" in f.note]
    assert added == [
        "service 'Workstation backup (per PC)' would be added to contract 'Managed Backup' (501) at the first push "
        "(create_if_missing)",
        "service 'Workstation backup (per GB)' would be added to contract 'Managed Backup' (502) at the first push "
        "(create_if_missing)",
        "service 'Online backup (per GB)' would be added to contract 'Managed Backup' (503) at the first push "
        "(create_if_missing)",
    ]
    assert at_sandbox.writes() == []


def test_a_service_the_catalogue_lacks_is_invalid_with_the_nearest(at_sandbox: AutotaskSandbox) -> None:
    customer, line = resolve(settings(at_sandbox), context(), [mapping(service="BKP-SERVR-GB")])
    assert customer.status is Status.OK
    assert line.status is Status.INVALID and "catalogue has no service named 'BKP-SERVR-GB'" in (line.problem or "")
    assert line.suggestion == "did you mean 'BKP-SERVER-GB'?"


def test_a_service_the_contract_lacks_is_invalid_with_what_it_bills(at_sandbox: AutotaskSandbox) -> None:
    at_sandbox.add_service("Server backups (per GB)", "BKP-SERVERS-GB", 0.12)
    _, line = resolve(settings(at_sandbox), context(), [mapping(service="BKP-SERVERS-GB")])
    assert line.status is Status.INVALID
    assert "does not bill service 'Server backups (per GB)'" in (line.problem or "")
    assert line.suggestion == "did you mean 'Server backup (per GB)'?"


def test_a_contract_the_company_lacks_is_invalid_with_the_nearest(at_sandbox: AutotaskSandbox) -> None:
    _, line = resolve(settings(at_sandbox), context(), [mapping(contract="Managed Backups", service="BKP-SERVER-GB")])
    assert line.status is Status.INVALID and "has no contract named 'Managed Backups'" in (line.problem or "")
    assert line.suggestion == "did you mean 'Managed Backup'?"


def test_a_contract_that_is_not_recurring_service_is_invalid(at_sandbox: AutotaskSandbox) -> None:
    chosen = mapping(contract="Support Block Hours", service="BKP-SERVER-GB", create_if_missing=True)
    _, line = resolve(settings(at_sandbox), context(), [chosen])
    assert line.status is Status.INVALID and "map the line to a Recurring Service contract" in (line.problem or "")


def test_a_company_autotask_lacks_leaves_its_lines_unchecked(at_sandbox: AutotaskSandbox) -> None:
    customer, line = resolve(settings(at_sandbox), context(), [mapping("Contoso Limited")])
    assert (customer.status, customer.suggestion) == (Status.INVALID, "did you mean 'Contoso Ltd'?")
    assert line.status is Status.INCOMPLETE and "not checked" in (line.problem or "")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda s: s.contracts[501].update(status=0), "is not active"),
        (lambda s: s.adjust(SERVER_GB, 5, MONTH.start + timedelta(days=14)), "bills units that change inside"),
    ],
    ids=["inactive", "changed inside the month"],
)
def test_a_contract_service_the_connector_cannot_set_is_invalid(
    at_sandbox: AutotaskSandbox, change: Callable[[AutotaskSandbox], Any], said: str
) -> None:
    change(at_sandbox)
    _, line = resolve(settings(at_sandbox), context(), [mapping()])
    assert line.status is Status.INVALID and said in (line.problem or "")


def test_the_month_shown_is_the_msp_s_own(at_sandbox: AutotaskSandbox) -> None:
    # 23:00 on the month's last day in New York is already the next month in UTC.
    following = MONTH.end + timedelta(days=1)
    at_sandbox.adjust(SERVER_GB, 10, following)
    evening = datetime.combine(MONTH.end, time(23), tzinfo=ZoneInfo("America/New_York"))
    _, line = resolve(settings(at_sandbox), context(lambda: evening.astimezone(UTC), "America/New_York"), [mapping()])
    assert line.note is not None and f"{HELD} units this month" in line.note


def test_a_wrong_secret_fails_the_lookup_as_invalid(at_sandbox: AutotaskSandbox) -> None:
    wrong = settings(at_sandbox, secret=SecretRef(value=SecretStr("Not-The-Secret-42")))
    [found] = resolve(wrong, context(), [mapping()])
    assert found.status is Status.INVALID and found.check == "autotask companies, contracts and services"


# -- what `connector map` matches against ---------------------------------------------------------------------------


def test_the_lists_connector_map_matches_against(at_sandbox: AutotaskSandbox) -> None:
    at_sandbox.add_company("Gone Ltd", isActive=False)
    known = customers(settings(at_sandbox), context())
    assert (251, "Contoso Ltd") in known and all(name != "Gone Ltd" for _, name in known)
    held = contracts(settings(at_sandbox), context())
    assert sorted(held) == [
        (251, "Contoso Ltd", "Managed Backup"),
        (252, "Fabrikam Inc", "Managed Backup"),
        (253, "Northwind Traders", "Managed Backup"),
    ]  # not the Block Hours contract, which bills no units
