"""Which observations a billing period takes, and its peak: periods shorter and longer than the vendor's month."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connector.store import Store
from mappings.measure import Observation, peak
from mappings.periods import on_demand_period

NOV_1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def poll_hourly(store: Store, quantities: dict[int, int], days: int = 30) -> None:
    """Hourly polls for `days` days; `quantities` maps a day of the month to the quantity seen from then on."""
    quantity = quantities[1]
    for hour in range(days * 24):
        at = NOV_1 + timedelta(hours=hour)
        quantity = quantities.get(at.day, quantity) if at.hour == 9 else quantity
        store.observations.record(
            [
                Observation(
                    "altaro", "Contoso", "altaro.billed_users", "2026-11", Decimal(quantity), "user", at, True, {}
                )
            ]
        )


def contoso_users(store: Store) -> list[Observation]:
    return store.observations.query("altaro", vendor_customer="Contoso", metric="altaro.billed_users", product="")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), 14),  # the month: its peak
        (date(2026, 11, 1), date(2026, 11, 15), 14),  # first half: the peak seen in it
        (date(2026, 11, 16), date(2026, 11, 30), 12),  # second half: nothing changed in it, still observed
        (date(2026, 11, 23), date(2026, 11, 29), 12),  # an ISO week inside it
        (date(2026, 10, 1), date(2026, 12, 31), 14),  # a quarter: the highest monthly peak
    ],
)
def test_each_period_takes_what_was_observed_in_it(start: date, end: date, expected: int) -> None:
    store = Store.open(":memory:")
    poll_hourly(store, {1: 10, 5: 14, 9: 12})
    found = peak(contoso_users(store), on_demand_period(start, end))
    assert found is not None and found.quantity == Decimal(expected)
    # Hourly polls of an unchanged count are not all kept, yet every day keeps one.
    assert len(store.observations.query("altaro")) <= 30 + 3


def test_a_period_with_no_observation_has_nothing_to_bill() -> None:
    store = Store.open(":memory:")
    poll_hourly(store, {1: 10}, days=10)
    november_second_half = on_demand_period(date(2026, 11, 16), date(2026, 11, 30))
    assert peak(contoso_users(store), november_second_half) is None


def test_a_non_finite_or_negative_observation_kept_by_an_older_version_is_never_the_peak() -> None:
    # Versions before the boundary guard recorded whatever a vendor sent; comparing a NaN raised on every sync.
    store = Store.open(":memory:")
    quantities = ["12", "NaN", "sNaN", "Infinity", "-5", "9"]
    store.observations.record(
        [
            Observation("altaro", "Contoso", "altaro.billed_users", "2026-11", Decimal(q), "user", at, True, {})
            for q, at in zip(quantities, (NOV_1 + timedelta(days=d) for d in range(len(quantities))), strict=True)
        ]
    )
    month = on_demand_period(date(2026, 11, 1), date(2026, 11, 30))
    found = peak(contoso_users(store), month)
    assert found is not None and found.quantity == Decimal(12)
    assert found.explanation["observations_refused"] == 4
