"""The sandbox link behaves as the vendor documents: key header, allow list, one call per window, faults."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from providers.altaro.sandbox import DEFAULT_API_KEY, AltaroSandbox, generate_report, generate_report_with_counts

from .conftest import FakeClock

KEYED = {"X-API-KEY": DEFAULT_API_KEY}


def test_serves_the_report_with_the_key_once_per_window(
    sandbox: AltaroSandbox, clock: FakeClock, report_text: str
) -> None:
    first = httpx.get(sandbox.link_url, headers=KEYED)
    assert (
        first.status_code == 200 and first.text == report_text and first.headers["Content-Type"].startswith("text/csv")
    )
    second = httpx.get(sandbox.link_url, headers=KEYED)
    assert second.status_code == 403 and "once every 5 minutes" in second.text
    clock.advance(300)
    assert httpx.get(sandbox.link_url, headers=KEYED).status_code == 200
    assert sandbox.served == 2


def test_the_too_soon_answer_and_window_are_configurable(clock: FakeClock) -> None:
    with AltaroSandbox("a,b\r\n", too_soon_status=400, window_seconds=2, clock=clock.monotonic) as sandbox:
        url = sandbox.link_url  # type: ignore[attr-defined]
        assert httpx.get(url, headers=KEYED).status_code == 200
        assert httpx.get(url, headers=KEYED).status_code == 400
        clock.advance(2)
        assert httpx.get(url, headers=KEYED).status_code == 200


def test_refuses_a_wrong_key_another_path_and_addresses_off_the_allow_list(sandbox: AltaroSandbox) -> None:
    assert httpx.get(sandbox.link_url).status_code == 401
    assert httpx.get(sandbox.link_url, headers={"X-API-KEY": "nope"}).status_code == 401
    assert httpx.get(sandbox.url + "/api/billing-report/other", headers=KEYED).status_code == 404
    sandbox.allowed_ips = {"198.51.100.1"}
    assert httpx.get(sandbox.link_url, headers=KEYED).status_code == 403
    sandbox.allowed_ips = {"127.0.0.1"}
    assert httpx.get(sandbox.link_url, headers=KEYED).status_code == 200


def test_a_cut_report_has_a_matching_content_length(sandbox: AltaroSandbox, report_text: str) -> None:
    sandbox.serve_cut(100)
    response = httpx.get(sandbox.link_url, headers=KEYED)
    assert response.content == report_text.encode()[:100]


def test_a_path_is_read_at_every_call(tmp_path: Path, clock: FakeClock) -> None:
    report = tmp_path / "r.json"
    report.write_text('[{"Customer Name": "C"}]')
    with AltaroSandbox(report, window_seconds=1, clock=clock.monotonic) as sandbox:
        url = sandbox.link_url  # type: ignore[attr-defined]
        assert httpx.get(url, headers=KEYED).headers["Content-Type"] == "application/json"
        report.write_text('{"items": []}')
        clock.advance(1)
        assert httpx.get(url, headers=KEYED).json() == {"items": []}


@pytest.mark.parametrize("seed", [0, 1])
def test_the_generator_is_deterministic_and_sized(seed: int) -> None:
    assert generate_report(seed=seed) == generate_report(seed=seed)
    text, result = generate_report_with_counts(total_rows=500, users_per_customer=30, seed=seed)
    assert result.rows == 500 and text.count("\r\n") == 501 and len(result.billed_users) > 1


def test_the_generator_keeps_names_when_asked() -> None:
    _, result = generate_report_with_counts(customers=2, users_per_customer=5, keep_names=True)
    assert {name: len(users) for name, users in result.user_names.items()} == result.billed_users
