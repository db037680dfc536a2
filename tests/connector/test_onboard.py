"""Which vendor customers `map --create-customers` onboards, as what, and what an interrupted onboarding leaves open."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connector.config import settings_from_data
from connector.errors import ConfigError
from connector.mapper import MapItem, MapResult, PsaRef, VendorRef
from connector.onboard import COMPLETED, STARTED, candidates, new_customers, unfinished
from connector.store import Store
from providers.onboarding import VendorContact

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
    assert [(c.name, c.rate, c.rate_sku) for c in new.contracts] == [
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
