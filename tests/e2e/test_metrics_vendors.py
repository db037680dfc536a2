"""End to end: /metrics counts vendor requests and errors per vendor and shows the fetch-ledger wait, parsed with
prometheus-client's own parser after a real sync against the demo sandboxes with one vendor down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connector import operations
from connector.operations.demo import Sandboxes, write_config
from connector.unattended.metrics import Metrics
from connector.wiring import load_settings
from providers.sandbox import Fault

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    made = Metrics()
    yield made
    made.close()


def _samples(metrics: Metrics) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for s in family.samples
    }


def _sync(tmp_path: Path, sandboxes: Sandboxes) -> None:
    config = write_config(tmp_path, sandboxes)
    config.write_text(config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
    operations.sync(load_settings(config))


def test_vendor_requests_and_errors_are_counted_per_vendor(
    tmp_path: Path, sandboxes: Sandboxes, metrics: Metrics
) -> None:
    sandboxes["axcient"].inject(Fault(status=503), times=50)
    _sync(tmp_path, sandboxes)
    samples = _samples(metrics)
    requests = {labels: v for (name, labels), v in samples.items() if name == "connector_vendor_requests_total"}
    errors = {labels: v for (name, labels), v in samples.items() if name == "connector_vendor_errors_total"}
    assert requests[(("vendor", "altaro"),)] >= 1
    assert requests[(("vendor", "atera"),)] >= 1
    assert requests[(("vendor", "axcient"),)] >= 1
    assert errors == {(("error", "VendorError"), ("vendor", "axcient")): requests[(("vendor", "axcient"),)]}


def test_the_fetch_ledger_wait_counts_down_from_the_links_window(
    tmp_path: Path, sandboxes: Sandboxes, metrics: Metrics
) -> None:
    _sync(tmp_path, sandboxes)
    wait = _samples(metrics)[("connector_fetch_ledger_wait_seconds", (("source", "altaro"),))]
    window = load_settings(tmp_path / "connector.toml").section("altaro").min_interval_seconds
    assert 0 < wait <= window
    assert _samples(metrics)[("connector_fetch_ledger_wait_seconds", (("source", "altaro"),))] <= wait


def test_a_closed_metrics_hears_no_more_requests(tmp_path: Path, sandboxes: Sandboxes) -> None:
    closed = Metrics()
    closed.close()
    _sync(tmp_path, sandboxes)
    assert not any(name == "connector_vendor_requests_total" for name, _ in _samples(closed))
