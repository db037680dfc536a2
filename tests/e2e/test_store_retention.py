"""End to end: with `[store] keep_periods`, `connector sync` drops what only long-closed periods used, at its end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connector.store import Store
from mappings.measure import Observation

from .conftest import MONTH, sync


def test_a_sync_prunes_observations_of_periods_older_than_those_kept(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    config.write_text(config.read_text().replace("[store]\n", "[store]\nkeep_periods = 1\n", 1))
    store_path = config.parent / "connector-state.db"
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with Store.open(store_path) as store:
        store.observations.record(
            [
                Observation(
                    "axcient",
                    "Contoso",
                    "axcient.server_gb",
                    long_ago.strftime("%Y-%m"),
                    Decimal(7),
                    "GB",
                    long_ago,
                    True,
                    {"metric": {"rule": "a year ago"}},
                )
            ]
        )
    code, report, _ = sync(capsys, config)
    assert code == 0, report
    with Store.open(store_path) as store:
        months = {o.period_key for source in ("altaro", "axcient") for o in store.observations.query(source)}
        assert months and long_ago.strftime("%Y-%m") not in months and MONTH in months
        (event,) = [e for e in store.runs.audit_events() if e["event"] == "prune"]
        assert event["details"]["observations"] == 1
        assert store.outbox.lines()  # the lines the sync pushed are all there
