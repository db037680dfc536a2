"""The console's "push now" (one `connector sync` from the Review page, approver only, refused while a sync holds the
store's lock) against live sandboxes, and the daemon serving the console on `[console] listen` (issue 23)."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector import operations
from connector.console import create_app
from connector.core.config import Settings
from connector.core.errors import ConfigError, ConnectorError
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from connector.store import Store
from connector.unattended.daemon import ConfigReload, run_forever
from connector.wiring import load_settings
from mappings.billing import price
from tests.clock import MONTH
from tests.e2e.psa_worlds import DRIVERS

from .conftest import HELD, Console, Prepared, console_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@dataclass
class Live:
    """A console over a store whose sandboxes still run: the line held because its PSA quantity was typed by hand."""

    console: Console
    sandboxes: Sandboxes
    line: dict[str, Any]

    def in_psa(self) -> Decimal:
        return DRIVERS[self.sandboxes.psa].quantity(self.sandboxes[self.sandboxes.psa], self.line)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with running_sandboxes(tmp_path, MONTH) as sandboxes:
        config = write_config(tmp_path, sandboxes)
        config.write_text(config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
        first = operations.sync(load_settings(config)).to_data()
        line = next(x for x in first["lines"] if (x["psa_customer"], x["metric"]) == HELD)
        DRIVERS[sandboxes.psa].type_quantity(sandboxes[sandboxes.psa], line, Decimal(str(line["quantity"])) * 10 + 7)
        settings = console_settings(load_settings(config), tmp_path)
        assert settings.store.path == load_settings(config).store.path  # the store the sandboxes' syncs wrote
        assert operations.sync(settings).status == "held"
        app = create_app(settings)
        with TestClient(app, follow_redirects=False) as client:
            yield Live(Console(client, settings, [], [0.0]), sandboxes, line)


def test_push_now_pushes_an_approved_line_and_reports_the_run(live: Live) -> None:
    console = live.console
    typed = live.in_psa()
    assert typed != Decimal(str(live.line["quantity"]))
    console.signin("bob")
    held = console.held_id()
    form = {"csrf": console.csrf(), "quantity": console.shown(held)}
    assert console.client.post(f"/review/{held}/approve", data=form).status_code == 303
    assert live.in_psa() == typed  # approving pushes nothing by itself
    answer = console.client.post("/push", data={"csrf": console.csrf()})
    assert answer.status_code == 303 and answer.headers["location"] == "/review"
    assert live.in_psa() == Decimal(str(live.line["quantity"]))  # the PSA sandbox now holds the connector's figure
    page = console.client.get("/review").text
    assert "sync run by Bob: ok (1 pushed" in page, page
    with Store.open(console.settings.store.path) as store:
        assert next(x for x in store.outbox.lines() if x.id == held).status.value == "pushed"


def _history(live: Live, line_id: int) -> list[tuple[str, Decimal]]:
    with Store.open(live.console.settings.store.path) as store:
        (history,) = store.outbox.histories([line_id]).values()
    return [(row["status"], row["quantity"]) for row in history]


def test_the_review_shows_the_figure_typed_in_the_psa_after_a_push_and_prices_the_amount_before_from_it(
    live: Live,
) -> None:
    console = live.console
    pushed, typed = Decimal(str(live.line["quantity"])), live.in_psa()
    held = console.held_id()
    row = next(r for r in console.waiting() if r["id"] == held)
    assert (row["psa_quantity"], row["pushed_before"], row["change"]) == (typed, pushed, pushed - typed)
    assert row["psa_amount"] == price(typed, row["rate"]) and row["pushed_amount"] == price(pushed, row["rate"])
    # The sync that held the line recorded the PSA's figure once, after the push; a sync finding it again adds none.
    assert _history(live, held)[-3:] == [("pushed", pushed), ("in PSA", typed), ("held", pushed)]
    assert operations.sync(console.settings).status == "held"
    assert _history(live, held)[-3:] == [("pushed", pushed), ("in PSA", typed), ("held", pushed)]
    console.signin("ada")
    card = console.client.get("/review").text
    card = card[card.index(f'id="line-{held}"') :]
    card = card[: card.index("</article>")]
    assert f'<dt>PSA holds</dt><dd class="number">{format(typed, "f")}</dd>' in card
    assert f'<dt>amount before</dt><dd class="number">{format(price(typed, row["rate"]), "f")}</dd>' in card

    # Typed again: the newest figure is the one shown; typed back to the connector's: recorded, and pushed again.
    again = typed + 1
    DRIVERS[live.sandboxes.psa].type_quantity(live.sandboxes[live.sandboxes.psa], live.line, again)
    assert operations.sync(console.settings).status == "held"
    row = next(r for r in console.waiting() if r["id"] == held)
    assert (row["psa_quantity"], row["psa_amount"]) == (again, price(again, row["rate"]))
    assert _history(live, held)[-3:] == [("in PSA", typed), ("held", pushed), ("in PSA", again)]
    DRIVERS[live.sandboxes.psa].type_quantity(live.sandboxes[live.sandboxes.psa], live.line, pushed)
    assert operations.sync(console.settings).status == "ok"
    assert held not in [r["id"] for r in console.waiting()]
    assert _history(live, held)[-3:] == [("in PSA", pushed), ("pending", pushed), ("pushed", pushed)]


def test_push_now_is_refused_while_a_sync_holds_the_store(live: Live) -> None:
    console = live.console
    console.signin("bob")
    csrf = console.csrf()
    with Store.open(console.settings.store.path) as store, store.sync_lock():
        answer = console.client.post("/push", data={"csrf": csrf})
    assert answer.status_code == 409
    assert "Not pushed" in answer.text and "already running" in answer.text
    assert console.held_id()  # nothing changed: the line still waits


def test_a_viewer_may_not_push(live: Live) -> None:
    console = live.console
    console.signin("ada")
    answer = console.client.post("/push", data={"csrf": console.csrf()})
    assert answer.status_code == 403 and "viewer" in answer.text
    assert "Push now" not in console.client.get("/review").text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=1.0)
    except httpx.TransportError:
        return True
    return False


def daemon_settings(prepared: Prepared, directory: Path, listen: str) -> Settings:
    return console_settings(prepared.settings, directory, listen=listen)


def test_the_daemon_serves_the_console_on_its_listen_address_and_stops_with_it(
    prepared: Prepared, tmp_path: Path
) -> None:
    port = free_port()
    settings = daemon_settings(prepared, tmp_path, f"127.0.0.1:{port}")
    stop = threading.Event()
    cycles: list[float] = []

    def cycle() -> Any:
        cycles.append(time.monotonic())
        return no_sync()

    reload = ConfigReload(settings, lambda: settings)
    daemon = threading.Thread(target=run_forever, args=(cycle, 3600, stop), kwargs={"reload": reload})
    daemon.start()
    try:
        url = f"http://127.0.0.1:{port}/signin"
        deadline = time.monotonic() + 10
        while refused(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        answer = httpx.get(url, timeout=5.0)
        assert answer.status_code == 200 and 'name="password"' in answer.text
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        rebound = httpx.get(url, headers={"host": f"rebound.evil.example:{port}"}, timeout=5.0)
        assert rebound.status_code == 400 and "password" not in rebound.text  # not a name it serves
        assert httpx.get(url, headers={"host": f"localhost:{port}"}, timeout=5.0).status_code == 200
        assert cycles  # the console is served beside the cycles, in the same process
    finally:
        stop.set()
        daemon.join(10)
    assert not daemon.is_alive()
    assert refused(url)  # stopped with the daemon


def no_sync() -> Any:
    raise ConnectorError("no sync in this test")


def test_a_daemon_without_console_listen_serves_no_console(prepared: Prepared, tmp_path: Path) -> None:
    settings = console_settings(prepared.settings, tmp_path)
    assert settings.console.listen is None
    reload = ConfigReload(settings, lambda: settings)
    assert run_forever(no_sync, 0, threading.Event(), max_cycles=1, reload=reload) == 1
    assert "connector-console" not in [thread.name for thread in threading.enumerate()]


def test_a_console_that_cannot_listen_stops_the_daemon_before_its_first_cycle(
    prepared: Prepared, tmp_path: Path
) -> None:
    cycles: list[int] = []

    def cycle() -> Any:
        cycles.append(1)
        return no_sync()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = daemon_settings(prepared, tmp_path, f"127.0.0.1:{taken.getsockname()[1]}")
        with pytest.raises(ConfigError, match="could not be served"):
            run_forever(cycle, 3600, threading.Event(), reload=ConfigReload(settings, lambda: settings))
    assert cycles == []
