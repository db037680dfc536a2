"""Billing rules: every contract type, carry across periods, tax on labor only, and cents that add up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.contracts import Contract
from mappings.enums import BillingPeriod, ContractType, CountBy, Unit
from mappings.money import CENT
from mappings.periods import Period, contract_period, on_demand_period, parse_period_key, periods_between
from mappings.rules import (
    NO_CARRY,
    Carry,
    HoursEntry,
    LineItem,
    MissingUsageError,
    PeriodResult,
    PeriodUsage,
    compute_period,
    compute_periods,
)

D = Decimal
RETAINER = ContractType.RETAINER_FLAT_FEE
HOURLY = ContractType.HOURLY
BLOCK_HOURS = ContractType.BLOCK_HOURS
BLOCK_MONEY = ContractType.BLOCK_MONEY
MONITORING = ContractType.REMOTE_MONITORING
BACKUP = ContractType.ONLINE_BACKUP
ONE_TIME = ContractType.PROJECT_ONE_TIME_FEE
PROJECT_HOURLY = ContractType.PROJECT_HOURLY_RATE

DEVICES = {CountBy.PC_AGENTS: 10, CountBy.SERVER_AGENTS: 3, CountBy.MAC_AGENTS: 2, CountBy.OTHER_DEVICES: 5}


def make(contract_type: ContractType, terms: dict[str, Any], **header: Any) -> Contract:
    data: dict[str, Any] = {
        "customer_id": 7,
        "customer_name": "Acme",
        "contract_id": 42,
        "name": "Support",
        "type": contract_type,
        "start_date": date(2026, 1, 1),
        "terms": terms,
        **header,
    }
    return Contract.model_validate(data)


def hours(*entries: tuple[str, str | None]) -> PeriodUsage:
    return PeriodUsage(
        hours=[HoursEntry(hours=D(h), rate_name=name, ref=f"T-{i}") for i, (h, name) in enumerate(entries, 1)]
    )


Row = tuple[str, Decimal, Unit, Decimal, Decimal, bool, bool]


def rows(result: PeriodResult) -> list[Row]:
    """(metric, quantity, unit, rate, amount, taxable, labor) of each line, in order."""
    return [(i.metric, i.quantity, i.unit, i.rate, i.amount, i.taxable, i.labor) for i in result.lines]


def half_up(value: Fraction) -> Decimal:
    """Cents, half-up, from an exact rational: the reference the rules are checked against."""
    cents = (abs(value) * 100 + Fraction(1, 2)).__floor__()
    return Decimal(cents if value >= 0 else -cents) / 100


def cents(exact: Decimal) -> Decimal:
    """An amount already exact to the cent, written with two places as line amounts are."""
    return exact.quantize(CENT)


MONTHLY = {"billing_period": "Monthly"}
JAN = parse_period_key("2026-01")

# Every contract type in one period, on a taxable contract: only labor lines are taxable.
TYPE_CASES: list[tuple[str, ContractType, dict[str, Any], PeriodUsage, list[Row]]] = [
    (
        "retainer, contract quantity",
        RETAINER,
        {**MONTHLY, "rate": "12.50"},
        PeriodUsage(),
        [("retainer", D(1), Unit.UNIT, D("12.50"), D("12.50"), False, False)],
    ),
    (
        "retainer, vendor users as quantity",
        RETAINER,
        {**MONTHLY, "quantity": 5, "rate": "3.35"},
        PeriodUsage(quantity=D(37), unit=Unit.USER),
        [("retainer", D(37), Unit.USER, D("3.35"), D("123.95"), False, False)],
    ),
    (
        "retainer, 3 x 0.335 rounded once",
        RETAINER,
        {**MONTHLY, "quantity": 3, "rate": "0.335"},
        PeriodUsage(),
        [("retainer", D(3), Unit.UNIT, D("0.335"), D("1.01"), False, False)],
    ),
    (
        "retainer, zero usage is billed as zero",
        RETAINER,
        {**MONTHLY, "rate": "9"},
        PeriodUsage(quantity=D(0), unit=Unit.GB),
        [("retainer", D(0), Unit.GB, D(9), D("0.00"), False, False)],
    ),
    (
        "hourly, primary and an additional rate",
        HOURLY,
        {**MONTHLY, "primary_rate": "90", "additional_rates": {"Senior": "120", "Junior": "60"}},
        hours(("2", "Senior"), ("1.5", None), ("2", None)),
        [
            ("hours:primary", D("3.5"), Unit.HOUR, D(90), D("315.00"), True, True),
            ("hours:Senior", D(2), Unit.HOUR, D(120), D("240.00"), True, True),
        ],
    ),
    (
        "hourly, a quarter hour at 100.02 is 25.005, half-up once",
        HOURLY,
        {**MONTHLY, "primary_rate": "100.02"},
        hours(("0.25", None)),
        [("hours:primary", D("0.25"), Unit.HOUR, D("100.02"), D("25.01"), True, True)],
    ),
    (
        "hourly, an explicit zero",
        HOURLY,
        {**MONTHLY, "primary_rate": "90"},
        hours(("0", None)),
        [("hours:primary", D(0), Unit.HOUR, D(90), D("0.00"), True, True)],
    ),
    ("hourly, no hours", HOURLY, {**MONTHLY, "primary_rate": "90"}, PeriodUsage(), []),
    (
        "block hours, inside the block",
        BLOCK_HOURS,
        {**MONTHLY, "hours_included": "10", "price_per_hour": "80", "overage_rate": "100"},
        hours(("6", None)),
        [("block", D(10), Unit.HOUR, D(80), D("800.00"), False, False)],
    ),
    (
        "block hours, exactly the block",
        BLOCK_HOURS,
        {**MONTHLY, "hours_included": "10", "price_per_hour": "80", "overage_rate": "100"},
        hours(("4", None), ("6", None)),
        [("block", D(10), Unit.HOUR, D(80), D("800.00"), False, False)],
    ),
    (
        "block hours, overage",
        BLOCK_HOURS,
        {**MONTHLY, "hours_included": "10", "price_per_hour": "80", "overage_rate": "100"},
        hours(("8", None), ("4.5", None)),
        [
            ("block", D(10), Unit.HOUR, D(80), D("800.00"), False, False),
            ("overage", D("2.5"), Unit.HOUR, D(100), D("250.00"), True, True),
        ],
    ),
    (
        "block money, inside the block",
        BLOCK_MONEY,
        {**MONTHLY, "contract_amount": "1000", "primary_rate": "90"},
        hours(("5", None)),
        [("block", D(1), Unit.UNIT, D(1000), D("1000.00"), False, False)],
    ),
    (
        "block money, overage at the primary rate",
        BLOCK_MONEY,
        {**MONTHLY, "contract_amount": "1000", "primary_rate": "100"},
        hours(("7", None), ("5", None)),
        [
            ("block", D(1), Unit.UNIT, D(1000), D("1000.00"), False, False),
            ("overage", D(2), Unit.HOUR, D(100), D("200.00"), True, True),
        ],
    ),
    (
        "block money, the crossing entry is split and each rate keeps its own overage",
        BLOCK_MONEY,
        {**MONTHLY, "contract_amount": "500", "primary_rate": "90", "additional_rates": {"Senior": "150"}},
        # 3 h x 90 = 270 leaves 230; 2 h x 150 = 300 overruns by 70 (0.466.. h); 1 h x 90 is all overage.
        hours(("3", None), ("2", "Senior"), ("1", None)),
        [
            ("block", D(1), Unit.UNIT, D(500), D("500.00"), False, False),
            ("overage", D(1), Unit.HOUR, D(90), D("90.00"), True, True),
            ("overage:Senior", D("0.4666667"), Unit.HOUR, D(150), D("70.00"), True, True),
        ],
    ),
    *[
        (
            f"remote monitoring, {count_by.value}",
            MONITORING,
            {**MONTHLY, "rate_per_device": "4.25", "count_by": count_by},
            PeriodUsage(devices=DEVICES),
            [("devices", D(count), Unit.DEVICE, D("4.25"), D("4.25") * count, False, False)],
        )
        for count_by, count in [
            (CountBy.PC_AGENTS, 10),
            (CountBy.SERVER_AGENTS, 3),
            (CountBy.MAC_AGENTS, 2),
            (CountBy.OTHER_DEVICES, 5),
            (CountBy.AGENTS_ONLY, 15),
            (CountBy.ALL, 20),
        ]
    ],
    (
        "remote monitoring, zero devices observed",
        MONITORING,
        {**MONTHLY, "rate_per_device": "4.25", "count_by": "MacAgents"},
        PeriodUsage(devices={CountBy.MAC_AGENTS: 0}),
        [("devices", D(0), Unit.DEVICE, D("4.25"), D("0.00"), False, False)],
    ),
    *[
        (
            f"online backup, {count_by.value}",
            BACKUP,
            {**MONTHLY, "rate_per_gb": "0.15", "count_by": count_by},
            PeriodUsage(pc_gb=D("100.5"), server_gb=D("250.25")),
            [("backup_gb", gb, Unit.GB, D("0.15"), amount, False, False)],
        )
        for count_by, gb, amount in [
            (CountBy.PCS_TOTAL_GB, D("100.5"), D("15.08")),  # 15.075 half-up
            (CountBy.SERVERS_TOTAL_GB, D("250.25"), D("37.54")),  # 37.5375
            (CountBy.TOTAL_GB, D("350.75"), D("52.61")),  # 52.6125; 15.08 + 37.54 would be 52.62
        ]
    ],
    *[
        (
            f"online backup from MB at {mb_per_gb} MB/GB",
            BACKUP,
            {**MONTHLY, "rate_per_gb": "0.10", "count_by": "TotalGB", "mb_per_gb": mb_per_gb},
            PeriodUsage(pc_mb=D(1536000), server_mb=D(512000)),
            [("backup_gb", gb, Unit.GB, D("0.10"), amount, False, False)],
        )
        for mb_per_gb, gb, amount in [(1024, D(2000), D("200.00")), (1000, D(2048), D("204.80"))]
    ],
    (
        "online backup, a third of a GB three times over",
        BACKUP,
        {**MONTHLY, "rate_per_gb": "3", "count_by": "PCsTotalGB"},
        PeriodUsage(pc_gb=D(1) / D(3)),
        [("backup_gb", D(1) / D(3), Unit.GB, D(3), D("1.00"), False, False)],
    ),
    (
        "online backup, 341 MB: 0.3330078125 GB",
        BACKUP,
        {**MONTHLY, "rate_per_gb": "1.52", "count_by": "ServersTotalGB"},
        PeriodUsage(server_mb=D(341)),
        [("backup_gb", D("0.3330078125"), Unit.GB, D("1.52"), D("0.51"), False, False)],
    ),
    (
        "project one-time fee, in its start period",
        ONE_TIME,
        {"total_amount": "2500"},
        PeriodUsage(),
        [("one_time_fee", D(1), Unit.UNIT, D(2500), D("2500.00"), False, False)],
    ),
    (
        "project hourly rate",
        PROJECT_HOURLY,
        {"primary_rate": "95", "additional_rates": {"Architect": "150.5"}},
        hours(("3.25", None), ("1", "Architect")),
        [
            ("hours:primary", D("3.25"), Unit.HOUR, D(95), D("308.75"), True, True),
            ("hours:Architect", D(1), Unit.HOUR, D("150.5"), D("150.50"), True, True),
        ],
    ),
]


def period_for(contract: Contract, key: str = "2026-01") -> Period:
    if contract.is_project:
        return contract_period(contract.start_date, contract.effective_end_date)
    return parse_period_key(key)


@pytest.mark.parametrize(
    ("contract_type", "terms", "usage", "expected"),
    [case[1:] for case in TYPE_CASES],
    ids=[case[0] for case in TYPE_CASES],
)
def test_each_contract_type(
    contract_type: ContractType, terms: dict[str, Any], usage: PeriodUsage, expected: list[Row]
) -> None:
    contract = make(contract_type, terms, taxable=True)
    period = period_for(contract)
    result = compute_period(contract, period, usage)
    assert rows(result) == expected
    for line in result.lines:
        assert line.identity == ("Acme", "42", period.key, line.metric)
        assert (line.psa_customer, line.contract, line.contract_id, line.period_key) == (
            "Acme",
            "Support",
            42,
            period.key,
        )
        assert line.description.startswith(f"Support {period.key}: ")


@pytest.mark.parametrize(
    ("contract_type", "terms", "usage", "expected"),
    [case[1:] for case in TYPE_CASES],
    ids=[case[0] for case in TYPE_CASES],
)
def test_nothing_is_taxable_on_a_non_taxable_contract(
    contract_type: ContractType, terms: dict[str, Any], usage: PeriodUsage, expected: list[Row]
) -> None:
    contract = make(contract_type, terms, taxable=False)
    result = compute_period(contract, period_for(contract), usage)
    assert [li.taxable for li in result.lines] == [False] * len(expected)
    # Labor stays labor: tax is what changes, not the kind of line.
    assert [li.labor for li in result.lines] == [row[6] for row in expected]


@pytest.mark.parametrize(
    ("contract_type", "terms", "usage", "expected"),
    [case[1:] for case in TYPE_CASES],
    ids=[case[0] for case in TYPE_CASES],
)
def test_an_inactive_contract_bills_nothing(
    contract_type: ContractType, terms: dict[str, Any], usage: PeriodUsage, expected: list[Row]
) -> None:
    contract = make(contract_type, terms, active=False, taxable=True)
    assert compute_period(contract, period_for(contract), usage) == PeriodResult([], NO_CARRY)


BLOCK_HOURS_TERMS = {**MONTHLY, "hours_included": "10", "price_per_hour": "80", "overage_rate": "100"}
RETAINER_TERMS = {**MONTHLY, "rate": "50"}


@pytest.mark.parametrize(
    ("header", "key", "billed"),
    [
        ({"start_date": date(2026, 1, 1)}, "2025-12", False),
        ({"start_date": date(2026, 1, 1)}, "2026-01", True),
        # Starting mid-period bills the whole period: no proration, as Atera does.
        ({"start_date": date(2026, 1, 31)}, "2026-01", True),
        ({"start_date": date(2026, 2, 1)}, "2026-01", False),
        # No end date: it ends three years after the start, on that day included.
        ({"start_date": date(2026, 1, 15)}, "2029-01", True),
        ({"start_date": date(2026, 1, 15)}, "2029-02", False),
        ({"start_date": date(2028, 2, 29)}, "2031-02", True),
        ({"start_date": date(2028, 2, 29)}, "2031-03", False),
        # An explicit end date.
        ({"start_date": date(2026, 1, 15), "end_date": date(2026, 6, 1)}, "2026-06", True),
        ({"start_date": date(2026, 1, 15), "end_date": date(2026, 6, 1)}, "2026-07", False),
        ({"start_date": date(2026, 1, 15), "end_date": date(2026, 5, 31)}, "2026-06", False),
    ],
)
def test_only_periods_overlapping_the_contract_bill(header: dict[str, Any], key: str, billed: bool) -> None:
    contract = make(RETAINER, RETAINER_TERMS, **header)
    result = compute_period(contract, parse_period_key(key), PeriodUsage())
    expected = [("retainer", D(1), Unit.UNIT, D(50), D("50.00"), False, False)] if billed else []
    assert rows(result) == expected


def test_a_period_outside_the_contract_passes_the_carry_through() -> None:
    contract = make(BLOCK_HOURS, {**BLOCK_HOURS_TERMS, "commit_rollover": True}, end_date=date(2026, 3, 31))
    carry = Carry(hours=D(4))
    assert compute_period(contract, parse_period_key("2026-04"), hours(("3", None)), carry).carry_out == carry


@pytest.mark.parametrize(
    ("rollover", "used", "expected"),
    [
        # (block hours, overage hours, carry out) per period; 10 h included, 80 per hour, overage 100.
        (True, ["4", "15", "3"], [(10, None, 6), (10, None, 1), (10, None, 8)]),
        (True, ["12", "2", "30"], [(10, 2, 0), (10, None, 8), (10, 12, 0)]),
        (True, ["0", "0", "25"], [(10, None, 10), (10, None, 20), (10, None, 5)]),
        (True, ["10", "10.25", "9.75"], [(10, None, 0), (10, "0.25", 0), (10, None, "0.25")]),
        (False, ["4", "15", "3"], [(10, None, 0), (10, 5, 0), (10, None, 0)]),
        (False, ["0", "0", "25"], [(10, None, 0), (10, None, 0), (10, 15, 0)]),
    ],
)
def test_block_hours_across_three_periods(
    rollover: bool, used: list[str], expected: list[tuple[int, int | str | None, int | str]]
) -> None:
    contract = make(BLOCK_HOURS, {**BLOCK_HOURS_TERMS, "commit_rollover": rollover}, taxable=True)
    periods = periods_between(BillingPeriod.MONTHLY, date(2026, 1, 1), date(2026, 3, 31))
    results = compute_periods(contract, [(p, hours((h, None))) for p, h in zip(periods, used, strict=True)])
    for result, (block, overage, carry) in zip(results, expected, strict=True):
        want: list[Row] = [("block", D(block), Unit.HOUR, D(80), cents(D(block) * 80), False, False)]
        if overage is not None:
            want.append(("overage", D(overage), Unit.HOUR, D(100), cents(D(overage) * 100), True, True))
        assert rows(result) == want
        assert result.carry_out == Carry(hours=D(carry))


@pytest.mark.parametrize(
    ("rollover", "used", "expected"),
    [
        # (overage hours, carry-out money) per period; a 1000 block at 100 per hour.
        (True, ["4", "15", "3"], [(None, 600), (None, 100), (None, 800)]),
        (True, ["12", "2", "30"], [(2, 0), (None, 800), (12, 0)]),
        (True, ["0", "0", "33.5"], [(None, 1000), (None, 2000), ("3.5", 0)]),
        (False, ["4", "15", "3"], [(None, 0), (5, 0), (None, 0)]),
        (False, ["12", "2", "30"], [(2, 0), (None, 0), (20, 0)]),
    ],
)
def test_block_money_across_three_periods(
    rollover: bool, used: list[str], expected: list[tuple[int | str | None, int]]
) -> None:
    terms = {**MONTHLY, "contract_amount": "1000", "primary_rate": "100", "commit_rollover": rollover}
    contract = make(BLOCK_MONEY, terms)
    periods = periods_between(BillingPeriod.MONTHLY, date(2026, 1, 1), date(2026, 3, 31))
    results = compute_periods(contract, [(p, hours((h, None))) for p, h in zip(periods, used, strict=True)])
    for result, (overage, carry) in zip(results, expected, strict=True):
        want: list[Row] = [("block", D(1), Unit.UNIT, D(1000), D("1000.00"), False, False)]
        if overage is not None:
            want.append(("overage", D(overage), Unit.HOUR, D(100), cents(D(overage) * 100), False, True))
        assert rows(result) == want
        assert result.carry_out == Carry(money=D(carry))


def test_block_lines_explain_the_carry() -> None:
    contract = make(BLOCK_HOURS, {**BLOCK_HOURS_TERMS, "commit_rollover": True})
    result = compute_period(contract, JAN, hours(("13", None)), Carry(hours=D(2)))
    overage = result.lines[1]
    assert overage.inputs["carry_in_hours"] == "2"
    assert overage.inputs["available_hours"] == "12"
    assert overage.inputs["used_hours"] == "13"
    assert [e["ref"] for e in overage.inputs["entries"]] == ["T-1"]
    assert overage.quantity == D(1)


def test_one_time_fee_is_billed_once_in_the_start_period() -> None:
    contract = make(ONE_TIME, {"total_amount": "2500"}, start_date=date(2026, 3, 10), taxable=True)
    # Project hours and fees may be billed in whatever periods the connector asks for.
    periods = periods_between(BillingPeriod.MONTHLY, date(2026, 2, 1), date(2026, 7, 31))
    results = compute_periods(contract, [(p, PeriodUsage()) for p in periods])
    billed = {p.key: rows(r) for p, r in zip(periods, results, strict=True) if r.lines}
    assert billed == {"2026-03": [("one_time_fee", D(1), Unit.UNIT, D(2500), D("2500.00"), False, False)]}


@pytest.mark.parametrize(
    ("period", "billed"),
    [
        (contract_period(date(2026, 3, 10), date(2029, 3, 10)), True),
        (on_demand_period(date(2026, 3, 1), date(2026, 3, 10)), True),
        (on_demand_period(date(2026, 3, 11), date(2026, 12, 31)), False),
        (parse_period_key("2026-W11"), True),  # Mon 9 - Sun 15 March
        (parse_period_key("2026-W12"), False),
        (parse_period_key("2026-Q1"), True),
        (parse_period_key("2026-Q2"), False),
    ],
)
def test_one_time_fee_only_in_the_period_holding_the_start(period: Period, billed: bool) -> None:
    contract = make(ONE_TIME, {"total_amount": "2500"}, start_date=date(2026, 3, 10))
    assert bool(compute_period(contract, period, PeriodUsage()).lines) is billed


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        (BillingPeriod.WEEKLY, "2026-W47"),
        (BillingPeriod.BI_WEEKLY, "2026-11-H2"),
        (BillingPeriod.MONTHLY, "2026-11"),
        (BillingPeriod.QUARTERLY, "2026-Q4"),
        (BillingPeriod.TWICE_A_YEAR, "2026-S2"),
        (BillingPeriod.YEARLY, "2026"),
        (BillingPeriod.ON_DEMAND, "2026-11-03..2026-11-20"),
    ],
)
def test_every_billing_period_bills_a_whole_block(kind: BillingPeriod, key: str) -> None:
    contract = make(BLOCK_HOURS, {**BLOCK_HOURS_TERMS, "billing_period": kind})
    result = compute_period(contract, parse_period_key(key), hours(("11", None)))
    assert [(li.metric, li.period_key, li.amount) for li in result.lines] == [
        ("block", key, D("800.00")),
        ("overage", key, D("100.00")),
    ]


def test_end_of_contract_duration_bills_the_contract_once() -> None:
    terms = {**RETAINER_TERMS, "billing_period": "EndOfContractDuration"}
    contract = make(RETAINER, terms, end_date=date(2026, 6, 30))
    period = contract.period_containing(date(2026, 4, 1))
    assert period.key == "contract"
    assert rows(compute_period(contract, period, PeriodUsage())) == [
        ("retainer", D(1), Unit.UNIT, D(50), D("50.00"), False, False)
    ]


def test_usage_inputs_are_carried_into_every_line() -> None:
    contract = make(BACKUP, {**MONTHLY, "rate_per_gb": "0.15", "count_by": "TotalGB", "mb_per_gb": 1000})
    usage = PeriodUsage(pc_mb=D(1500), server_gb=D(2), inputs={"accounts": ["acme-pc", "acme-srv"]})
    line = compute_period(contract, JAN, usage).lines[0]
    assert line.quantity == D("3.5")
    assert line.inputs["usage"] == {"accounts": ["acme-pc", "acme-srv"]}
    assert line.inputs["pc_mb"] == "1500"
    assert line.inputs["mb_per_gb"] == 1000


def test_device_lines_show_the_counts_behind_them() -> None:
    contract = make(MONITORING, {**MONTHLY, "rate_per_device": "2", "count_by": "AgentsOnly"})
    line = compute_period(contract, JAN, PeriodUsage(devices=DEVICES)).lines[0]
    assert line.inputs["devices"] == {"PCAgents": 10, "ServerAgents": 3, "MacAgents": 2, "OtherDevices": 5}
    assert line.inputs["count_by"] == "AgentsOnly"


# ---- refusals: never guess, never bill zero for "not observed" ----


@pytest.mark.parametrize(
    ("contract_type", "terms", "usage"),
    [
        (
            HOURLY,
            {**MONTHLY, "primary_rate": "90", "additional_rates": {"Senior": "120"}},
            hours(("1", "Principal")),
        ),
        (PROJECT_HOURLY, {"primary_rate": "90"}, hours(("1", None), ("2", "Principal"))),
        (BLOCK_MONEY, {**MONTHLY, "contract_amount": "100", "primary_rate": "90"}, hours(("1", "Principal"))),
        (BLOCK_HOURS, BLOCK_HOURS_TERMS, hours(("1", "Principal"))),
    ],
)
def test_an_unknown_rate_name_is_an_error_naming_it(
    contract_type: ContractType, terms: dict[str, Any], usage: PeriodUsage
) -> None:
    contract = make(contract_type, terms)
    with pytest.raises(ValueError, match=r"no rate named 'Principal' \(hours T-\d\)"):
        compute_period(contract, period_for(contract), usage)


@pytest.mark.parametrize(
    ("count_by", "devices", "missing"),
    [
        ("PCAgents", {}, "PCAgents"),
        ("MacAgents", {CountBy.PC_AGENTS: 3}, "MacAgents"),
        ("AgentsOnly", {CountBy.PC_AGENTS: 3, CountBy.SERVER_AGENTS: 1}, "MacAgents"),
        ("All", {CountBy.PC_AGENTS: 3, CountBy.SERVER_AGENTS: 1, CountBy.MAC_AGENTS: 0}, "OtherDevices"),
    ],
)
def test_missing_device_counts_are_not_zero(count_by: str, devices: dict[CountBy, int], missing: str) -> None:
    contract = make(MONITORING, {**MONTHLY, "rate_per_device": "2", "count_by": count_by})
    with pytest.raises(MissingUsageError, match=missing):
        compute_period(contract, JAN, PeriodUsage(devices=devices))


@pytest.mark.parametrize(
    ("count_by", "usage", "missing"),
    [
        ("PCsTotalGB", PeriodUsage(server_gb=D(5)), "pc_gb"),
        ("ServersTotalGB", PeriodUsage(pc_gb=D(5)), "server_gb"),
        ("TotalGB", PeriodUsage(pc_mb=D(5)), "server_gb or server_mb"),
    ],
)
def test_missing_storage_is_not_zero(count_by: str, usage: PeriodUsage, missing: str) -> None:
    contract = make(BACKUP, {**MONTHLY, "rate_per_gb": "1", "count_by": count_by})
    with pytest.raises(MissingUsageError, match=missing):
        compute_period(contract, JAN, usage)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"devices": {"All": 3}}, "four base classes"),
        ({"devices": {"AgentsOnly": 3, "PCAgents": 3}}, "four base classes"),
        ({"devices": {"PCAgents": -1}}, "greater than or equal to 0"),
        ({"pc_gb": "1", "pc_mb": "1024"}, "pc_gb or pc_mb, not both"),
        ({"hours": [{"hours": "-1"}]}, "greater than or equal to 0"),
        ({"quantity": "NaN"}, "quantity"),
        ({"gb": "1"}, "Extra inputs"),
    ],
)
def test_usage_is_validated(data: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PeriodUsage.model_validate(data)


@pytest.mark.parametrize(
    ("contract_type", "terms", "period", "match"),
    [
        (RETAINER, RETAINER_TERMS, parse_period_key("2026-W03"), "bills Monthly, not Weekly"),
        (RETAINER, {**RETAINER_TERMS, "billing_period": "Quarterly"}, JAN, "bills Quarterly, not Monthly"),
        (
            RETAINER,
            {**RETAINER_TERMS, "billing_period": "EndOfContractDuration"},
            contract_period(date(2026, 1, 1), date(2027, 1, 1)),
            "runs 2026-01-01 to 2029-01-01",
        ),
    ],
)
def test_a_period_of_another_kind_is_refused(
    contract_type: ContractType, terms: dict[str, Any], period: Period, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        compute_period(make(contract_type, terms), period, PeriodUsage())


@pytest.mark.parametrize(
    ("contract_type", "terms", "carry"),
    [
        (BLOCK_HOURS, BLOCK_HOURS_TERMS, Carry(hours=D(1))),  # rollover off
        (BLOCK_HOURS, {**BLOCK_HOURS_TERMS, "commit_rollover": True}, Carry(money=D(1))),
        (
            BLOCK_MONEY,
            {**MONTHLY, "contract_amount": "1", "primary_rate": "1", "commit_rollover": True},
            Carry(hours=D(1)),
        ),
        (RETAINER, RETAINER_TERMS, Carry(money=D(1))),
    ],
)
def test_a_carry_the_contract_cannot_have_is_refused(
    contract_type: ContractType, terms: dict[str, Any], carry: Carry
) -> None:
    with pytest.raises(ValueError, match="cannot roll over"):
        compute_period(make(contract_type, terms), JAN, hours(("1", None)), carry)


def test_periods_must_come_in_order() -> None:
    contract = make(BLOCK_HOURS, {**BLOCK_HOURS_TERMS, "commit_rollover": True})
    feb, jan = parse_period_key("2026-02"), parse_period_key("2026-01")
    with pytest.raises(ValueError, match="2026-01 starts before the previous one ends"):
        compute_periods(contract, [(feb, PeriodUsage()), (jan, PeriodUsage())])
    with pytest.raises(ValueError, match="2026-01 starts before"):
        compute_periods(contract, [(jan, PeriodUsage()), (jan, PeriodUsage())])


def line(**overrides: Any) -> LineItem:
    data: dict[str, Any] = {
        "psa_customer": "Acme",
        "contract": "Support",
        "contract_id": None,
        "period_key": "2026-01",
        "metric": "hours:primary",
        "description": "",
        "quantity": D(3),
        "unit": Unit.HOUR,
        "rate": D("0.335"),
        "amount": D("1.01"),
        "taxable": True,
        "labor": True,
        **overrides,
    }
    return LineItem.model_validate(data)


def test_line_identity_prefers_the_contract_id() -> None:
    assert line().identity == ("Acme", "Support", "2026-01", "hours:primary")
    assert line(contract_id=42).identity == ("Acme", "42", "2026-01", "hours:primary")


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"amount": D("1.00")}, "rounded once"),
        ({"amount": D("1.02")}, "rounded once"),
        ({"amount": D("1.005")}, "rounded once"),
        ({"labor": False}, "only labor lines can be taxable"),
    ],
)
def test_a_line_item_cannot_contradict_itself(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        line(**overrides)


# ---- properties ----


def finite_decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    # Finite by construction: NaN and infinity are not amounts, and the models refuse them.
    return st.decimals(min_value=D(low), max_value=D(high), places=places)


money = finite_decimals("0", "100000", 3)
quantities = finite_decimals("0", "100000", 4)
positive_rates = finite_decimals("0.01", "500", 3)
hour_amounts = finite_decimals("0", "200", 2)


@given(quantity=quantities, rate=money, taxable=st.booleans())
def test_retainer_amount_matches_exact_rationals(quantity: Decimal, rate: Decimal, taxable: bool) -> None:
    contract = make(RETAINER, {**MONTHLY, "rate": rate}, taxable=taxable)
    (only,) = compute_period(contract, JAN, PeriodUsage(quantity=quantity)).lines
    assert only.amount == half_up(Fraction(quantity) * Fraction(rate))
    assert only.taxable is False


@given(
    counts=st.lists(st.integers(min_value=0, max_value=10000), min_size=4, max_size=4),
    count_by=st.sampled_from(
        [
            CountBy.PC_AGENTS,
            CountBy.SERVER_AGENTS,
            CountBy.MAC_AGENTS,
            CountBy.OTHER_DEVICES,
            CountBy.AGENTS_ONLY,
            CountBy.ALL,
        ]
    ),
    rate=money,
)
def test_device_lines_match_exact_rationals(counts: list[int], count_by: CountBy, rate: Decimal) -> None:
    pc, server, mac, other = counts
    expected_count = {
        CountBy.PC_AGENTS: pc,
        CountBy.SERVER_AGENTS: server,
        CountBy.MAC_AGENTS: mac,
        CountBy.OTHER_DEVICES: other,
        CountBy.AGENTS_ONLY: pc + server + mac,
        CountBy.ALL: pc + server + mac + other,
    }[count_by]
    devices = dict(
        zip(
            [CountBy.PC_AGENTS, CountBy.SERVER_AGENTS, CountBy.MAC_AGENTS, CountBy.OTHER_DEVICES],
            counts,
            strict=True,
        )
    )
    contract = make(MONITORING, {**MONTHLY, "rate_per_device": rate, "count_by": count_by})
    (only,) = compute_period(contract, JAN, PeriodUsage(devices=devices)).lines
    assert only.quantity == expected_count
    assert only.amount == half_up(expected_count * Fraction(rate))


@given(
    pc_mb=st.integers(min_value=0, max_value=10**12),
    server_mb=st.integers(min_value=0, max_value=10**12),
    mb_per_gb=st.sampled_from([1000, 1024]),
    count_by=st.sampled_from([CountBy.PCS_TOTAL_GB, CountBy.SERVERS_TOTAL_GB, CountBy.TOTAL_GB]),
    rate=money,
)
def test_backup_lines_match_exact_rationals(
    pc_mb: int, server_mb: int, mb_per_gb: int, count_by: CountBy, rate: Decimal
) -> None:
    mb = {
        CountBy.PCS_TOTAL_GB: pc_mb,
        CountBy.SERVERS_TOTAL_GB: server_mb,
        CountBy.TOTAL_GB: pc_mb + server_mb,
    }
    terms = {**MONTHLY, "rate_per_gb": rate, "count_by": count_by, "mb_per_gb": mb_per_gb}
    usage = PeriodUsage(pc_mb=D(pc_mb), server_mb=D(server_mb))
    (only,) = compute_period(make(BACKUP, terms), JAN, usage).lines
    assert Fraction(only.quantity) == Fraction(mb[count_by], mb_per_gb)
    assert only.amount == half_up(Fraction(mb[count_by], mb_per_gb) * Fraction(rate))


@given(
    entries=st.lists(st.tuples(hour_amounts, st.sampled_from([None, "Senior", "Junior"])), max_size=12),
    primary=money,
    senior=money,
    junior=money,
    taxable=st.booleans(),
)
def test_hours_lines_bill_every_hour_once(
    entries: list[tuple[Decimal, str | None]],
    primary: Decimal,
    senior: Decimal,
    junior: Decimal,
    taxable: bool,
) -> None:
    rates = {None: primary, "Senior": senior, "Junior": junior}
    terms = {**MONTHLY, "primary_rate": primary, "additional_rates": {"Senior": senior, "Junior": junior}}
    usage = PeriodUsage(hours=[HoursEntry(hours=h, rate_name=n) for h, n in entries])
    result = compute_period(make(HOURLY, terms, taxable=taxable), JAN, usage)
    by_rate: dict[str | None, Fraction] = {}
    for h, n in entries:
        by_rate[n] = by_rate.get(n, Fraction(0)) + Fraction(h)
    expected = {
        ("hours:primary" if n is None else f"hours:{n}"): half_up(total * Fraction(rates[n]))
        for n, total in by_rate.items()
    }
    assert {li.metric: li.amount for li in result.lines} == expected
    assert sum(Fraction(li.quantity) for li in result.lines) == sum(by_rate.values(), Fraction(0))
    assert all(li.taxable is taxable and li.labor for li in result.lines)


@given(
    included=hour_amounts,
    price=money,
    overage_rate=money,
    rollover=st.booleans(),
    used=st.lists(st.lists(hour_amounts, max_size=4), min_size=1, max_size=8),
)
def test_block_hours_account_for_every_hour(
    included: Decimal, price: Decimal, overage_rate: Decimal, rollover: bool, used: list[list[Decimal]]
) -> None:
    terms = {**MONTHLY, "hours_included": included, "price_per_hour": price, "overage_rate": overage_rate}
    contract = make(BLOCK_HOURS, {**terms, "commit_rollover": rollover}, taxable=True)
    periods = periods_between(BillingPeriod.MONTHLY, date(2026, 1, 1), date(2026, len(used), 1))
    usages = [PeriodUsage(hours=[HoursEntry(hours=h) for h in period_hours]) for period_hours in used]
    results = compute_periods(contract, list(zip(periods, usages, strict=True)))

    # Reference: an independent simulation in exact rationals.
    balance = Fraction(0)
    total_used = total_overage = total_covered = Fraction(0)
    for result, period_hours in zip(results, used, strict=True):
        available = Fraction(included) + balance
        this_used = sum((Fraction(h) for h in period_hours), Fraction(0))
        overage = max(this_used - available, Fraction(0))
        covered = this_used - overage
        balance = available - covered if rollover else Fraction(0)
        total_used += this_used
        total_overage += overage
        total_covered += covered

        block, *extra = result.lines
        assert (block.metric, block.quantity, block.amount) == (
            "block",
            included,
            half_up(Fraction(included) * Fraction(price)),
        )
        assert not block.taxable
        if overage:
            (over,) = extra
            assert (over.metric, Fraction(over.quantity)) == ("overage", overage)
            assert over.amount == half_up(overage * Fraction(overage_rate))
            assert over.taxable and over.labor
        else:
            assert extra == []
        assert Fraction(result.carry_out.hours) == balance
        assert result.carry_out.money == 0

    # Every hour used is either covered by a block or billed as overage: none lost, none invented.
    billed_overage = sum(
        (Fraction(li.quantity) for r in results for li in r.lines if li.metric == "overage"), Fraction(0)
    )
    assert billed_overage == total_overage
    assert total_covered + billed_overage == total_used
    # Rollover conservation: hours sold = hours covered + hours still carried; without rollover none carry.
    if rollover:
        assert Fraction(included) * len(used) == total_covered + Fraction(results[-1].carry_out.hours)
    else:
        assert total_covered <= Fraction(included) * len(used)


@given(
    amount=money,
    primary=positive_rates,
    senior=positive_rates,
    rollover=st.booleans(),
    used=st.lists(
        st.lists(st.tuples(hour_amounts, st.sampled_from([None, "Senior"])), max_size=4),
        min_size=1,
        max_size=6,
    ),
)
def test_block_money_never_loses_or_invents_a_cent(
    amount: Decimal,
    primary: Decimal,
    senior: Decimal,
    rollover: bool,
    used: list[list[tuple[Decimal, str | None]]],
) -> None:
    terms = {
        **MONTHLY,
        "contract_amount": amount,
        "primary_rate": primary,
        "additional_rates": {"Senior": senior},
        "commit_rollover": rollover,
    }
    contract = make(BLOCK_MONEY, terms)
    rates = {None: Fraction(primary), "Senior": Fraction(senior)}
    periods = periods_between(BillingPeriod.MONTHLY, date(2026, 1, 1), date(2026, len(used), 1))
    usages = [PeriodUsage(hours=[HoursEntry(hours=h, rate_name=n) for h, n in entries]) for entries in used]
    results = compute_periods(contract, list(zip(periods, usages, strict=True)))

    balance = Fraction(0)
    sold = spent = overage_total = Fraction(0)
    for result, entries in zip(results, used, strict=True):
        remaining = Fraction(amount) + balance
        sold += Fraction(amount)
        overage_money: dict[str | None, Fraction] = {}
        for h, n in entries:
            cost = Fraction(h) * rates[n]
            covered = min(cost, remaining)
            remaining -= covered
            spent += covered
            if cost > covered:
                overage_money[n] = overage_money.get(n, Fraction(0)) + cost - covered
        balance = remaining if rollover else Fraction(0)
        overage_total += sum(overage_money.values(), Fraction(0))

        block, *extra = result.lines
        assert block.amount == half_up(Fraction(amount))
        names = {n: "overage" if n is None else f"overage:{n}" for n in overage_money}
        expected = {names[n]: half_up(m) for n, m in overage_money.items()}
        assert {li.metric: li.amount for li in extra} == expected
        for li in extra:
            exact = overage_money[None if li.metric == "overage" else li.metric.split(":", 1)[1]]
            # The quantity never falls short of the money it stands for, and is off by far less than a cent.
            assert Fraction(li.quantity) * Fraction(li.rate) >= exact
            assert Fraction(li.quantity) * Fraction(li.rate) - exact < Fraction(1, 10**4)
            assert li.labor and not li.taxable
        assert Fraction(result.carry_out.money) == balance

    if rollover:
        # Money sold = money spent from blocks + money still carried.
        assert sold == spent + Fraction(results[-1].carry_out.money)
    used_money = sum((Fraction(h) * rates[n] for entries in used for h, n in entries), Fraction(0))
    assert spent + overage_total == used_money


@given(
    contract_type=st.sampled_from(list(ContractType)),
    taxable=st.booleans(),
)
def test_only_labor_is_ever_taxable(contract_type: ContractType, taxable: bool) -> None:
    case = next(c for c in TYPE_CASES if c[1] is contract_type)
    contract = make(contract_type, case[2], taxable=taxable)
    usage = case[3]
    for li in compute_period(contract, period_for(contract), usage).lines:
        labor = li.metric.startswith(("hours:", "overage"))
        assert li.labor is labor
        assert li.taxable is (taxable and labor)
