"""Billing rules for portal accounts: plans, sub-accounts, trials, deleted and suspended, storage measure, quotas."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from providers.axcient.models import Account, Customer
from providers.axcient.provider import PROVIDER as AXCIENT
from providers.axcient.usage import CustomerResult, UsageRules, compute_customer

CONTOSO = Customer(id="1", name="Contoso")
Make = Callable[..., dict[str, Any]]


def compute(accounts: list[dict[str, Any]], rules: UsageRules | None = None, **options: Any) -> CustomerResult:
    return compute_customer(
        CONTOSO,
        [Account.model_validate(a) for a in accounts],
        rules=rules or UsageRules(),
        period_key="2026-11",
        **options,
    )


def q(result: CustomerResult, metric: str, product: str = "") -> Decimal:
    return result.usage.quantities[(metric, product)]


def test_sub_accounts_are_billed_on_their_parents_plan(make_account: Make) -> None:
    result = compute(
        [
            make_account(1, service_plan="Select", device_type="server", used_mb_compressed=10240),
            make_account(2, parent_id=1, service_plan="Basic", used_mb_compressed=2048),  # own plan says Basic
            make_account(3, service_plan="Basic", used_mb_compressed=1024),
            make_account(4, parent_id=3, service_plan="Basic", device_type="server", used_mb_compressed=3072),
        ]
    )
    assert result.usage.complete
    assert q(result, "axcient.server_gb", "Select") == Decimal(10)
    assert q(result, "axcient.pc_gb", "Select") == Decimal(2)
    assert q(result, "axcient.pc_gb", "Basic") == Decimal(1)
    assert q(result, "axcient.server_gb", "Basic") == Decimal(3)
    assert q(result, "axcient.total_gb") == Decimal(16)
    assert (q(result, "axcient.pc_devices"), q(result, "axcient.server_devices")) == (2, 2)
    assert q(result, "axcient.devices", "Select") == 2
    assert result.usage.vendor_customer == "Contoso" and result.usage.period_key == "2026-11"
    assert result.usage.source == "axcient"


@pytest.mark.parametrize(
    ("fields", "bill_suspended", "reason"),
    [
        ({"service_plan": "Trial"}, False, "trial plan (Trial)"),
        ({"service_plan": "Trial (Basic)"}, True, "trial plan (Trial (Basic))"),
        ({"status": "deleted"}, True, "deleted"),
        ({"status": "suspended"}, False, "suspended"),
        ({"status": "suspended"}, True, None),
        ({"status": "active"}, False, None),
    ],
)
def test_what_is_not_billed_is_listed_with_its_reason(
    make_account: Make, fields: dict[str, Any], bill_suspended: bool, reason: str | None
) -> None:
    result = compute([make_account(7, **fields)], UsageRules(bill_suspended=bill_suspended))
    assert result.usage.complete
    (use,) = result.accounts
    assert use.reason == reason and use.billed is (reason is None)
    expected = Decimal(0) if reason else Decimal(1)
    assert q(result, "axcient.pc_gb") == expected and q(result, "axcient.pc_devices") == expected
    explained = result.usage.inputs["axcient.pc_gb"]
    if reason:
        assert explained["not_billed"] == [["7", "PC-7", fields.get("service_plan", "Select"), "pc", 1024, reason]]
        assert explained["accounts"] == []
    else:
        assert explained["accounts"] == [["7", "PC-7", "Select", "pc", 1024]]


def test_a_trial_parents_sub_accounts_are_trials_too(make_account: Make) -> None:
    result = compute([make_account(1, service_plan="Trial"), make_account(2, parent_id=1, service_plan="Select")])
    assert [u.reason for u in result.accounts] == ["trial plan (Trial)", "trial plan (Trial)"]
    assert q(result, "axcient.devices") == 0
    # The plan is listed (with zeros) so that a mapping of it bills a true zero instead of finding nothing.
    assert q(result, "axcient.devices", "Trial") == 0


@pytest.mark.parametrize(
    ("storage", "mb_per_gb", "expected"),
    [
        ("compressed", 1024, Decimal("1.5")),
        ("uncompressed", 1024, Decimal("3")),
        ("compressed", 1000, Decimal("1.536")),
        ("uncompressed", 1000, Decimal("3.072")),
    ],
)
def test_storage_measure_and_gb_base(make_account: Make, storage: Any, mb_per_gb: int, expected: Decimal) -> None:
    result = compute(
        [make_account(1, used_mb_compressed=1536, used_mb_uncompressed=3072)],
        UsageRules(storage=storage, mb_per_gb=mb_per_gb),
    )
    assert q(result, "axcient.pc_gb") == expected
    assert q(result, "axcient.total_gb", "Select") == expected
    explained = result.usage.inputs["axcient.total_gb"]
    assert (explained["storage"], explained["mb_per_gb"]) == (storage, mb_per_gb)


def test_gb_is_exact_not_rounded(make_account: Make) -> None:
    result = compute([make_account(1, used_mb_compressed=1), make_account(2, used_mb_compressed="0.5")])
    assert q(result, "axcient.pc_gb") == Decimal("1.5") / Decimal(1024) == Decimal("0.00146484375")


@pytest.mark.parametrize(
    ("hard", "user", "used", "quota", "over"),
    [
        (None, None, 10**9, None, False),
        (1000, None, 1001, 1000, True),
        (None, 500, 500, 500, False),
        (2000, 800, 900, 800, True),
        (800, 2000, 700, 800, False),
    ],
)
def test_effective_quota_is_the_smaller_and_over_quota_is_flagged(
    make_account: Make, hard: int | None, user: int | None, used: int, quota: int | None, over: bool
) -> None:
    result = compute([make_account(1, hard_quota_mb=hard, user_quota_mb=user, used_mb_compressed=used)])
    (use,) = result.accounts
    assert use.account.effective_quota_mb == (None if quota is None else Decimal(quota))
    assert use.over_quota is over
    assert result.usage.inputs["axcient.pc_gb"]["over_quota"] == ({"1": Decimal(quota)} if over else {})
    assert use.billed  # over quota is reported, not a reason to bill less


def test_a_sub_account_whose_parent_is_missing_is_an_error_not_a_guess(make_account: Make) -> None:
    result = compute([make_account(1), make_account(2, parent_id=99)])
    assert not result.usage.complete
    assert result.usage.problems == ["account 2: parent_id: parent 99 does not exist among this customer's accounts"]
    assert q(result, "axcient.pc_devices") == 1  # recorded, but marked incomplete: never billed


def test_a_sub_account_whose_parent_is_another_customers_is_an_error(make_account: Make) -> None:
    theirs = Account.model_validate(make_account(50, customer_id=2))
    result = compute([make_account(1), make_account(2, parent_id=50)], everyone={"50": theirs}, names={"2": "Fabrikam"})
    assert not result.usage.complete
    assert "account 2: parent_id: parent 50 belongs to another customer (Fabrikam)" in result.usage.problems[0]


def test_a_sub_account_of_a_sub_account_is_an_error(make_account: Make) -> None:
    result = compute([make_account(1), make_account(2, parent_id=1), make_account(3, parent_id=2)])
    assert result.usage.problems == ["account 3: parent_id: parent 2 is itself a sub-account (of 1)"]


def test_an_account_listed_under_the_wrong_customer_is_an_error(make_account: Make) -> None:
    result = compute([make_account(1, customer_id=2)])
    assert result.usage.problems == ["account 1: customer_id: 2, but listed under customer 1"]


def test_problems_from_the_fetch_make_the_customer_incomplete(make_account: Make) -> None:
    result = compute([make_account(1)], problems=["account 9: device_type: Input should be 'pc' or 'server'"])
    assert not result.usage.complete and result.usage.problems[0].startswith("account 9: device_type")


def test_an_empty_customer_has_complete_zeros(make_account: Make) -> None:
    result = compute([])
    assert result.usage.complete
    assert {m for m, p in result.usage.quantities} == {m.name for m in AXCIENT.metrics}
    assert all(v == 0 for v in result.usage.quantities.values())
    assert {p for _, p in result.usage.quantities} == {""}
