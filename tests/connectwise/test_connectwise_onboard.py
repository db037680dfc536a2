"""ConnectWise onboarding against the sandbox: the plan says what ConnectWise holds and what it will create, creating
makes exactly that (every exchange checked against the OpenAPI subset), and a run stopped between any two creates is
finished by the next one with nothing made twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connector.core.errors import ConfigError, ConnectorError
from providers.connectwise import sandbox_query as query
from providers.connectwise.onboard import ConnectWiseOnboarder
from providers.connectwise.onboard_plan import derive_identifier
from providers.connectwise.sandbox import API_PREFIX, ConnectWiseSandbox
from providers.connectwise.verify import psa_ref
from providers.onboarding import ContractWanted, CustomerPlan, NewCustomer, VendorContact
from providers.sandbox import SandboxRequest, SandboxResponse

from .openapi_check import OpenApiContract
from .support import sandbox_client

START = date(2026, 11, 1)
EMAIL = "dev@tailspin.example"


def line(
    metric: str = "axcient.server_gb",
    product: str | None = "BKP-SERVER-GB",
    rate: str | None = "0.12",
    *,
    contract: str = "Managed Backup",
    start: date = START,
    **options: Any,
) -> ContractWanted:
    given = {"product": product, **options} if product is not None else dict(options)
    return ContractWanted(
        contract, metric, Decimal(rate) if rate else None, "Monthly", start, start.strftime("%Y-%m"), given
    )


TWO_LINES = (line(), line("axcient.pc_gb", "BKP-PC-GB", "0.15"))


def new(name: str = "Tailspin Toys", *lines: ContractWanted, email: str | None = EMAIL) -> NewCustomer:
    contact = VendorContact("axcient", "4", name, "Dev van Diaz", email) if email else None
    return NewCustomer(name, (("axcient", name, "4"),), contact, lines or TWO_LINES)


def onboarder(
    sandbox: ConnectWiseSandbox, contract: OpenApiContract, *, kind: str = "Managed Services", create: bool = True
) -> ConnectWiseOnboarder:
    """An onboarder whose every request and answer is checked against the description."""
    return ConnectWiseOnboarder(sandbox_client(sandbox, contract), agreement_type=kind, create_products=create)


@pytest.fixture
def cw(cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract) -> Iterator[ConnectWiseOnboarder]:
    made = onboarder(cw_sandbox, cw_contract)
    yield made
    made.close()


Told = list[tuple[str, dict[str, Any]]]


def create(cw: ConnectWiseOnboarder, plan: CustomerPlan) -> Told:
    told: Told = []
    cw.create(plan, lambda event, details: told.append((event, details)))
    return told


def steps(plan: CustomerPlan) -> list[tuple[str, str, bool]]:
    return [(s.kind, s.name, s.creates) for s in plan.steps]


def writes(sandbox: ConnectWiseSandbox) -> list[tuple[str, str]]:
    return [(w.method, w.path.removeprefix(API_PREFIX)) for w in sandbox.writes()]


def named(records: dict[int, dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records.values() if r["name"] == name]


def everything_once(sandbox: ConnectWiseSandbox) -> None:
    """Tailspin Toys onboarded whole, and nothing of it twice."""
    [company] = named(sandbox.companies, "Tailspin Toys")
    contacts = [c for c in sandbox.contacts.values() if c["company"]["id"] == company["id"]]
    assert [c["communicationItems"][0]["value"] for c in contacts] == [EMAIL]
    [agreement] = [a for a in sandbox.agreements.values() if a["company"]["id"] == company["id"]]
    products = sorted(a["product"]["identifier"] for a in sandbox.additions[agreement["id"]].values())
    assert products == ["BKP-PC-GB", "BKP-SERVER-GB"]
    assert [i["identifier"] for i in sandbox.catalog.values()].count("BKP-PC-GB") == 1


def test_a_new_customer_needs_everything_and_gets_exactly_what_the_plan_shows(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox
) -> None:
    [plan] = cw.plan([new()])
    assert steps(plan) == [
        ("customer", "Tailspin Toys", True),
        ("contact", f"Dev van Diaz <{EMAIL}>", True),
        ("product", "BKP-PC-GB", True),
        ("agreement", "Managed Backup", True),
        ("addition", "Managed Backup / BKP-SERVER-GB", True),
        ("addition", "Managed Backup / BKP-PC-GB", True),
    ]
    shown = [s.detail for s in plan.steps]
    assert shown[0].startswith("identifier TailspinToys, type Client (as 3 companies with Managed Services")
    assert shown[2].endswith("0.15 per unit, filed as BKP-SERVER-GB (Backup / Service)")
    assert shown[3] == "type Managed Services, first period 2026-11, from 2026-11-01"
    assert shown[4] == "0.12 per unit, quantity 0, Billable, first period 2026-11, from 2026-11-01"
    assert writes(cw_sandbox) == []

    told = create(cw, plan)
    assert writes(cw_sandbox) == [
        ("POST", "/company/companies"),
        ("POST", "/company/contacts"),
        ("POST", "/procurement/catalog"),
        ("POST", "/finance/agreements"),
        ("POST", f"/finance/agreements/{told[3][1]['agreement_id']}/additions"),
        ("POST", f"/finance/agreements/{told[3][1]['agreement_id']}/additions"),
    ]
    assert [event for event, _ in told] == [
        "connectwise.company_created",
        "connectwise.contact_created",
        "connectwise.product_created",
        "connectwise.agreement_created",
        "connectwise.addition_created",
        "connectwise.addition_created",
    ]
    everything_once(cw_sandbox)
    [company] = named(cw_sandbox.companies, "Tailspin Toys")
    assert (company["identifier"], company["types"]) == ("TailspinToys", [{"id": 1}])
    [contact] = [c for c in cw_sandbox.contacts.values() if c["company"]["id"] == company["id"]]
    assert (contact["firstName"], contact["lastName"], contact["defaultFlag"]) == ("Dev", "van Diaz", True)
    assert contact["communicationItems"][0]["communicationType"] == "Email"
    held = cw_sandbox.agreements[told[3][1]["agreement_id"]]
    assert (held["type"]["name"], held["contact"]["id"], held["startDate"]) == (
        "Managed Services",
        contact["id"],
        "2026-11-01T00:00:00Z",
    )
    # What the type gives a new agreement, the fields ConnectWise requires on updates among them.
    assert {k: held[k] for k in ("billTime", "billExpenses", "billProducts", "employeeCompRate", "invoicingCycle")} == {
        "billTime": "Billable",
        "billExpenses": "Billable",
        "billProducts": "Billable",
        "employeeCompRate": "Actual",
        "invoicingCycle": "ContractYear",
    }
    for _, details in told[4:]:
        addition = cw_sandbox.addition_view(details["addition_id"])
        assert (addition["quantity"], addition["billCustomer"], addition["effectiveDate"]) == (
            0,
            "Billable",
            "2026-11-01T00:00:00Z",
        )
        assert details["psa_ref"] == psa_ref(details["agreement_id"], details["addition_id"])
    assert [cw_sandbox.addition_view(d["addition_id"])["unitPrice"] for _, d in told[4:]] == [0.12, 0.15]
    item = next(i for i in cw_sandbox.catalog.values() if i["identifier"] == "BKP-PC-GB")
    assert (item["price"], item["subcategory"], item["type"]) == (0.15, {"id": 1}, {"id": 1})


def test_what_connectwise_holds_is_found_and_nothing_is_written(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox
) -> None:
    # Contoso Ltd, Ada's e-mail, its Managed Backup agreement and its server backup addition are all in the sandbox.
    [plan] = cw.plan([new("Contoso Ltd", line(), email="ada@contoso.example")])
    assert [(s.kind, s.existing) for s in plan.steps] == [
        ("customer", 251),
        ("contact", 302),
        ("agreement", 501),
        ("addition", 602),
    ]
    assert plan.creates == [] and plan.problems == ()
    assert create(cw, plan) == []
    assert writes(cw_sandbox) == []


def test_what_a_held_company_lacks_is_added_to_it(cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox) -> None:
    wanted = new("Contoso Ltd", line(), line("axcient.devices", "BKP-SERVER-GB", "2.00", agreement="Devices"))
    [plan] = cw.plan([with_email(wanted, email="ada@contoso.example")])
    assert [(s.kind, s.name) for s in plan.creates] == [
        ("agreement", "Devices"),
        ("addition", "Devices / BKP-SERVER-GB"),
    ]
    told = create(cw, plan)
    assert [event for event, _ in told] == ["connectwise.agreement_created", "connectwise.addition_created"]
    made = cw_sandbox.agreements[told[0][1]["agreement_id"]]
    assert (made["company"]["id"], made["contact"]["id"]) == (251, 302)  # Ada, found by her e-mail


def with_email(customer: NewCustomer, *, email: str) -> NewCustomer:
    """The customer with its contact's e-mail replaced."""
    contact = VendorContact("axcient", "1", customer.name, "Ada Moss", email)
    return NewCustomer(customer.name, customer.vendors, contact, customer.contracts)


def test_one_agreement_per_agreement_name_the_templates_give(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox
) -> None:
    lines = (
        line(
            "axcient.server_gb", "BKP-SERVER-GB", contract="Server backup", agreement="Backup", start=date(2026, 12, 1)
        ),
        line("axcient.pc_gb", "BKP-PC-GB", "0.15", contract="PC backup", agreement="backup"),
        line("altaro.billed_users", "BKP-M365-USER", "3.50", contract="Microsoft 365 backup"),
    )
    [plan] = cw.plan([new("Tailspin Toys", *lines)])
    assert [(s.kind, s.name) for s in plan.steps if s.kind in ("agreement", "addition")] == [
        ("agreement", "Backup"),
        ("addition", "Backup / BKP-SERVER-GB"),
        ("addition", "Backup / BKP-PC-GB"),
        ("agreement", "Microsoft 365 backup"),
        ("addition", "Microsoft 365 backup / BKP-M365-USER"),
    ]
    told = create(cw, plan)
    agreements = {
        d["name"]: cw_sandbox.agreements[d["agreement_id"]] for e, d in told if e.endswith("agreement_created")
    }
    # An agreement starts with its earliest line; each addition with its own.
    assert agreements["Backup"]["startDate"] == "2026-11-01T00:00:00Z"
    additions = [d for e, d in told if e == "connectwise.addition_created"]
    dates = {d["product"]: cw_sandbox.addition_view(d["addition_id"])["effectiveDate"] for d in additions}
    assert dates == {
        "BKP-SERVER-GB": "2026-12-01T00:00:00Z",
        "BKP-PC-GB": "2026-11-01T00:00:00Z",
        "BKP-M365-USER": "2026-11-01T00:00:00Z",
    }
    pc = next(i for i in cw_sandbox.catalog.values() if i["identifier"] == "BKP-PC-GB")
    assert pc["description"] == "PC backup"  # the line's own name, the agreement having its own


class Stop(Exception):
    """The process dies here."""


def crash_after(count: int) -> Any:
    told: Told = []

    def tell(event: str, details: dict[str, Any]) -> None:
        told.append((event, details))
        if len(told) == count:
            raise Stop(event)

    return tell


@pytest.mark.parametrize("count", range(1, 7))
def test_a_run_that_dies_after_any_create_is_finished_by_the_next_with_nothing_twice(
    cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract, count: int
) -> None:
    first = onboarder(cw_sandbox, cw_contract)
    [plan] = first.plan([new()])
    with pytest.raises(Stop):
        first.create(plan, crash_after(count))
    first.close()
    again = onboarder(cw_sandbox, cw_contract)
    [plan] = again.plan([new()])
    # What the first run made is found (a catalog item made is simply there: no step for it).
    assert len(plan.creates) == 6 - count
    create(again, plan)
    everything_once(cw_sandbox)
    assert len(cw_sandbox.writes()) == 6
    again.close()


@pytest.mark.parametrize("refused", range(1, 7))
def test_a_create_connectwise_refuses_stops_the_run_and_the_next_makes_only_the_rest(
    cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract, refused: int
) -> None:
    seen: list[SandboxRequest] = []

    def refuse_one(request: SandboxRequest) -> SandboxResponse | None:
        seen.append(request)
        if len(seen) == refused:
            return query.error(400, "InvalidObject", "refused")
        return None

    cw_sandbox.before_write = refuse_one
    first = onboarder(cw_sandbox, cw_contract)
    [plan] = first.plan([new()])
    with pytest.raises(ConnectorError):
        create(first, plan)
    assert len(cw_sandbox.writes()) == refused - 1
    cw_sandbox.before_write = None
    again = onboarder(cw_sandbox, cw_contract)
    [plan] = again.plan([new()])
    assert len(plan.creates) == 6 - (refused - 1)
    create(again, plan)
    everything_once(cw_sandbox)


def test_a_missing_agreement_type_names_the_key_and_the_known_types(
    cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract
) -> None:
    cw = onboarder(cw_sandbox, cw_contract, kind="Backup Services")
    [plan] = cw.plan([new()])
    [problem] = plan.problems
    assert problem.startswith("[connectwise] agreement_type = 'Backup Services': ConnectWise has no active agreement")
    assert "(it has 'Managed Services', 'Block Time')" in problem
    with pytest.raises(ConfigError):
        create(cw, plan)
    assert cw_sandbox.writes() == []


def test_a_missing_catalog_item_is_created_only_when_create_products_says_so(
    cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract
) -> None:
    cw = onboarder(cw_sandbox, cw_contract, create=False)
    [plan] = cw.plan([new()])
    assert plan.problems == (
        "[mapping.templates] axcient.pc_gb (contract 'Managed Backup'): ConnectWise's catalog has no product "
        "'BKP-PC-GB': create it in ConnectWise, or set [connectwise] create_products = true to let onboarding "
        "create it",
    )
    with pytest.raises(ConfigError):
        create(cw, plan)
    assert cw_sandbox.writes() == []
    cw_sandbox.add_catalog_item("BKP-PC-GB", "PC backup, per GB", 0.15)
    [plan] = cw.plan([new()])
    assert plan.problems == () and "product" not in [s.kind for s in plan.steps]


@pytest.mark.parametrize(
    ("wanted", "problem"),
    [
        (line(product=None), "give connectwise = { product"),
        (line(addition_id=7), "connectwise addition_id names one record of one customer"),
        (line(agreement_id=501), "connectwise agreement_id names one record of one customer"),
        (line("axcient.pc_gb", "BKP-PC-GB", None), "the template gives no rate to price a new one with"),
    ],
)
def test_a_template_onboarding_cannot_follow_is_a_problem_and_nothing_is_written(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox, wanted: ContractWanted, problem: str
) -> None:
    [plan] = cw.plan([new("Tailspin Toys", wanted)])
    assert problem in plan.problems[0]
    with pytest.raises(ConfigError):
        create(cw, plan)
    assert cw_sandbox.writes() == []


def test_two_templates_of_one_product_on_one_agreement_is_a_problem(cw: ConnectWiseOnboarder) -> None:
    [plan] = cw.plan([new("Tailspin Toys", line(), line("axcient.total_gb"))])
    assert "bills product 'BKP-SERVER-GB' on agreement 'Managed Backup' too" in plan.problems[0]


def test_a_taken_identifier_gets_a_number_the_plan_shows(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox
) -> None:
    cw_sandbox.add_company("Tailspin Toys (old)", "TailspinToys")
    plans = cw.plan(
        [new(), new("Tailspin-Toys", email="t2@tailspin.example"), new("Tailspin  Toys!", email="t@tailspin.example")]
    )
    details = [p.steps[0].detail.split(",")[0] for p in plans]
    assert details == ["identifier TailspinToys2", "identifier TailspinToys3", "identifier TailspinToys4"]
    told = create(cw, plans[0])
    assert told[0][1]["identifier"] == "TailspinToys2"
    assert named(cw_sandbox.companies, "Tailspin Toys")[0]["identifier"] == "TailspinToys2"


@pytest.mark.parametrize(
    ("name", "taken", "identifier"),
    [
        ("Tailspin Toys", set(), "TailspinToys"),
        ("Example MSP (internal)", set(), "ExampleMSPInternal"),
        ("Société Générale d'Équipement", set(), "SocieteGeneraleDEquipement"),
        ("Alpine Dental Architects Partners & Co", set(), "AlpineDentalArchitectsPartners"),
        ("Alpine Dental Architects Partners", {"alpinedentalarchitectspartners"}, "AlpineDentalArchitectsPartner2"),
        ("Supercalifragilisticexpialidocious Holdings", set(), "Supercalifragilisticexpialidoc"),
        ("東京", set(), "Customer"),
        ("東京", {"customer", "customer2"}, "Customer3"),
    ],
)
def test_an_identifier_is_readable_short_and_free(name: str, taken: set[str], identifier: str) -> None:
    made = derive_identifier(name, taken)
    assert made == identifier and len(made) <= 30 and " " not in made


def test_a_company_made_since_the_plan_is_not_made_twice(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox
) -> None:
    [plan] = cw.plan([new()])
    cw_sandbox.add_company("Tailspin Toys", "TT")
    with pytest.raises(ConfigError, match="since the plan was made"):
        create(cw, plan)
    assert cw_sandbox.writes() == []


def test_two_companies_of_the_name_ask_for_the_id(cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox) -> None:
    cw_sandbox.add_company("Contoso Ltd", "ContosoLtd2")
    [plan] = cw.plan([new("Contoso Ltd")])
    assert plan.steps == () and "psa_customer_id" in plan.problems[0]


def test_a_catalog_item_two_customers_need_is_created_once(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox
) -> None:
    plans = cw.plan([new(), new("Wingtip Toys", email="it@wingtip.example")])
    assert [s.kind for s in plans[1].steps].count("product") == 0
    for plan in plans:
        create(cw, plan)
    assert [i["identifier"] for i in cw_sandbox.catalog.values()].count("BKP-PC-GB") == 1
    assert len(named(cw_sandbox.companies, "Wingtip Toys")) == 1


def test_without_an_e_mail_a_new_company_s_agreement_has_no_contact_and_is_a_problem(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox
) -> None:
    [plan] = cw.plan([new(email=None)])
    assert "a ConnectWise agreement needs a contact, and axcient gives no e-mail" in plan.problems[0]
    # A held company's own contact carries its new agreement.
    [plan] = cw.plan([new("Fabrikam Inc", line(agreement="Cloud backup"), email=None)])
    assert [(s.kind, s.name, s.existing) for s in plan.steps[:2]] == [
        ("customer", "Fabrikam Inc", 252),
        ("contact", "Ben Okoro", 303),
    ]
    told = create(cw, plan)
    assert cw_sandbox.agreements[told[0][1]["agreement_id"]]["contact"]["id"] == 303


def test_a_customer_with_no_template_gets_its_company_and_contact(
    cw: ConnectWiseOnboarder, cw_sandbox: ConnectWiseSandbox
) -> None:
    [plan] = cw.plan([NewCustomer("Wingtip Toys", (("altaro", "Wingtip Toys", None),), None, ())])
    assert steps(plan) == [("customer", "Wingtip Toys", True)]
    assert plan.notes == ("no contact: altaro gives no e-mail for it",)
    create(cw, plan)
    assert len(named(cw_sandbox.companies, "Wingtip Toys")) == 1
