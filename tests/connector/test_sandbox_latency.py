"""Sandbox latency: every vendor's sandbox delays each answer by the latency it was given, and by nothing else."""

from __future__ import annotations

import time

import httpx
import pytest

from providers.altaro.sandbox import AltaroSandbox
from providers.altaro.sandbox import main as altaro_main
from providers.atera.sandbox import DEFAULT_API_KEY, AteraSandbox
from providers.atera.sandbox import main as atera_main
from providers.axcient.sandbox import AxcientSandbox
from providers.axcient.sandbox import main as axcient_main
from providers.sandbox import SandboxServer

LATENCY_MS = 120


def timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[float, int]:
    began = time.monotonic()
    response = httpx.get(url, headers=headers)
    return time.monotonic() - began, response.status_code


@pytest.mark.parametrize("kind", [AteraSandbox, AxcientSandbox, AltaroSandbox])
def test_each_vendor_sandbox_waits_its_latency_before_answering(kind: type[SandboxServer]) -> None:
    with kind(latency_ms=LATENCY_MS) as sandbox:
        elapsed, _ = timed_get(sandbox.url + "/anything")
        assert elapsed >= LATENCY_MS / 1000
        assert sandbox.latency_seconds == LATENCY_MS / 1000


def test_the_latency_is_per_request_and_the_answer_is_unchanged() -> None:
    with AteraSandbox() as plain, AteraSandbox(latency_ms=LATENCY_MS) as slow:
        headers = {"X-API-KEY": DEFAULT_API_KEY}
        answers = [httpx.get(s.api_url + "/customers", headers=headers).json() for s in (plain, slow)]
        assert answers[0] == answers[1]
        began = time.monotonic()
        for _ in range(3):
            httpx.get(slow.api_url + "/customers", headers=headers)
        assert time.monotonic() - began >= 3 * LATENCY_MS / 1000
    assert plain.latency_seconds == 0


def test_a_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency_ms"):
        AteraSandbox(latency_ms=-1)


@pytest.mark.parametrize("main", [atera_main, axcient_main, altaro_main])
def test_each_sandbox_launcher_takes_latency_ms(main: object, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[SandboxServer] = []

    def serve(self: SandboxServer) -> None:
        started.append(self)  # never served: its socket is closed by the test's end

    monkeypatch.setattr(SandboxServer, "serve_forever", serve)
    main(["--port", "0", "--latency-ms", "35"])  # type: ignore[operator]
    assert [s.latency_seconds for s in started] == [0.035]
