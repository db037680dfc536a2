"""Which vendor customers `map --create-customers` onboards, as what, and what an interrupted onboarding leaves open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connector.core.errors import ConfigError, StoreBusyError
from connector.mapping.mapper import MapItem, MapResult, PsaRef, VendorRef
from connector.mapping.onboard import COMPLETED, STARTED, Onboarding, candidates, execute, new_customers, unfinished
from connector.store import Store
from connector.sync.invoiced import line_period
from connector.wiring import settings_from_data
from mappings.customer import CustomerMapping
from providers.onboarding import Created, CustomerPlan, NewCustomer, Step, Told, VendorContact

TEMPLATES = {
    "altaro": [
        {"metric": "altaro.billed_users", "contract": "M365 backup", "rate": "3.50", "atera": {"rate_sku": "U"}}
    ],
    "axcient": [{"metric": "axcient.total_gb", "contract": "{customer} storage", "rate": "0.10"}],
}
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def item(kind: str, source: str, name: str, vendor_id: str | None, psa: str | None = None) -> MapItem:
    return MapItem(kind, VendorRef(source, name, vendor_id), PsaRef(psa, 9) if psa else None)


RESULT = MapResult(
    items=[
        item("mapped", "altaro", "Contoso Ltd", "a1", "Contoso Ltd"),
        item("unmatched", "altaro", "Tailspin Toys Ltd", "a4"),
        item("unmatched", "axcient", "Tailspin Toys", "4"),
        item("suggested", "axcient", "Northwnd", "3"),
        item("matched", "axcient", "Wingtip", "5", "Wingtip"),
    ]
)


def test_every_unmatched_vendor_customer_unless_some_are_named() -> None:
    assert [i.vendor.id for i in candidates(RESULT, [], {})] == ["a4", "4"]
    # Named by id or by name (any case); a suggestion the user knows is another company may be named too.
    assert [i.vendor.id for i in candidates(RESULT, ["4", "northwnd"], {})] == ["4", "3"]


@pytest.mark.parametrize(
    ("name", "why"), [("Wingtip", "it is matched, not unmatched nor suggested"), ("Nobody", "no vendor customer")]
)
def test_a_name_that_cannot_be_onboarded_says_why(name: str, why: str) -> None:
    with pytest.raises(ConfigError, match=f"--customer {name.casefold()}: {why}"):
        candidates(RESULT, [name], {})


def test_one_company_at_two_vendors_is_one_new_customer_with_both_sources_lines() -> None:
    settings = settings_from_data({"mapping": {"templates": TEMPLATES}})
    contact = VendorContact("axcient", "4", "Tailspin Toys", "Dev Diaz", "dev@tailspin.example")
    [new] = new_customers(candidates(RESULT, [], {}), settings, {("axcient", "4"): contact}, {}, NOW)
    assert new.name == "Tailspin Toys Ltd"  # as the first vendor names it
    assert new.vendors == (("altaro", "Tailspin Toys Ltd", "a4"), ("axcient", "Tailspin Toys", "4"))
    assert new.contact == contact
    assert [(c.name, c.rate, c.options.get("rate_sku")) for c in new.contracts] == [
        ("M365 backup", Decimal("3.50"), "U"),
        ("Tailspin Toys Ltd storage", Decimal("0.10"), None),
    ]
    # In arrears, on the 20th the contracts carry this month: that is where a new contract starts.
    assert {c.start for c in new.contracts} == {date(2026, 11, 1)}


def test_an_interrupted_onboarding_is_open_until_completed(tmp_path: Path) -> None:
    with Store.open(tmp_path / "state.db") as store:
        store.runs.audit(STARTED, "Tailspin Toys", {"vendors": [["axcient", "Tailspin Toys", "4"]]})
        store.runs.audit(STARTED, "Wingtip", {"vendors": [["axcient", "Wingtip", "5"]]})
        store.runs.audit(COMPLETED, "Wingtip", {"vendors": [["axcient", "Wingtip", "5"]]})
        open_ = unfinished(store)
    assert open_ == {("axcient", "4"): "Tailspin Toys"}
    # Taken up again though it now matches by name, and named as it was then.
    resumed = item("matched", "axcient", "Tailspin Toys", "4", "Tailspin Toys")
    picked = candidates(MapResult(items=[resumed]), [], open_)
    assert picked == [resumed]


@pytest.mark.parametrize(
    ("billing", "now"),
    [
        ({}, datetime(2026, 12, 7, 10, tzinfo=UTC)),  # arrears, before the invoice day: November still open
        ({}, datetime(2026, 12, 12, 10, tzinfo=UTC)),
        ({"mode": "advance"}, datetime(2026, 12, 7, 10, tzinfo=UTC)),
        ({"timezone": "Pacific/Auckland"}, datetime(2026, 11, 30, 12, tzinfo=UTC)),  # 1 December there
        ({"invoice_day": 28}, datetime(2027, 1, 27, tzinfo=UTC)),
    ],
)
def test_a_new_contract_starts_in_the_period_the_sync_bills_it_from(billing: dict[str, object], now: datetime) -> None:
    """Onboarding and the sync ask one function: a contract dated earlier would be read by an invoicing run of a
    period the customer was not a customer in, with the quantity of the next one."""
    settings = settings_from_data({"mapping": {"templates": TEMPLATES}, "billing": billing})
    [new] = new_customers(candidates(RESULT, ["Tailspin Toys Ltd"], {}), settings, {}, {}, now)
    [line] = settings.mapping.lines_for(["altaro"], new.name)
    customer = CustomerMapping(psa_customer=new.name, lines=[line])
    with Store.open(":memory:") as store:
        billed = line_period(store, customer, line, settings.billing.calendar(), None, now, frozenset())
    [contract] = new.contracts
    assert contract.start == billed.start
    assert contract.first_period == billed.key


class Replanning:
    """An onboarder whose account changes between two plans: each `plan` answers the next of `plans`."""

    def __init__(self, *plans: list[CustomerPlan]) -> None:
        self.plans = list(plans)
        self.made: list[str] = []

    def plan(self, wanted: Sequence[NewCustomer]) -> list[CustomerPlan]:
        return self.plans.pop(0)

    def create(self, plan: CustomerPlan, told: Told) -> Created:
        self.made += [step.name for step in plan.creates]
        return Created(customer_id=1)

    def close(self) -> None:
        pass


def test_onboarding_plans_again_under_the_lock_and_creates_only_what_was_shown(tmp_path: Path) -> None:
    tailspin = NewCustomer("Tailspin Toys", (("axcient", "Tailspin Toys", "4"),), None, ())
    wingtip = NewCustomer("Wingtip", (("axcient", "Wingtip", "5"),), None, ())
    shown = [
        CustomerPlan(tailspin, (Step("customer", "Tailspin Toys"), Step("contract", "Online backup"))),
        CustomerPlan(wingtip, (Step("customer", "Wingtip", existing=5), Step("contract", "Online backup", existing=9))),
    ]
    now = [
        # Another run made Tailspin's customer meanwhile; someone deleted Wingtip's contract.
        CustomerPlan(tailspin, (Step("customer", "Tailspin Toys", existing=7), Step("contract", "Online backup"))),
        CustomerPlan(wingtip, (Step("customer", "Wingtip", existing=5), Step("contract", "Online backup"))),
    ]
    onboarder = Replanning(now)
    onboarding = Onboarding(shown, onboarder, [tailspin, wingtip])
    with Store.open(tmp_path / "state.db") as syncing, syncing.sync_lock(), Store.open(tmp_path / "state.db") as store:
        with pytest.raises(StoreBusyError, match=r"a sync is already running"):
            execute(onboarding, store)  # refused before the PSA is asked again: nothing is planned nor made
        assert onboarder.made == [] and onboarder.plans == [now]
    with Store.open(tmp_path / "state.db") as store:
        execute(onboarding, store)
    assert onboarder.made == ["Online backup"]  # Tailspin's contract only
    assert onboarding.found == ["Tailspin Toys: found in the PSA since the plan was shown: customer 'Tailspin Toys'"]
    assert onboarding.stale == [
        "Wingtip: the PSA changed since the plan was shown (contract 'Online backup' is now missing): run again to "
        "see the plan"
    ]
    assert [p.customer.name for p in onboarding.ready] == ["Tailspin Toys"]
