"""PSA contract models: header defaults, one terms model per type, and the validation that guards them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from mappings.contracts import (
    TERMS_BY_TYPE,
    BlockHoursTerms,
    BlockMoneyTerms,
    Contract,
    HourlyTerms,
    OnlineBackupTerms,
    ProjectHourlyRateTerms,
    ProjectOneTimeFeeTerms,
    RemoteMonitoringTerms,
    RetainerFlatFeeTerms,
    add_years,
)
from mappings.enums import BillingPeriod, ContractType, CountBy
from mappings.periods import Period

MONTHLY = {"billing_period": "Monthly"}
DEVICE_COUNT_BYS = ["PCAgents", "ServerAgents", "MacAgents", "OtherDevices", "AgentsOnly", "All"]
BLOCK_MONEY = ContractType.BLOCK_MONEY

TERMS: dict[ContractType, dict[str, Any]] = {
    ContractType.RETAINER_FLAT_FEE: {"billing_period": "Monthly", "rate": "12.50"},
    ContractType.HOURLY: {
        "billing_period": "Monthly",
        "primary_rate": "90",
        "additional_rates": {"Senior": "120"},
    },
    ContractType.BLOCK_HOURS: {
        "billing_period": "Monthly",
        "hours_included": "10",
        "price_per_hour": "80",
        "overage_rate": "100",
        "commit_rollover": True,
    },
    ContractType.BLOCK_MONEY: {
        "billing_period": "Quarterly",
        "contract_amount": "1000",
        "primary_rate": "90",
    },
    ContractType.REMOTE_MONITORING: {"billing_period": "Monthly", "rate_per_device": "4", "count_by": "All"},
    ContractType.ONLINE_BACKUP: {"billing_period": "Monthly", "rate_per_gb": "0.15", "count_by": "TotalGB"},
    ContractType.PROJECT_ONE_TIME_FEE: {"total_amount": "2500"},
    ContractType.PROJECT_HOURLY_RATE: {"primary_rate": "95"},
}


def contract(contract_type: ContractType, terms: dict[str, Any] | None = None, **header: Any) -> Contract:
    data: dict[str, Any] = {
        "customer_name": "Acme",
        "name": f"Acme {contract_type.value}",
        "type": contract_type,
        "start_date": date(2026, 1, 15),
        "terms": TERMS[contract_type] if terms is None else terms,
        **header,
    }
    return Contract.model_validate(data)


@pytest.mark.parametrize(
    ("contract_type", "terms_model", "billing_period"),
    [
        (ContractType.RETAINER_FLAT_FEE, RetainerFlatFeeTerms, BillingPeriod.MONTHLY),
        (ContractType.HOURLY, HourlyTerms, BillingPeriod.MONTHLY),
        (ContractType.BLOCK_HOURS, BlockHoursTerms, BillingPeriod.MONTHLY),
        (ContractType.BLOCK_MONEY, BlockMoneyTerms, BillingPeriod.QUARTERLY),
        (ContractType.REMOTE_MONITORING, RemoteMonitoringTerms, BillingPeriod.MONTHLY),
        (ContractType.ONLINE_BACKUP, OnlineBackupTerms, BillingPeriod.MONTHLY),
        (ContractType.PROJECT_ONE_TIME_FEE, ProjectOneTimeFeeTerms, BillingPeriod.END_OF_CONTRACT_DURATION),
        (ContractType.PROJECT_HOURLY_RATE, ProjectHourlyRateTerms, BillingPeriod.END_OF_CONTRACT_DURATION),
    ],
)
def test_terms_are_read_as_the_declared_type(
    contract_type: ContractType, terms_model: type, billing_period: BillingPeriod
) -> None:
    built = contract(contract_type)
    assert type(built.terms) is terms_model
    assert TERMS_BY_TYPE[contract_type] is terms_model
    assert built.billing_period is billing_period


def test_hourly_and_project_hourly_look_alike_but_stay_apart() -> None:
    # {primary_rate} alone fits ProjectHourlyRateTerms; the declared type must win, and say what is missing.
    with pytest.raises(ValidationError, match="billing_period"):
        contract(ContractType.HOURLY, {"primary_rate": "90"})


@pytest.mark.parametrize(
    ("contract_type", "terms"),
    [
        (
            ContractType.HOURLY,
            BlockHoursTerms(billing_period="Monthly", hours_included=1, price_per_hour=1, overage_rate=1),
        ),
        (ContractType.PROJECT_HOURLY_RATE, HourlyTerms(billing_period="Monthly", primary_rate=Decimal(1))),
        (ContractType.ONLINE_BACKUP, RetainerFlatFeeTerms(billing_period="Monthly", rate=Decimal(1))),
    ],
)
def test_terms_of_another_type_are_refused(contract_type: ContractType, terms: Any) -> None:
    with pytest.raises(ValidationError, match=f"is {contract_type.value} and needs"):
        contract(contract_type, terms)


@pytest.mark.parametrize(
    ("start", "end", "effective_end"),
    [
        (date(2026, 1, 15), None, date(2029, 1, 15)),
        (date(2026, 12, 31), None, date(2029, 12, 31)),
        (date(2028, 2, 29), None, date(2031, 2, 28)),  # no Feb 29 in 2031
        (date(2025, 2, 28), None, date(2028, 2, 28)),  # a leap target year keeps the 28th
        (date(2026, 1, 15), date(2026, 6, 30), date(2026, 6, 30)),
        (date(2026, 1, 15), date(2026, 1, 15), date(2026, 1, 15)),  # a one-day contract
    ],
)
def test_effective_end_date(start: date, end: date | None, effective_end: date) -> None:
    built = contract(ContractType.RETAINER_FLAT_FEE, start_date=start, end_date=end)
    assert built.effective_end_date == effective_end
    assert built.end_date == end


def test_a_contract_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="ends 2026-01-14, before 2026-01-15"):
        contract(ContractType.RETAINER_FLAT_FEE, end_date=date(2026, 1, 14))


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [(date(2024, 2, 29), 4, date(2028, 2, 29)), (date(2024, 2, 29), 1, date(2025, 2, 28))],
)
def test_add_years(day: date, years: int, expected: date) -> None:
    assert add_years(day, years) == expected


def test_header_defaults() -> None:
    built = contract(ContractType.RETAINER_FLAT_FEE)
    assert (built.active, built.default, built.taxable) == (True, False, False)
    assert (built.customer_id, built.contract_id, built.sla, built.notes) == (None, None, None, None)
    assert built.terms == RetainerFlatFeeTerms(
        billing_period=BillingPeriod.MONTHLY, quantity=Decimal(1), rate=Decimal("12.50")
    )


@pytest.mark.parametrize("count_by", DEVICE_COUNT_BYS)
def test_remote_monitoring_counts_devices(count_by: str) -> None:
    terms = RemoteMonitoringTerms.model_validate(
        {"billing_period": "Monthly", "rate_per_device": 1, "count_by": count_by}
    )
    assert terms.count_by == CountBy(count_by)


@pytest.mark.parametrize("count_by", ["PCsTotalGB", "ServersTotalGB", "TotalGB"])
def test_remote_monitoring_refuses_gb_count_bys(count_by: str) -> None:
    with pytest.raises(ValidationError, match="counts devices"):
        RemoteMonitoringTerms.model_validate({**MONTHLY, "rate_per_device": 1, "count_by": count_by})


@pytest.mark.parametrize("count_by", ["PCsTotalGB", "ServersTotalGB", "TotalGB"])
def test_online_backup_counts_gb(count_by: str) -> None:
    terms = OnlineBackupTerms.model_validate({**MONTHLY, "rate_per_gb": 1, "count_by": count_by})
    assert terms.count_by == CountBy(count_by)
    assert terms.mb_per_gb == 1024


@pytest.mark.parametrize("count_by", DEVICE_COUNT_BYS)
def test_online_backup_refuses_device_count_bys(count_by: str) -> None:
    with pytest.raises(ValidationError, match="counts GB"):
        OnlineBackupTerms.model_validate({**MONTHLY, "rate_per_gb": 1, "count_by": count_by})


@pytest.mark.parametrize(("mb_per_gb", "ok"), [(1024, True), (1000, True), (1023, False), (0, False)])
def test_online_backup_mb_per_gb(mb_per_gb: int, ok: bool) -> None:
    data = {"billing_period": "Monthly", "rate_per_gb": 1, "count_by": "TotalGB", "mb_per_gb": mb_per_gb}
    if ok:
        assert OnlineBackupTerms.model_validate(data).mb_per_gb == mb_per_gb
    else:
        with pytest.raises(ValidationError, match="1024 or 1000"):
            OnlineBackupTerms.model_validate(data)


@pytest.mark.parametrize(
    ("contract_type", "field"),
    [
        (ContractType.RETAINER_FLAT_FEE, "rate"),
        (ContractType.RETAINER_FLAT_FEE, "quantity"),
        (ContractType.HOURLY, "primary_rate"),
        (ContractType.BLOCK_HOURS, "hours_included"),
        (ContractType.BLOCK_HOURS, "price_per_hour"),
        (ContractType.BLOCK_HOURS, "overage_rate"),
        (ContractType.BLOCK_MONEY, "contract_amount"),
        (ContractType.REMOTE_MONITORING, "rate_per_device"),
        (ContractType.ONLINE_BACKUP, "rate_per_gb"),
        (ContractType.PROJECT_ONE_TIME_FEE, "total_amount"),
        (ContractType.PROJECT_HOURLY_RATE, "primary_rate"),
    ],
)
@pytest.mark.parametrize("bad", ["-0.01", "NaN", "Infinity", "abc"])
def test_money_fields_are_finite_and_not_negative(contract_type: ContractType, field: str, bad: str) -> None:
    with pytest.raises(ValidationError, match=rf"terms\.{field}\n"):
        contract(contract_type, {**TERMS[contract_type], field: bad})


def test_negative_additional_rate_is_refused() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        contract(ContractType.HOURLY, {**TERMS[ContractType.HOURLY], "additional_rates": {"Senior": "-1"}})


@pytest.mark.parametrize("name", ["primary", "", "  "])
def test_additional_rate_names_cannot_shadow_the_primary(name: str) -> None:
    with pytest.raises(ValidationError, match="cannot be named"):
        contract(BLOCK_MONEY, {**TERMS[BLOCK_MONEY], "additional_rates": {name: "1"}})


def test_float_money_is_read_as_written() -> None:
    built = contract(ContractType.RETAINER_FLAT_FEE, {**MONTHLY, "rate": 0.1, "quantity": 2.675})
    assert isinstance(built.terms, RetainerFlatFeeTerms)
    assert built.terms.rate == Decimal("0.1")
    assert built.terms.quantity == Decimal("2.675")


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="rate_per_gig"):
        contract(ContractType.ONLINE_BACKUP, {**TERMS[ContractType.ONLINE_BACKUP], "rate_per_gig": 1})
    with pytest.raises(ValidationError, match="taxible"):
        contract(ContractType.ONLINE_BACKUP, taxible=True)


def test_unknown_contract_type_is_refused() -> None:
    with pytest.raises(ValidationError, match="type"):
        Contract.model_validate(
            {
                "customer_name": "Acme",
                "name": "X",
                "type": "Retainer",
                "start_date": "2026-01-01",
                "terms": {},
            }
        )


def test_contract_is_frozen() -> None:
    built = contract(ContractType.RETAINER_FLAT_FEE)
    with pytest.raises(ValidationError):
        built.active = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("contract_type", "day", "expected"),
    [
        (
            ContractType.BLOCK_MONEY,
            date(2026, 2, 1),
            Period(BillingPeriod.QUARTERLY, "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ),
        (
            ContractType.PROJECT_ONE_TIME_FEE,
            date(2027, 6, 1),
            Period(BillingPeriod.END_OF_CONTRACT_DURATION, "contract", date(2026, 1, 15), date(2029, 1, 15)),
        ),
    ],
)
def test_contract_period_containing(contract_type: ContractType, day: date, expected: Period) -> None:
    assert contract(contract_type).period_containing(day) == expected
