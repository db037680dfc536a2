"""Autotask onboarding against the sandbox: the plan says what Autotask holds and what it will create, creating makes
exactly that (every request and answer checked against the Swagger subset), and a run stopped between any two
creates is finished by the next one with nothing made twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from pydantic import SecretStr

from connector.core.errors import ConfigError, ConnectorError
from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from connector.interfaces.ledger import FetchLedger
from providers.autotask import connect
from providers.autotask import onboard as onboard_module
from providers.autotask import sandbox_query as query
from providers.autotask.client import AutotaskClient
from providers.autotask.models import FieldInformation, PicklistValue
from providers.autotask.onboard import UNKNOWN_PHONE, AutotaskOnboarder, required
from providers.autotask.onboard_plan import Options, person_names
from providers.autotask.sandbox import API_PREFIX, AutotaskSandbox
from providers.autotask.settings import AutotaskSettings
from providers.autotask.verify import psa_ref
from providers.onboarding import ContractWanted, CustomerPlan, NewCustomer, VendorContact
from providers.sandbox import SandboxRequest, SandboxResponse
from providers.spec import BuildContext

from .conftest import at_client
from .swagger_check import SwaggerContract

START = date(2026, 11, 1)
EMAIL = "dev@tailspin.example"
OWNER = 4  # the sandbox's one resource
SERVER_GB, PC_GB = 402, 404  # catalogue services: "Server backup (per GB)", "Workstation backup (per GB)"


def line(
    metric: str = "axcient.server_gb",
    service: str | None = "BKP-SERVER-GB",
    rate: str | None = "0.12",
    *,
    contract: str = "Managed Backup",
    start: date = START,
    on: str | None = None,
    **options: Any,
) -> ContractWanted:
    """A template line; `on` is the option `contract`, the Autotask contract it is billed on."""
    given = {"service": service, **options} if service is not None else dict(options)
    if on is not None:
        given["contract"] = on
    return ContractWanted(
        contract, metric, Decimal(rate) if rate else None, "Monthly", start, start.strftime("%Y-%m"), given
    )


# One by SKU, one by name: the sync finds a catalogue service either way.
TWO_LINES = (line(), line("axcient.pc_gb", "Workstation backup (per GB)", "0.15"))


def new(name: str = "Tailspin Toys", *lines: ContractWanted, email: str | None = EMAIL) -> NewCustomer:
    contact = VendorContact("axcient", "4", name, "Dev van Diaz", email) if email else None
    return NewCustomer(name, (("axcient", name, "4"),), contact, lines or TWO_LINES)


def onboarder(
    sandbox: AutotaskSandbox, contract: SwaggerContract, *, owner: int | None = OWNER, company_type: str = "Customer"
) -> AutotaskOnboarder:
    """An onboarder whose every request and answer is checked against the Swagger subset. It sends the headers
    `connect.build_autotask_client` gives every request (a body is JSON)."""
    headers = {**sandbox.auth_headers(), "Content-Type": "application/json"}
    client = AutotaskClient(at_client(sandbox, contract, headers=headers))
    return AutotaskOnboarder(client, Options(company_type, "Monthly", owner))


@pytest.fixture
def at(at_sandbox: AutotaskSandbox, at_contract: SwaggerContract) -> Iterator[AutotaskOnboarder]:
    made = onboarder(at_sandbox, at_contract)
    yield made
    made.close()


Told = list[tuple[str, dict[str, Any]]]


def create(at: AutotaskOnboarder, plan: CustomerPlan) -> Told:
    told: Told = []
    at.create(plan, lambda event, details: told.append((event, details)))
    return told


def steps(plan: CustomerPlan) -> list[tuple[str, str, bool]]:
    return [(s.kind, s.name, s.creates) for s in plan.steps]


def writes(sandbox: AutotaskSandbox) -> list[tuple[str, str]]:
    return [(w.method, w.path.removeprefix(API_PREFIX)) for w in sandbox.writes()]


def company_named(sandbox: AutotaskSandbox, name: str) -> list[dict[str, Any]]:
    return [c for c in sandbox.companies.values() if c["companyName"] == name]


def everything_once(sandbox: AutotaskSandbox) -> None:
    """Tailspin Toys onboarded whole, and nothing of it twice."""
    [company] = company_named(sandbox, "Tailspin Toys")
    contacts = [c for c in sandbox.contacts.values() if c["companyID"] == company["id"]]
    assert [c["emailAddress"] for c in contacts] == [EMAIL]
    [contract] = [c for c in sandbox.contracts.values() if c["companyID"] == company["id"]]
    services = sorted(s["serviceID"] for s in sandbox.contract_services.values() if s["contractID"] == contract["id"])
    assert services == [SERVER_GB, PC_GB]


def test_a_new_customer_needs_everything_and_gets_exactly_what_the_plan_shows(
    at: AutotaskOnboarder, at_sandbox: AutotaskSandbox
) -> None:
    adjustments = len(at_sandbox.adjustments)
    [plan] = at.plan([new()])
    assert steps(plan) == [
        ("customer", "Tailspin Toys", True),
        ("contact", f"Dev van Diaz <{EMAIL}>", True),
        ("contract", "Managed Backup", True),
        ("contract service", "Managed Backup / BKP-SERVER-GB", True),
        ("contract service", "Managed Backup / Workstation backup (per GB)", True),
    ]
    assert plan.problems == () and plan.notes == ()
    shown = [s.detail for s in plan.steps]
    assert shown[0].startswith(f"type Customer, owner resource {OWNER}, phone 'unknown' (Autotask requires one")
    assert shown[0].endswith("from axcient 'Tailspin Toys' (id 4)")
    assert shown[1] == "main contact Dev van Diaz, from axcient"
    assert shown[2] == "Recurring Service, Monthly, active, first period 2026-11, from 2026-11-01"
    assert shown[3] == (
        "service 'Server backup (per GB)' (402), 0.12 per unit, units 0, first period 2026-11, from 2026-11-01"
    )
    assert writes(at_sandbox) == []

    told = create(at, plan)
    company_id = told[0][1]["company_id"]
    contract_id = told[2][1]["contract_id"]
    assert writes(at_sandbox) == [
        ("POST", "/V1.0/Companies"),
        ("POST", f"/V1.0/Companies/{company_id}/Contacts"),
        ("POST", "/V1.0/Contracts"),
        ("POST", f"/V1.0/Contracts/{contract_id}/Services"),
        ("POST", f"/V1.0/Contracts/{contract_id}/Services"),
    ]
    assert [event for event, _ in told] == [
        "autotask.company_created",
        "autotask.contact_created",
        "autotask.contract_created",
        "autotask.contract_service_created",
        "autotask.contract_service_created",
    ]
    everything_once(at_sandbox)
    company = at_sandbox.companies[company_id]
    assert (company["companyType"], company["ownerResourceID"], company["phone"]) == (1, OWNER, UNKNOWN_PHONE)
    [contact] = [c for c in at_sandbox.contacts.values() if c["companyID"] == company_id]
    assert (contact["firstName"], contact["lastName"], contact["primaryContact"]) == ("Dev", "van Diaz", True)
    made = at_sandbox.contracts[contract_id]
    assert {k: made[k] for k in ("contractName", "contractType", "status", "startDate", "contractPeriodType")} == {
        "contractName": "Managed Backup",
        "contractType": 7,
        "status": 1,
        "startDate": "2026-11-01T00:00:00",
        "contractPeriodType": 1,
    }
    assert made["contactID"] == contact["id"]
    for _, details in told[3:]:
        held = at_sandbox.contract_services[details["contract_service_id"]]
        assert (held["contractID"], held["serviceID"]) == (contract_id, details["service_id"])
        # The audit's psa_ref is how the sync knows this 0 units as the connector's.
        assert details["psa_ref"] == psa_ref(contract_id, details["contract_service_id"])
        assert details["units"] == "0"
        assert at_sandbox.units_on(details["contract_service_id"], START) == 0
    prices = [at_sandbox.contract_services[d["contract_service_id"]]["unitPrice"] for _, d in told[3:]]
    assert prices == [0.12, 0.15]
    assert len(at_sandbox.adjustments) == adjustments  # no adjustment: the first sync sets the units


def test_what_autotask_holds_is_found_and_nothing_is_written(
    at: AutotaskOnboarder, at_sandbox: AutotaskSandbox
) -> None:
    # Contoso Ltd, Ada's e-mail, its Managed Backup contract and its server backup service are all in the sandbox.
    [plan] = at.plan([new("Contoso Ltd", line(), email="ada@contoso.example")])
    assert [(s.kind, s.existing) for s in plan.steps] == [
        ("customer", 251),
        ("contact", 302),
        ("contract", 501),
        ("contract service", 602),
    ]
    assert plan.creates == [] and plan.problems == ()
    assert create(at, plan) == []
    assert writes(at_sandbox) == []


def test_a_held_contract_is_found_by_name_and_gets_only_the_missing_service(
    at: AutotaskOnboarder, at_sandbox: AutotaskSandbox
) -> None:
    # Fabrikam's Managed Backup (502) bills Microsoft 365 backup only.
    lines = (line("altaro.billed_users", "BKP-M365-USER", "3.50"), line(contract="managed backup "))
    [plan] = at.plan([new("Fabrikam Inc", *lines, email="ben@fabrikam.example")])
    assert [(s.kind, s.name, s.existing) for s in plan.steps] == [
        ("customer", "Fabrikam Inc", 252),
        ("contact", "Dev van Diaz <ben@fabrikam.example>", 303),
        ("contract", "Managed Backup", 502),
        ("contract service", "Managed Backup / BKP-M365-USER", 603),
        ("contract service", "Managed Backup / BKP-SERVER-GB", None),
    ]
    told = create(at, plan)
    assert writes(at_sandbox) == [("POST", "/V1.0/Contracts/502/Services")]
    [(event, details)] = told
    assert (event, details["contract_id"], details["service_id"]) == ("autotask.contract_service_created", 502, 402)
    assert details["psa_ref"] == psa_ref(502, details["contract_service_id"])


def test_a_contract_the_company_lacks_is_added_to_it(at: AutotaskOnboarder, at_sandbox: AutotaskSandbox) -> None:
    wanted = new("Contoso Ltd", line(), line("axcient.devices", "BKP-WS-PC", "4.00", contract="Devices"))
    [plan] = at.plan([wanted])
    assert [(s.kind, s.name) for s in plan.creates] == [
        ("contact", f"Dev van Diaz <{EMAIL}>"),
        ("contract", "Devices"),
        ("contract service", "Devices / BKP-WS-PC"),
    ]
    told = create(at, plan)
    made = at_sandbox.contracts[told[1][1]["contract_id"]]
    contact = at_sandbox.contacts[told[0][1]["contact_id"]]
    # A contact added to a held company is not made its primary one.
    assert (made["companyID"], made["contactID"], contact.get("primaryContact")) == (251, contact["id"], None)


def test_one_contract_per_contract_name_starting_with_its_earliest_line(
    at: AutotaskOnboarder, at_sandbox: AutotaskSandbox
) -> None:
    lines = (
        line(contract="Server backup", start=date(2026, 12, 1), on="Backup"),
        line("axcient.pc_gb", "BKP-WS-GB", "0.15", contract="PC backup", on="backup"),
        line("altaro.billed_users", "BKP-M365-USER", "3.50", contract="Microsoft 365 backup"),
    )
    [plan] = at.plan([new("Tailspin Toys", *lines)])
    assert [(s.kind, s.name) for s in plan.steps[2:]] == [
        ("contract", "Backup"),
        ("contract service", "Backup / BKP-SERVER-GB"),
        ("contract service", "Backup / BKP-WS-GB"),
        ("contract", "Microsoft 365 backup"),
        ("contract service", "Microsoft 365 backup / BKP-M365-USER"),
    ]
    told = create(at, plan)
    made = [d for e, d in told if e == "autotask.contract_created"]
    starts = {d["name"]: at_sandbox.contracts[d["contract_id"]]["startDate"] for d in made}
    assert starts == {"Backup": "2026-11-01T00:00:00", "Microsoft 365 backup": "2026-11-01T00:00:00"}


class Stop(Exception):
    """The process dies here."""


def crash_after(count: int) -> Any:
    told: Told = []

    def tell(event: str, details: dict[str, Any]) -> None:
        told.append((event, details))
        if len(told) == count:
            raise Stop(event)

    return tell


def test_a_rerun_after_the_company_was_made_finds_it_and_makes_only_the_rest(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract
) -> None:
    first = onboarder(at_sandbox, at_contract)
    [plan] = first.plan([new()])
    with pytest.raises(Stop):
        first.create(plan, crash_after(1))
    first.close()
    [company] = company_named(at_sandbox, "Tailspin Toys")
    again = onboarder(at_sandbox, at_contract)
    [plan] = again.plan([new()])
    assert [(s.kind, s.existing) for s in plan.steps] == [
        ("customer", company["id"]),
        ("contact", None),
        ("contract", None),
        ("contract service", None),
        ("contract service", None),
    ]
    told = create(again, plan)
    assert [event for event, _ in told] == [
        "autotask.contact_created",
        "autotask.contract_created",
        "autotask.contract_service_created",
        "autotask.contract_service_created",
    ]
    everything_once(at_sandbox)
    again.close()


@pytest.mark.parametrize("count", range(1, 6))
def test_a_run_that_dies_after_any_create_is_finished_by_the_next_with_nothing_twice(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract, count: int
) -> None:
    first = onboarder(at_sandbox, at_contract)
    [plan] = first.plan([new()])
    with pytest.raises(Stop):
        first.create(plan, crash_after(count))
    first.close()
    again = onboarder(at_sandbox, at_contract)
    [plan] = again.plan([new()])
    assert len(plan.creates) == 5 - count
    create(again, plan)
    everything_once(at_sandbox)
    assert len(at_sandbox.writes()) == 5
    again.close()


@pytest.mark.parametrize("refused", range(1, 6))
def test_a_create_autotask_refuses_stops_the_run_and_the_next_makes_only_the_rest(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract, refused: int
) -> None:
    seen: list[SandboxRequest] = []

    def refuse_one(request: SandboxRequest) -> SandboxResponse | None:
        seen.append(request)
        return query.refused("refused") if len(seen) == refused else None

    at_sandbox.before_write = refuse_one
    first = onboarder(at_sandbox, at_contract)
    [plan] = first.plan([new()])
    with pytest.raises(ConnectorError):
        create(first, plan)
    assert len(at_sandbox.writes()) == refused - 1
    at_sandbox.before_write = None
    again = onboarder(at_sandbox, at_contract)
    [plan] = again.plan([new()])
    assert len(plan.creates) == 5 - (refused - 1)
    create(again, plan)
    everything_once(at_sandbox)


def test_a_catalogue_service_autotask_lacks_is_a_problem_and_nothing_is_written(
    at: AutotaskOnboarder, at_sandbox: AutotaskSandbox
) -> None:
    [plan] = at.plan([new("Tailspin Toys", line(), line("axcient.pc_gb", "BKP-PC-GB", "0.15"))])
    [problem] = plan.problems
    assert problem.startswith(
        "[mapping.templates] axcient.pc_gb (contract 'Managed Backup'): Autotask's catalogue has no service named "
        "'BKP-PC-GB'"
    )
    assert problem.endswith("onboarding creates no catalogue service: create it in Autotask")
    with pytest.raises(ConfigError):
        create(at, plan)
    assert writes(at_sandbox) == []
    at_sandbox.add_service("PC backup (per GB)", "BKP-PC-GB", 0.15)
    [plan] = at.plan([new("Tailspin Toys", line(), line("axcient.pc_gb", "BKP-PC-GB", "0.15"))])
    assert plan.problems == ()


def test_an_unset_owner_resource_is_a_problem_only_for_a_company_to_create(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract
) -> None:
    at = onboarder(at_sandbox, at_contract, owner=None)
    tailspin, contoso = at.plan([new(), new("Contoso Ltd", line(), email="ada@contoso.example")])
    assert tailspin.problems == (
        "[autotask] owner_resource_id is not set: Autotask requires an owner resource on every company; set it to "
        "the id of the resource that owns the companies onboarding creates",
    )
    assert contoso.problems == ()
    with pytest.raises(ConfigError, match="owner_resource_id"):
        create(at, tailspin)
    assert writes(at_sandbox) == []
    at.close()


def test_a_company_type_autotask_lacks_names_the_key_and_the_known_types(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract
) -> None:
    at = onboarder(at_sandbox, at_contract, company_type="Client")
    [plan] = at.plan([new()])
    [problem] = plan.problems
    assert problem.startswith("[autotask] company_type = 'Client': Autotask has no active company type of that label")
    assert "(it has 'Customer', 'Lead', 'Prospect', 'Dead', 'Cancellation', 'Vendor', 'Partner')" in problem
    at.close()


@pytest.mark.parametrize(
    ("wanted", "problem"),
    [
        (line(service=None), 'give autotask = { service = "…" }'),
        (line(contract_id=501), "autotask contract_id names one record of one customer"),
        (line(contract_service_id=602), "autotask contract_service_id names one record of one customer"),
        (line(service=None, service_id="x"), "autotask service_id 'x' is not an id"),
        (line(service=None, service_id=999), "Autotask has no service 999 in its catalogue"),
    ],
)
def test_a_template_onboarding_cannot_follow_is_a_problem_and_nothing_is_written(
    at: AutotaskOnboarder, at_sandbox: AutotaskSandbox, wanted: ContractWanted, problem: str
) -> None:
    [plan] = at.plan([new("Tailspin Toys", wanted)])
    assert problem in plan.problems[0]
    with pytest.raises(ConfigError):
        create(at, plan)
    assert writes(at_sandbox) == []


def test_a_catalogue_service_named_by_id_is_billed(at: AutotaskOnboarder, at_sandbox: AutotaskSandbox) -> None:
    [plan] = at.plan([new("Tailspin Toys", line(service=None, service_id=403, rate=None))])
    assert plan.steps[-1].name == "Managed Backup / service 403"
    assert "at the catalogue's 4.0 per unit" in plan.steps[-1].detail
    told = create(at, plan)
    assert at_sandbox.contract_services[told[-1][1]["contract_service_id"]]["unitPrice"] == 4.0


def test_two_templates_of_one_service_on_one_contract_is_a_problem(at: AutotaskOnboarder) -> None:
    [plan] = at.plan([new("Tailspin Toys", line(), line("axcient.total_gb", "Server backup (per GB)"))])
    assert "bills service 'Server backup (per GB)' on contract 'Managed Backup' too" in plan.problems[0]


def test_a_held_contract_that_cannot_carry_units_is_a_problem(
    at: AutotaskOnboarder, at_sandbox: AutotaskSandbox
) -> None:
    # Contoso's Support Block Hours (504) is a Block Hours contract.
    [plan] = at.plan([new("Contoso Ltd", line(contract="Support Block Hours"))])
    assert "has contract 'Support Block Hours' (504 of type 4), not an active Recurring Service" in plan.problems[0]
    at_sandbox.contracts[501]["status"] = 0
    [plan] = at.plan([new("Contoso Ltd", line())])
    assert "(501 not active)" in plan.problems[0]


def test_two_companies_of_the_name_ask_for_the_id(at: AutotaskOnboarder, at_sandbox: AutotaskSandbox) -> None:
    at_sandbox.add_company("contoso ltd")
    [plan] = at.plan([new("Contoso Ltd")])
    assert plan.steps == () and "psa_customer_id" in plan.problems[0]


def test_a_company_made_since_the_plan_is_not_made_twice(at: AutotaskOnboarder, at_sandbox: AutotaskSandbox) -> None:
    [plan] = at.plan([new()])
    at_sandbox.add_company("Tailspin Toys")
    with pytest.raises(ConfigError, match="since the plan was made"):
        create(at, plan)
    assert writes(at_sandbox) == []


def test_without_an_e_mail_the_contract_has_no_contact(at: AutotaskOnboarder, at_sandbox: AutotaskSandbox) -> None:
    [plan] = at.plan([new(email=None)])
    assert [s.kind for s in plan.steps] == ["customer", "contract", "contract service", "contract service"]
    assert plan.notes == ("no contact: axcient gives no e-mail for it",)
    told = create(at, plan)
    assert at_sandbox.contracts[told[1][1]["contract_id"]].get("contactID") is None
    assert [e for e, _ in told].count("autotask.contact_created") == 0


def test_a_customer_with_no_template_gets_its_company_only(at: AutotaskOnboarder, at_sandbox: AutotaskSandbox) -> None:
    [plan] = at.plan([NewCustomer("Wingtip Toys", (("altaro", "Wingtip Toys", None),), None, ())])
    assert steps(plan) == [("customer", "Wingtip Toys", True)]
    create(at, plan)
    assert writes(at_sandbox) == [("POST", "/V1.0/Companies")]
    assert len(company_named(at_sandbox, "Wingtip Toys")) == 1


@pytest.mark.parametrize(
    ("full", "email", "names"),
    [
        ("Dev van Diaz", "dev@x.example", ("Dev", "van Diaz")),
        ("Ada", "ada@x.example", ("Ada", "(unknown)")),
        (None, "billing@x.example", ("billing", "(unknown)")),
    ],
)
def test_a_contact_gets_both_names_autotask_requires(full: str | None, email: str, names: tuple[str, str]) -> None:
    assert person_names(full, email) == names


def test_a_required_field_is_given_its_default_a_stand_in_or_named_as_a_problem() -> None:
    def described(name: str, *, picklist: list[PicklistValue] | None = None, **flags: bool) -> FieldInformation:
        return FieldInformation(name=name, isPickList=picklist is not None, picklistValues=picklist, **flags)

    fields = [
        described("companyName", isRequired=True),
        described("phone", isRequired=True),
        described("createDate", isRequired=True, isReadOnly=True),
        described(
            "classification", isRequired=True, picklist=[PicklistValue(value="3", label="Gold", isDefaultValue=True)]
        ),
        described("territoryID", isRequired=True),
        described("fax"),
    ]
    found = required(fields, frozenset({"companyname"}), {"phone": UNKNOWN_PHONE})
    assert found.given == {"phone": UNKNOWN_PHONE, "classification": 3}
    assert found.shown[1] == "classification Gold (its default)"
    assert found.unfilled == ("territoryID",)


class Checked(httpx.HTTPTransport):
    """The real transport, with every request and answer checked against the Swagger subset."""

    def __init__(self, contract: SwaggerContract) -> None:
        super().__init__()
        self.contract = contract

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.contract.check_request(request)
        response = super().handle_request(request)
        response.request = request  # the client sets it only once the transport answers
        response.read()
        self.contract.check_response(response)
        return response


def test_the_factory_builds_an_onboarder_from_the_settings(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    def build(settings: AutotaskSettings, http: HttpSettings) -> AutotaskClient:
        return connect.build_autotask_client(settings, http, transport=Checked(at_contract))

    monkeypatch.setattr(onboard_module, "build_autotask_client", build)
    keys = {
        "username": at_sandbox.username,
        "secret": at_sandbox.secret,
        "integration_code": at_sandbox.integration_code,
    }
    settings = AutotaskSettings(
        enabled=True,
        zone_lookup_url=at_sandbox.api_url,
        owner_resource_id=OWNER,
        company_type="Prospect",
        **{name: SecretRef(value=SecretStr(value)) for name, value in keys.items()},
    )
    made = onboard_module.onboarder(settings, BuildContext(HttpSettings(max_attempts=1), cast(FetchLedger, None)))
    try:
        [plan] = made.plan([new()])
        assert plan.problems == () and plan.steps[0].detail.startswith(f"type Prospect, owner resource {OWNER}")
        told = create(made, plan)
    finally:
        made.close()
    assert at_sandbox.companies[told[0][1]["company_id"]]["companyType"] == 3
    everything_once(at_sandbox)
