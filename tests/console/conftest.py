"""A console against a store the real operations prepared: the demo's sandboxes synced once, a quantity typed by hand
in the PSA, synced again so that line is held for review; and one more held line whose customer name is markup."""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector import operations
from connector.console import create_app
from connector.core.config import Settings
from connector.core.secrets import SecretRef
from connector.core.sections import ConsoleSettings, ConsoleUser, StoreSettings
from connector.operations.demo import STORE_NAME, running_sandboxes, write_config
from connector.store import Store
from connector.wiring import load_settings
from mappings.billing import price
from mappings.lines import Line
from tests.clock import MONTH
from tests.e2e.psa_worlds import DRIVERS

with warnings.catch_warnings():
    # Starlette's test client asks for httpx2; the project's httpx (below 1) is what it is tested with.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

HELD = ("Contoso Ltd", "axcient.server_gb")  # the line whose quantity is typed by hand in the PSA
INJECTED = "<script>alert('billing')</script> & Co"
PASSWORDS = {"ada": "viewer-pass-Xq81", "bob": "approver-pass-Zk27"}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TEST_HOST = "testserver"  # the Host Starlette's TestClient sends


@dataclass(frozen=True)
class Prepared:
    """The prepared store (copied for each test), the configuration it was made with, and the sandboxes' secrets."""

    directory: Path
    settings: Settings
    secrets: list[str]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    directory = tmp_path_factory.mktemp("console")
    with running_sandboxes(directory, MONTH) as sandboxes:
        config = write_config(directory, sandboxes)
        config.write_text(config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
        settings = load_settings(config)
        first = operations.sync(settings).to_data()
        line = next(x for x in first["lines"] if (x["psa_customer"], x["metric"]) == HELD)
        DRIVERS[sandboxes.psa].type_quantity(sandboxes[sandboxes.psa], line, Decimal(str(line["quantity"])) * 10 + 7)
        assert operations.sync(settings).status == "held"
    with Store.open(settings.store.path) as store:
        quantity, rate = Decimal("12"), Decimal("3.50")
        injected = Line(
            INJECTED, "Backup <b>users</b>", MONTH, "altaro.billed_users", quantity=quantity, unit="user", rate=rate,
            amount=price(quantity, rate), inputs={"why": "a name that is markup"},
        )  # fmt: skip
        store.outbox.stage(injected, "rose from 0 to 12 <img src=x>")
    secrets = [p.read_text().strip() for p in (directory / "secrets").iterdir()]
    return Prepared(directory, settings, secrets)


@dataclass
class Console:
    """A console over a copy of the prepared store, its test client, and the sleeps a failed sign-in asked for."""

    client: TestClient
    settings: Settings
    sleeps: list[float]
    clock: list[float]

    def signin(self, name: str, password: str | None = None) -> Any:
        token = CSRF.search(self.client.get("/signin").text)
        assert token is not None
        form = {"csrf": token.group(1), "name": name, "password": password or PASSWORDS[name]}
        return self.client.post("/signin", data=form)

    def csrf(self, path: str = "/review") -> str:
        found = CSRF.search(self.client.get(path).text)
        assert found is not None
        return found.group(1)

    def waiting(self) -> list[dict[str, Any]]:
        return operations.waiting(self.settings)

    def shown(self, line_id: int) -> str:
        """The quantity a line's card shows (its approve form sends it back)."""
        return next(format(r["quantity"], "f") for r in self.waiting() if r["id"] == line_id)

    def held_id(self) -> int:
        return next(r["id"] for r in self.waiting() if r["psa_customer"] == HELD[0] and r["status"] == "held")

    def audit(self) -> list[dict[str, Any]]:
        with Store.open(self.settings.store.path) as store:
            return [e for e in store.runs.audit_events() if e["event"] in ("approved", "discarded")]


def console_settings(settings: Settings, directory: Path, **console: Any) -> Settings:
    """The prepared configuration with a store copied into `directory` and two people who may sign in; served under
    the name Starlette's test client gives (its Host header, `testserver`), as a reverse proxy's name is."""
    secrets = directory / "console"
    secrets.mkdir(mode=0o700, exist_ok=True)
    users = []
    for name, role in (("ada", "viewer"), ("bob", "approver")):
        path = secrets / f"{name}.password"
        path.touch(mode=0o600)
        path.write_text(PASSWORDS[name] + "\n")
        users.append(ConsoleUser(name=name.capitalize(), role=role, password=SecretRef(file=path)))
    return settings.model_copy(
        update={
            "store": StoreSettings(path=directory / STORE_NAME),
            "console": ConsoleSettings(users=users, **{"hosts": [TEST_HOST], **console}),
        }
    )


@pytest.fixture
def console(prepared: Prepared, tmp_path: Path) -> Iterator[Console]:
    for found in prepared.settings.store.path.parent.glob(STORE_NAME + "*"):
        if not found.name.endswith(".lock"):
            shutil.copy(found, tmp_path / found.name)
    settings = console_settings(prepared.settings, tmp_path)
    sleeps: list[float] = []
    clock = [1_000_000.0]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    app = create_app(settings, sleep=sleep, now=lambda: clock[0])
    with TestClient(app, follow_redirects=False) as client:
        yield Console(client, settings, sleeps, clock)
