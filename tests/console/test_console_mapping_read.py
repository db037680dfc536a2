"""The Mapping page's PSA lists: read once, then shown at once and read again in the background once stale."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from connector import operations
from connector.console import mapping_read
from connector.console.mapping_read import PSA_SECONDS, Sources


def test_stale_psa_lists_are_shown_at_once_and_read_again_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    release = threading.Event()

    def psa_lists(settings: Any) -> Any:
        reads.append(len(reads) + 1)
        if len(reads) > 1:
            release.wait(5)  # the background read takes its time: the page must not wait for it
        return ([(len(reads), f"customer read {len(reads)}")], [])

    monkeypatch.setattr(operations, "psa_lists", psa_lists)
    now = [0.0]
    sources = Sources(clock=lambda: now[0])
    settings: Any = object()

    first, _ = sources.psa(settings)  # nothing kept: read now
    assert first[0] == [(1, "customer read 1")] and reads == [1]
    now[0] = PSA_SECONDS - 1
    assert sources.psa(settings)[0] == first and reads == [1]  # fresh: no read

    now[0] = PSA_SECONDS + 1
    shown, _ = sources.psa(settings)  # stale: the kept lists at once, a read started behind
    assert shown == first
    again, _ = sources.psa(settings)  # one background read at a time
    assert again == first
    release.set()
    refreshing = sources._refreshing
    if refreshing is not None:
        refreshing.join(5)
    assert reads == [1, 2]
    assert sources.psa(settings)[0][0] == [(2, "customer read 2")]


def test_a_background_read_that_fails_keeps_the_older_lists(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = [0]

    def psa_lists(settings: Any) -> Any:
        calls[0] += 1
        if calls[0] > 1:
            raise RuntimeError("the PSA is down")
        return ([(1, "kept")], [])

    monkeypatch.setattr(operations, "psa_lists", psa_lists)
    now = [0.0]
    sources = Sources(clock=lambda: now[0])
    sources.psa(object())
    now[0] = PSA_SECONDS + 1
    sources.psa(object())
    refreshing = sources._refreshing
    if refreshing is not None:
        refreshing.join(5)
    assert sources.psa(object())[0][0] == [(1, "kept")]
    assert "the PSA is down" in caplog.text and mapping_read.log.name in caplog.text
