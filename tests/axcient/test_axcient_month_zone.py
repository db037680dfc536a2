"""A portal snapshot belongs to the MSP's month (`[billing] timezone`), not UTC's: the portal keys no month itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.core.http import HttpSettings
from connector.store import Store
from providers.axcient.provider import PROVIDER
from providers.axcient.sandbox import AxcientSandbox
from providers.spec import BuildContext

from .conftest import axcient_settings


@pytest.mark.parametrize(
    ("zone", "taken_at", "month"),
    [
        # UTC-10: at 05:00 UTC on 1 December it is still 30 November, 19:00, in Adak.
        ("America/Adak", datetime(2026, 12, 1, 5, tzinfo=UTC), "2026-11"),
        ("UTC", datetime(2026, 12, 1, 5, tzinfo=UTC), "2026-12"),
        # UTC+14: at 10:00 UTC on 30 November it is already 1 December in Kiritimati.
        ("Pacific/Kiritimati", datetime(2026, 11, 30, 10, tzinfo=UTC), "2026-12"),
        ("Pacific/Kiritimati", datetime(2026, 11, 30, 9, 59, tzinfo=UTC), "2026-11"),
    ],
)
def test_the_snapshot_month_follows_the_msp_zone_given_to_the_source(
    sandbox: AxcientSandbox, http_settings: HttpSettings, zone: str, taken_at: datetime, month: str
) -> None:
    settings = axcient_settings(sandbox.url)
    with Store.open(":memory:") as store:
        build = PROVIDER.load().build_source
        assert build is not None
        # What a sync builds it with: the MSP's zone reaches the source through the build context.
        context = BuildContext(http_settings, store.ledger, lambda: taken_at, zone)
        source = build(settings, context)
        report = source.collect()
    assert report.customers and {c.period_key for c in report.customers} == {month}
    assert report.observed_at == taken_at  # the observation keeps its instant; only the month is the MSP's
