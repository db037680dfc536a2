"""The console in a real browser (issue 23): the demo's sandboxes running for the whole module, a configuration with
two console people whose passwords come from the environment, a store with held lines made the way a person makes
them (a quantity typed by hand in the PSA, far from the computed one, then a sync), the console served by uvicorn on
127.0.0.1 in a background thread, and Debian's headless Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from connector import operations
from connector.console import create_app
from connector.core.config import Settings
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from connector.store import Store
from connector.wiring import load_settings
from mappings.billing import price
from mappings.lines import Line
from tests.clock import MONTH
from tests.e2e.psa_worlds import DRIVERS

# Debian's chromium (CI installs it with apt-get, .ci/run); Playwright is pointed at it and never downloads one.
CHROMIUM = next(
    (found for found in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium") if found
     and Path(found).is_file()),
    None,
)  # fmt: skip
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH = 1280
# Written by the tests so people can look at them (build/ is gitignored).
SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "console-screenshots"

PASSWORDS = {"Bob": "approver-pass-Br47", "Ada": "viewer-pass-Qm93"}
ENV = {"Bob": "CONSOLE_BROWSER_BOB_PASSWORD", "Ada": "CONSOLE_BROWSER_ADA_PASSWORD"}
# Lines made held by typing a quantity in the PSA: one to approve, one to discard, one nobody may decide.
TO_APPROVE = ("Contoso Ltd", "axcient.server_gb")
TO_DISCARD = ("Fabrikam Inc", "axcient.pc_gb")
UNDECIDED = ("Northwind Traders", "altaro.billed_users")
# A customer and a product a vendor could have sent: markup that would run if it were not escaped.
INJECTED = "<img src=x onerror=alert(1)>"
INJECTED_PRODUCT = "<script>alert(2)</script> Backup"

CONSOLE_SECTION = f"""
[console]
session_minutes = 60
users = [
    {{ name = "Bob", role = "approver", password = {{ env = "{ENV["Bob"]}" }} }},
    {{ name = "Ada", role = "viewer", password = {{ env = "{ENV["Ada"]}" }} }},
]
"""


Key = tuple[str, str]  # a line's PSA customer and metric


@dataclass
class World:
    """The running sandboxes, the configuration file and its settings, the console's address, the browser, and the
    lines the sandboxes and the store were prepared with (by PSA customer and metric, as the first sync pushed them)."""

    sandboxes: Sandboxes
    config: Path
    settings: Settings
    url: str
    browser: Any
    first: dict[Key, dict[str, Any]]
    typed: dict[Key, Decimal]

    def waiting(self) -> list[dict[str, Any]]:
        return operations.waiting(self.settings)

    def line_id(self, customer: str, metric: str | None = None) -> int:
        """The id of the line held for `customer` (and `metric`); fails when it is not waiting any more."""
        found = [r["id"] for r in self.waiting() if r["psa_customer"] == customer and metric in (None, r["metric"])]
        assert len(found) == 1, (customer, metric, self.waiting())
        return int(found[0])

    def audit(self, subject: str) -> list[dict[str, Any]]:
        with Store.open(self.settings.store.path) as store:
            return [e for e in store.runs.audit_events(subject) if e["event"] in ("approved", "discarded")]

    def psa_quantity(self, key: Key) -> Decimal:
        return DRIVERS[self.sandboxes.psa].quantity(self.sandboxes[self.sandboxes.psa], self.first[key])


def _prepare(directory: Path, sandboxes: Sandboxes) -> tuple[Path, Settings, dict[Key, Any], dict[Key, Decimal]]:
    config = write_config(directory, sandboxes)
    text = config.read_text(encoding="utf-8").replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0")
    config.write_text(text + CONSOLE_SECTION, encoding="utf-8")
    settings = load_settings(config)
    report = operations.sync(settings).to_data()
    first = {(x["psa_customer"], x["metric"]): x for x in report["lines"]}
    typed: dict[Key, Decimal] = {}
    for key in (TO_APPROVE, TO_DISCARD, UNDECIDED):
        typed[key] = Decimal(str(first[key]["quantity"])) * 10 + 7  # far from the computed figure
        DRIVERS[sandboxes.psa].type_quantity(sandboxes[sandboxes.psa], first[key], typed[key])
    assert operations.sync(settings).status == "held"
    with Store.open(settings.store.path) as store:
        quantity, rate = Decimal("12"), Decimal("3.50")
        injected = Line(
            INJECTED, INJECTED_PRODUCT, MONTH, "altaro.billed_users", quantity=quantity, unit="user", rate=rate,
            amount=price(quantity, rate), inputs={"why": "a name that is markup"},
        )  # fmt: skip
        store.outbox.stage(injected, "rose from 0 to 12 <img src=y onerror=alert(3)>")
    return config, settings, first, typed


class Served:
    """uvicorn serving an ASGI app on 127.0.0.1 (a port the system picks) in a background thread, until stopped."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        # As connector/console/server.py configures it (the connector's logging, no Server header).
        config = uvicorn.Config(
            app, log_config=None, server_header=False, proxy_headers=False, access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, name="console", daemon=True
        )

    def __enter__(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert self._thread.is_alive(), "uvicorn stopped before it served"
            assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()
        assert not self._thread.is_alive(), "uvicorn did not stop within 15 s"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if CHROMIUM is None:
        pytest.skip("no chromium binary (Debian's `chromium` package; CI installs it): the browser tests need one")
    from playwright.sync_api import sync_playwright

    directory = tmp_path_factory.mktemp("console-browser")
    with ExitStack() as stack:
        environment = stack.enter_context(pytest.MonkeyPatch.context())
        for name, variable in ENV.items():
            environment.setenv(variable, PASSWORDS[name])
        sandboxes = stack.enter_context(running_sandboxes(directory, MONTH))
        config, settings, first, typed = _prepare(directory, sandboxes)
        served = stack.enter_context(Served(create_app(settings)))
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        stack.callback(browser.close)
        yield World(sandboxes, config, settings, served.url, browser, first, typed)


@dataclass
class Tab:
    """One browser context (its own cookies) and its page, with every dialog, page error, console error and request
    it saw; a dialog (an injected `alert`) fails the test."""

    page: Any
    url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def go(self, path: str) -> Any:
        response = self.page.goto(self.url + path)
        assert response is not None, path
        return response

    def signin(self, name: str, password: str | None = None) -> None:
        """Sign in through the form, its fields found by their labels."""
        self.go("/signin")
        self.page.get_by_label("Name").fill(name)
        self.page.get_by_label("Password").fill(password or PASSWORDS[name])
        with self.page.expect_response(lambda answer: answer.request.method == "POST") as posted:
            self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()
        sent = posted.value.request.headers
        assert posted.value.status == 303, (
            f"signing in as {name} answered {posted.value.status} to a POST with Origin {sent.get('origin')!r}: "
            + self.page.locator("main").inner_text()
        )
        assert self.page.url == self.url + "/", self.page.url

    def csrf(self) -> str:
        """The session's CSRF token, as every signed-in page carries it (the sign-out form's)."""
        token = self.page.locator("form.signout input[name=csrf]").get_attribute("value")
        assert token
        return str(token)

    def focused(self) -> dict[str, Any]:
        """What has the keyboard focus: its tag, name, type, text and the card (`line-ID`) it is in."""
        described: dict[str, Any] = self.page.evaluate(
            """() => { const e = document.activeElement; const card = e && e.closest('article');
                return e ? {tag: e.tagName.toLowerCase(), name: e.getAttribute('name') || '',
                            type: e.getAttribute('type') || '', text: (e.innerText || '').trim(),
                            action: e.form ? e.form.getAttribute('action') : '', card: card ? card.id : ''} : {}; }"""
        )
        return described

    def tab_to(self, wanted: dict[str, str], limit: int = 150) -> dict[str, Any]:
        """Press Tab until the focused element has every key of `wanted`; fails when it is never reached."""
        seen = []
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            now = self.focused()
            if all(now.get(key) == value for key, value in wanted.items()):
                return now
            seen.append(now)
        raise AssertionError(f"Tab never reached {wanted}; reached {seen}")


def _console_error(tab: Tab, message: Any) -> None:
    # A browser asks for /favicon.ico by itself; the console has none (a 404 it logs as an error).
    where = str(message.location.get("url", ""))
    if message.type == "error" and not where.endswith("/favicon.ico"):
        tab.errors.append(f"{message.text} ({where})")


@pytest.fixture
def tab(world: World) -> Iterator[Tab]:
    context = world.browser.new_context(viewport={"width": WIDTH, "height": 800}, base_url=world.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    opened = Tab(page, world.url)

    def dialog(found: Any) -> None:
        opened.dialogs.append(f"{found.type}: {found.message}")
        found.dismiss()

    page.on("dialog", dialog)
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    page.on("console", lambda message: _console_error(opened, message))
    page.on("request", lambda request: opened.requests.append(request.url))
    try:
        yield opened
    finally:
        context.close()
    assert opened.dialogs == [], "a page opened a dialog: markup from the data ran as script"
