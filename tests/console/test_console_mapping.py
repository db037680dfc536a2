"""The Mapping page (issue 23): what `connector map` lists, a suggestion used or a customer ignored (the mapping file
written as `connector map --write` writes it), and a new customer onboarded in the PSA sandbox after its plan was shown
and confirmed; the next sync bills it. A viewer reads only; names that are markup are escaped.

The sandboxes run for each test (the page shows the vendor customers the store recorded, and reads the PSA; its
"Refresh from vendors" reads the vendors live, as `connector map` does). The demo's configuration is changed so there
is something to map: Fabrikam's block is gone and the portal calls it "Fabrikam Industries" (a suggestion of
"Fabrikam Inc"; Altaro's "Fabrikam" matches it by exact name), and Tailspin Toys, the portal's prospect the demo
ignores, is on a paid plan and no longer ignored (unmatched: no PSA customer is close)."""

from __future__ import annotations

import html
import json
import re
import shutil
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from connector import operations
from connector.console import create_app
from connector.core.config import Settings
from connector.mapping import mapfile
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from connector.store import Store
from connector.wiring import load_settings
from tests.clock import MONTH
from tests.e2e.conftest import cli
from tests.e2e.psa_worlds import DRIVERS

from .conftest import CSRF, INJECTED, PASSWORDS, console_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

IGNORED = (
    '[[ignored_customers]]\nsource = "axcient"\ncustomer = "Tailspin Toys"\nreason = "a prospect on a trial plan"\n'
)
SUGGESTED = "Fabrikam Industries"
TAILSPIN = "Tailspin Toys"


@dataclass
class World:
    """The console over a configuration with something to map, and the sandboxes it reads."""

    client: TestClient
    config: Path
    mappings: Path
    sandboxes: Sandboxes

    def signin(self, name: str) -> None:
        found = CSRF.search(self.client.get("/signin").text)
        assert found is not None
        answer = self.client.post("/signin", data={"csrf": found.group(1), "name": name, "password": PASSWORDS[name]})
        assert answer.status_code == 303

    def csrf(self) -> str:
        found = CSRF.search(self.client.get("/mapping").text)
        assert found is not None
        return found.group(1)

    def refresh(self) -> str:
        """Refresh from vendors, as the signed-in person; the page after it."""
        answer = self.client.post("/mapping/refresh", data={"csrf": self.csrf()})
        assert answer.status_code == 303 and answer.headers["location"] == "/mapping", answer.text
        return self.client.get("/mapping").text

    def vendor_calls(self) -> int:
        """The requests the vendors' sandboxes answered (the PSA's not counted)."""
        return sum(len(self.sandboxes[name].requests) for name in ("altaro", "axcient"))

    def settings(self) -> Settings:
        return load_settings(self.config)

    def audit(self, *events: str) -> list[dict[str, Any]]:
        with Store.open(self.settings().store.path) as store:
            return [e for e in store.runs.audit_events() if e["event"] in events]

    def cli_copy(self, directory: Path) -> Path:
        """The configuration and its mapping file copied, for `connector map --write` to write the copy; the same
        store (its fetch ledger answers a report link called again inside its 5 minutes)."""
        directory.mkdir()
        shutil.copy(self.mappings, directory / self.mappings.name)
        store = self.config.parent / "connector-state.db"
        text = self.config.read_text().replace('path = "connector-state.db"', f"path = {json.dumps(str(store))}")
        (directory / self.config.name).write_text(text)
        return directory / self.config.name


def _portal(sandboxes: Sandboxes, rename: dict[str, str]) -> None:
    portal = sandboxes["axcient"]
    customers = [{**c, "name": rename.get(c["name"], c["name"])} for c in portal.customers]
    (tailspin,) = [c["id"] for c in customers if c["name"] == rename.get(TAILSPIN, TAILSPIN)]
    paid = {"service_plan": "Select", "trial_expires": None, "hard_quota_mb": None}
    accounts = [{**a, **paid} if a["customer_id"] == tailspin else a for a in portal.accounts]
    portal.load({"customers": customers, "accounts": accounts})


def _config(directory: Path, sandboxes: Sandboxes) -> Path:
    config = write_config(directory, sandboxes)
    text = config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0")
    assert IGNORED in text
    text = text.replace(IGNORED, "")
    start = text.index('[[customers]]\npsa_customer = "Fabrikam Inc"')
    text = text[:start] + text[text.index('[[customers]]\npsa_customer = "Northwind Traders"') :]
    template = (
        '\n[[mapping.templates.axcient]]\nmetric = "axcient.total_gb"\ncontract = "Online backup (per GB)"\n'
        f'rate = "0.10"\n{DRIVERS[sandboxes.psa].template_options}\n'
    )
    config.write_text(text + template + '\n[mappings]\nfile = "mappings.toml"\n')
    (directory / "mappings.toml").write_text("")
    return config


def _world(directory: Path, rename: dict[str, str]) -> Iterator[World]:
    with running_sandboxes(directory, MONTH) as sandboxes:
        _portal(sandboxes, rename)
        config = _config(directory, sandboxes)
        settings = console_settings(load_settings(config), directory)
        app = create_app(settings)
        app.state.config_path = config
        with TestClient(app, follow_redirects=False) as client:
            yield World(client, config, directory / "mappings.toml", sandboxes)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path, {"Fabrikam Inc": SUGGESTED})


def forms(page: str, action: str) -> list[dict[str, str]]:
    """The fields of every form posting to `action` (unescaped, as the browser sends them)."""
    found = []
    for body in re.findall(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S):
        fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body)
        found.append({name: html.unescape(value) for name, value in fields})
    return found


def form_for(page: str, action: str, **wanted: str) -> dict[str, str]:
    matching = [f for f in forms(page, action) if all(f.get(k) == v for k, v in wanted.items())]
    assert len(matching) == 1, (action, wanted, forms(page, action))
    return matching[0]


def test_the_page_lists_what_map_lists_with_the_closest_psa_customers(world: World) -> None:
    assert world.client.get("/mapping").status_code == 303  # signed out
    world.signin("bob")
    page = world.client.get("/mapping")
    # Nothing synced yet: the store holds no vendor's customer list, and the page calls no vendor to show.
    assert page.status_code == 200, page.text
    assert "no customer list recorded yet: refresh from the vendors" in page.text and SUGGESTED not in page.text
    assert 'action="/mapping/refresh"' in page.text and "Refresh from vendors" in page.text
    assert world.vendor_calls() == 0
    found = world.refresh()
    assert "read from the vendors by a refresh" in found and "Read the vendors and the PSA live" in found
    # The same lists `connector map` gives.
    settings = world.settings()
    result = operations.classify(settings, *operations.vendor_reports(settings))
    assert [(i.vendor.source, i.vendor.name) for i in result.of("suggested")] == [("axcient", SUGGESTED)]
    assert [(i.vendor.name, i.kind) for i in result.items if i.kind in ("matched", "unmatched")] == [
        ("Fabrikam", "matched"),
        (TAILSPIN, "unmatched"),
    ]
    suggested = form_for(found, "/mapping/accept", vendor=SUGGESTED)
    assert suggested["psa"] == "Fabrikam Inc" and suggested["source"] == "axcient"
    assert "Use Fabrikam Inc" in found and TAILSPIN in found and "No PSA customer is close" in found
    assert {f["vendor"] for f in forms(found, "/mapping/ignore")} == {"Fabrikam", SUGGESTED, TAILSPIN}
    assert 'href="/mapping"' in found and "Mapping (coming)" not in found
    assert "/mapping/onboard" in found


def test_using_a_suggestion_writes_what_connector_map_write_writes(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = world.cli_copy(tmp_path / "cli")
    code, _, err = cli(capsys, "map", "-c", str(copy), "--write", str(copy.parent / "mappings.toml"), "--accept",
                       "suggested")  # fmt: skip
    assert code == 0, err
    expected = (copy.parent / "mappings.toml").read_text()
    assert 'axcient = { customer = "Fabrikam Industries", id = "2" }' in expected

    world.signin("bob")
    page = world.refresh()
    answer = world.client.post("/mapping/accept", data=form_for(page, "/mapping/accept", vendor=SUGGESTED))
    assert answer.status_code == 303 and answer.headers["location"] == "/mapping"
    assert world.mappings.read_text() == expected
    after = world.client.get("/mapping").text
    assert "wrote 1 mapping(s)" in after and "already includes it" in after
    assert SUGGESTED not in after  # mapped now: the page reads the mapping file afresh
    (written,) = world.audit(operations.mapping.WRITTEN)
    assert (written["details"]["by"], written["details"]["via"]) == ("Bob", "console")
    assert "Fabrikam Industries" in written["details"]["note"]


def test_ignoring_needs_a_reason_and_writes_what_map_ignore_writes(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = world.cli_copy(tmp_path / "cli")
    written = str(copy.parent / "mappings.toml")
    code, _, err = cli(capsys, "map", "-c", str(copy), "--write", written, "--ignore", TAILSPIN)
    assert code == 0, err
    expected = (copy.parent / "mappings.toml").read_text()
    assert 'customer = "Tailspin Toys"' in expected

    world.signin("bob")
    form = form_for(world.refresh(), "/mapping/ignore", vendor=TAILSPIN)
    refused = world.client.post("/mapping/ignore", data={**form, "reason": "  "})
    assert refused.status_code == 400 and "say why" in refused.text
    assert world.mappings.read_text() == "" and world.audit(operations.mapping.WRITTEN) == []

    answer = world.client.post("/mapping/ignore", data={**form, "reason": "a prospect; not billed yet"})
    assert answer.status_code == 303
    # What `map --ignore` writes, with the person's reason in place of the command's fixed one.
    fixed = f"reason = {json.dumps(mapfile.IGNORE_REASON)}\n"
    assert fixed in expected
    assert world.mappings.read_text() == expected.replace(fixed, 'reason = "a prospect; not billed yet"\n')
    (event,) = world.audit(operations.mapping.WRITTEN)
    assert event["details"]["by"] == "Bob" and "a prospect; not billed yet" in event["details"]["note"]
    assert TAILSPIN not in world.client.get("/mapping").text


def test_the_reason_is_written_as_a_toml_string_whatever_it_holds(world: World) -> None:
    world.signin("bob")
    form = form_for(world.refresh(), "/mapping/ignore", vendor=TAILSPIN)
    reason = 'a "trial" prospect\r\n[[customers]]\npsa_customer = "x" \\ \x7f\u2028 not billed'
    answer = world.client.post("/mapping/ignore", data={**form, "reason": reason})
    assert answer.status_code == 303, answer.text
    written = tomllib.loads(world.mappings.read_text())
    assert written["ignored_customers"] == [{"source": "axcient", "customer": TAILSPIN, "reason": reason}]
    assert [c["psa_customer"] for c in written["customers"]] == ["Fabrikam Inc"]  # the match written with it only
    assert (TAILSPIN, reason) in [(i.customer, i.reason) for i in world.settings().ignored_customers]
    (event,) = world.audit(operations.mapping.WRITTEN)
    assert reason in event["details"]["note"]


def test_onboarding_shows_the_plan_then_creates_it_and_the_next_sync_bills_it(world: World) -> None:
    world.signin("bob")
    writes = world.sandboxes.psa_writes()
    plan = world.client.get("/mapping/onboard", params={"source": "axcient", "customer": TAILSPIN})
    assert plan.status_code == 200, plan.text
    assert "What onboarding would create in the PSA" in plan.text and "Online backup (per GB)" in plan.text
    assert world.sandboxes.psa_writes() == writes  # showing the plan creates nothing
    confirm = form_for(plan.text, "/mapping/onboard", customer=TAILSPIN)

    stale = world.client.post("/mapping/onboard", data={**confirm, "shown": "another plan"})
    assert stale.status_code == 400 and "the plan changed since it was shown" in stale.text
    assert world.sandboxes.psa_writes() == writes

    done = world.client.post("/mapping/onboard", data=confirm)
    assert done.status_code == 200, done.text
    assert "Created in the PSA" in done.text and "Online backup (per GB)" in done.text
    assert world.sandboxes.psa_writes() > writes
    assert f'psa_customer = "{TAILSPIN}"' in world.mappings.read_text()
    assert "created in the PSA by `connector map --create-customers`" in world.mappings.read_text()
    (confirmed,) = world.audit(operations.mapping.CONFIRMED)
    details = confirmed["details"]
    assert (confirmed["subject"], details["by"], details["via"]) == (TAILSPIN, "Bob", "console")
    assert len(world.audit("onboard_started")) == len(world.audit("onboard_completed")) == 1

    report = operations.sync(world.settings()).to_data()
    (line,) = [x for x in report["lines"] if x["psa_customer"] == TAILSPIN]
    assert (line["contract"], line["outcome"]) == ("Online backup (per GB)", "pushed")
    assert Decimal(str(line["quantity"])) > 0
    assert [u["vendor_customer"] for u in report["unmapped"]] == [SUGGESTED]  # left unmapped by this test


def test_a_viewer_reads_and_every_post_is_refused(world: World) -> None:
    world.signin("ada")
    page = world.refresh()  # reading, live too, is for anyone signed in
    assert SUGGESTED in page and "Use Fabrikam Inc" not in page and "may read" in page
    assert {re.sub(r'"$', "", a) for a in re.findall(r'action="/mapping[^"]*"', page)} == {'action="/mapping/refresh'}
    assert world.client.post("/mapping/refresh", data={"csrf": "forged"}).status_code == 403
    csrf = world.csrf()
    posts = {
        "/mapping/accept": {"source": "axcient", "vendor": SUGGESTED, "vendor_id": "2", "psa": "Fabrikam Inc"},
        "/mapping/ignore": {"source": "axcient", "vendor": TAILSPIN, "vendor_id": "4", "reason": "no"},
        "/mapping/onboard": {"source": "axcient", "customer": TAILSPIN, "shown": "x"},
    }
    writes = world.sandboxes.psa_writes()
    for path, data in posts.items():
        answer = world.client.post(path, data={"csrf": csrf, **data})
        assert answer.status_code == 403 and "viewer" in answer.text, path
        assert world.client.post(path, data={"csrf": "forged", **data}).status_code == 403, path
    assert world.mappings.read_text() == "" and world.sandboxes.psa_writes() == writes
    assert world.audit(operations.mapping.WRITTEN, operations.mapping.CONFIRMED) == []


def test_names_that_are_markup_are_escaped(tmp_path: Path) -> None:
    for world in _world(tmp_path, {TAILSPIN: INJECTED}):
        world.signin("bob")
        page = world.refresh()
        assert INJECTED not in page and str(escape(INJECTED)) in page
        assert form_for(page, "/mapping/ignore", vendor=INJECTED)["source"] == "axcient"
        plan = world.client.get("/mapping/onboard", params={"source": "axcient", "customer": INJECTED}).text
        assert INJECTED not in plan and str(escape(INJECTED)) in plan


def test_after_a_sync_the_page_shows_what_it_recorded_and_calls_no_vendor(world: World) -> None:
    operations.sync(world.settings())
    world.signin("bob")
    calls = world.vendor_calls()
    page = world.client.get("/mapping").text
    assert "as the last sync recorded them" in page and "no vendor is called" in page
    # The same lists a live read gives, from the store alone.
    assert form_for(page, "/mapping/accept", vendor=SUGGESTED)["psa"] == "Fabrikam Inc"
    assert {f["vendor"] for f in forms(page, "/mapping/ignore")} == {"Fabrikam", SUGGESTED, TAILSPIN}
    assert world.client.get("/mapping").status_code == 200
    assert world.vendor_calls() == calls

    # A vendor renames a customer after the sync: the page shows it once someone refreshes from the vendors.
    _portal(world.sandboxes, {SUGGESTED: "Fabrikam Holdings"})
    assert "Fabrikam Holdings" not in world.client.get("/mapping").text
    refreshed = world.refresh()
    assert world.vendor_calls() > calls
    assert "Fabrikam Holdings" in refreshed and "read from the vendors by a refresh" in refreshed


def test_a_choice_on_the_recorded_page_writes_what_connector_map_write_writes(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    operations.sync(world.settings())
    copy = world.cli_copy(tmp_path / "cli")
    code, _, err = cli(capsys, "map", "-c", str(copy), "--write", str(copy.parent / "mappings.toml"), "--accept",
                       "suggested")  # fmt: skip
    assert code == 0, err
    expected = (copy.parent / "mappings.toml").read_text()
    assert 'axcient = { customer = "Fabrikam Industries", id = "2" }' in expected  # the vendor's id, read live

    world.signin("bob")
    form = form_for(world.client.get("/mapping").text, "/mapping/accept", vendor=SUGGESTED)
    assert form["vendor_id"] == ""  # the recorded lists know names, not the vendors' ids
    answer = world.client.post("/mapping/accept", data=form)
    assert answer.status_code == 303, answer.text
    assert world.mappings.read_text() == expected
