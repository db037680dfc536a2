"""Issue 9 row 8: a missing Altaro key is configuration (exit 2, naming the key), read before anything is reserved;
and nothing else leaves a fetch 'started' in the ledger once the call is over."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from connector.cli import main
from connector.core.errors import ConfigError
from connector.core.secrets import SecretRef
from connector.operations.demo import running_sandboxes, write_config
from connector.store import Store
from providers.altaro.rules import ReportTally
from providers.altaro.sandbox import DEFAULT_API_KEY, AltaroSandbox, generate_report
from providers.altaro.settings import AltaroLink
from providers.altaro.source import AltaroSource, link_target
from tests.clock import MONTH

from ..conftest import write_vendor_config
from .conftest import altaro_settings, link

KEY_ENV = "ALTARO_KEYS_TEST_KEY"


@pytest.fixture
def sandbox() -> Iterator[AltaroSandbox]:
    with AltaroSandbox(generate_report(customers=2, users_per_customer=3)) as server:
        assert isinstance(server, AltaroSandbox)
        yield server


def config_with(tmp_path: Path, url: str, api_key: str) -> Path:
    section = f'[altaro]\nenabled = true\n[[altaro.links]]\nname = "all"\nurl = "{url}"\napi_key = {api_key}\n'
    return write_vendor_config(tmp_path, section, max_attempts=1)


def ledger_rows(path: Path) -> list[tuple[str, str]]:
    with Store.open(path) as store:
        return [(row[0], row[1]) for row in store.db.execute("SELECT source, outcome FROM fetches").fetchall()]


@pytest.mark.parametrize(
    ("api_key", "named"),
    [
        (f'{{ env = "{KEY_ENV}" }}', f"environment variable {KEY_ENV} is not set"),
        ('{ file = "missing.key" }', "cannot read secret file missing.key"),
        ('{ file = "." }', "cannot read secret file ."),
    ],
    ids=["env-unset", "file-missing", "file-is-a-directory"],
)
def test_usage_altaro_without_its_key_exits_2_naming_it_and_reserves_nothing(
    tmp_path: Path,
    sandbox: AltaroSandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    api_key: str,
    named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(KEY_ENV, raising=False)
    config = config_with(tmp_path, sandbox.link_url, api_key)
    code = main(["usage", "altaro", "--config", str(config)])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert "altaro.links[0].api_key" in err and named in err
    assert sandbox.requests == [] and ledger_rows(tmp_path / "state.db") == []

    # Fixed a moment later, the link is called at once: nothing was left blocking it.
    monkeypatch.setenv(KEY_ENV, DEFAULT_API_KEY)
    fixed = config_with(tmp_path, sandbox.link_url, f'{{ env = "{KEY_ENV}" }}')
    code = main(["usage", "altaro", "--config", str(fixed), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["complete"] and len(sandbox.requests) == 1


def test_sync_without_the_altaro_key_exits_2_and_still_bills_the_other_vendors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_sandboxes(tmp_path, MONTH) as sandboxes:
        config = write_config(tmp_path, sandboxes)
        (tmp_path / "secrets" / "altaro.key").unlink()
        code = main(["sync", "--config", str(config), "--period", MONTH, "--format", "json"])
        assert sandboxes["altaro"].requests == []
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "altaro.links[0].api_key" in err and "altaro.key" in err
    report = json.loads(out)
    assert {s["name"]: s["status"] for s in report["sources"]} == {"altaro": "misconfigured", "axcient": "ok"}
    outcomes = {(line["psa_customer"], line["metric"]): line["outcome"] for line in report["lines"]}
    assert {o for (_, metric), o in outcomes.items() if metric.startswith("altaro.")} == {"blocked"}
    # One vendor's missing key never stops the others: the portal's lines are pushed.
    assert {o for (_, metric), o in outcomes.items() if metric.startswith("axcient.")} == {"pushed"}


def test_the_source_reads_every_key_before_it_calls_any_link(
    sandbox: AltaroSandbox, make_source: Callable[..., AltaroSource], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    second = AltaroLink(name="second", url="https://cmc.example.test/r/2", api_key=SecretRef(env=KEY_ENV))
    source = make_source(altaro_settings(link(sandbox.link_url), second))
    with pytest.raises(ConfigError, match=rf"altaro.links\[1\].api_key: environment variable {KEY_ENV}"):
        source.collect()
    assert sandbox.requests == [] and store.db.execute("SELECT COUNT(*) FROM fetches").fetchone() == (0,)


def test_an_inline_key_still_works(sandbox: AltaroSandbox, make_source: Callable[..., AltaroSource]) -> None:
    settings = altaro_settings(
        AltaroLink(name="all", url=sandbox.link_url, api_key=SecretRef(value=SecretStr(DEFAULT_API_KEY)))
    )
    assert make_source(settings).collect().complete


def test_a_crash_while_counting_leaves_no_started_entry_and_keeps_the_body(
    sandbox: AltaroSandbox,
    make_source: Callable[..., AltaroSource],
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: ReportTally, report: object) -> ReportTally:
        raise RuntimeError("a bug in the billing rule")

    monkeypatch.setattr(ReportTally, "add", broken)
    with pytest.raises(RuntimeError):
        make_source(altaro_settings(link(sandbox.link_url))).collect()
    last = store.ledger.last("altaro", link_target(link(sandbox.link_url)))
    assert last is not None and last.outcome == "invalid" and last.payload is not None
    assert "RuntimeError: a bug in the billing rule" in (last.error or "")
