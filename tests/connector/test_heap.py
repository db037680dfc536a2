"""A sync collects garbage less often, and leaves the collector as it found it, even when the sync fails."""

from __future__ import annotations

import gc

import pytest

from connector.operations.heap import SYNC_THRESHOLDS, fewer_collections


def test_the_collector_is_restored_after_a_sync_that_raises() -> None:
    before = gc.get_threshold()
    alive = [object()]
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == SYNC_THRESHOLDS
        assert gc.get_freeze_count() > 0  # what existed on entry is left out of every walk
        raise RuntimeError("sync failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert alive


def test_a_cycle_made_during_a_sync_is_still_collected() -> None:
    class Node:
        other: object = None

    with fewer_collections():
        first, second = Node(), Node()
        first.other, second.other = second, first
        del first, second
        assert gc.collect() >= 2
