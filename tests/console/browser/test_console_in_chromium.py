"""The billing console in headless Chromium (issue 23), against the demo's sandboxes: sign in, approve a held line by
keyboard and see the next sync push it, discard with a note, a viewer refused, forged forms refused, markup from the
data shown as text, every control labelled and reached by Tab, and a screenshot of every page at 1280 px."""

from __future__ import annotations

import re
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import sync

from .conftest import (
    CHROMIUM,
    INJECTED,
    INJECTED_PRODUCT,
    PASSWORDS,
    SCREENSHOTS,
    TO_APPROVE,
    TO_DISCARD,
    UNDECIDED,
    WIDTH,
    Tab,
    World,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (Debian's `chromium` package; CI installs it with apt-get)"
)

PNG = b"\x89PNG\r\n\x1a\n"
# What a form control's accessible name comes from: aria-label, aria-labelledby, a <label>, a button's own text.
UNLABELLED = """() => {
    const named = e => {
        if ((e.getAttribute('aria-label') || '').trim()) return true;
        const by = (e.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
        if (by.some(id => (document.getElementById(id)?.textContent || '').trim())) return true;
        if (Array.from(e.labels || []).some(label => label.textContent.trim())) return true;
        if (e.tagName === 'BUTTON') return e.textContent.trim() !== '';
        if (['submit', 'reset', 'button'].includes(e.type)) return (e.value || '').trim() !== '';
        return false;
    };
    return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
        .filter(e => !named(e)).map(e => e.outerHTML);
}"""
# Marks every element a keyboard should reach (visible links and enabled controls) with its index; returns how many.
MARK_FOCUSABLE = """() => {
    const all = Array.from(document.querySelectorAll(
        'a[href], input:not([type=hidden]), select, textarea, button, [tabindex]:not([tabindex="-1"])'))
        .filter(e => !e.disabled && e.getClientRects().length > 0);
    all.forEach((e, i) => e.setAttribute('data-focus-index', String(i)));
    return all.map(e => e.outerHTML.slice(0, 120));
}"""


def _forge(tab: Tab, origin: str, action: str, fields: dict[str, str]) -> Any:
    """A page served from `origin` (another site, or another port of this host) whose form posts to the console."""
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    html = f'<!doctype html><title>Win a prize</title><form method="post" action="{action}">{inputs}'
    html += '<button type="submit">Claim</button></form>'
    tab.page.route(f"{origin}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    tab.page.goto(f"{origin}/prize.html")
    with tab.page.expect_response(lambda answer: answer.url == action) as posted:
        tab.page.get_by_role("button", name="Claim").click()
    tab.page.wait_for_load_state()
    return posted.value


def test_an_approver_signs_in_approves_by_keyboard_and_the_next_sync_pushes_it(
    world: World, tab: Tab, capsys: pytest.CaptureFixture[str]
) -> None:
    tab.signin("Bob")
    assert tab.page.get_by_text("Bob (approver)").is_visible()
    with tab.page.expect_navigation():
        tab.page.locator("header nav").get_by_role("link", name="Review", exact=True).click()
    held = world.line_id(*TO_APPROVE)
    card = tab.page.locator(f"#line-{held}")
    assert card.get_by_role("heading").inner_text().startswith(TO_APPROVE[0])
    # The approve form by keyboard alone: Tab to its note, type it, Tab to the button, Enter.
    tab.tab_to({"card": f"line-{held}", "tag": "input", "action": f"/review/{held}/approve"})
    tab.page.keyboard.type("checked the NAS with the customer")
    tab.page.keyboard.press("Tab")
    focused = tab.focused()
    assert (focused["tag"], focused["text"], focused["action"]) == ("button", "Approve", f"/review/{held}/approve")
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    assert tab.page.url == world.url + "/review"
    assert f"approved line {held}" in tab.page.get_by_role("status").first.inner_text()
    assert tab.page.locator(f"#line-{held}").count() == 0
    (event,) = world.audit(TO_APPROVE[0])
    assert event["event"] == "approved"
    assert event["details"]["by"] == "Bob" and event["details"]["via"] == "console"
    assert event["details"]["note"] == "checked the NAS with the customer"
    assert world.psa_quantity(TO_APPROVE) == world.typed[TO_APPROVE]  # nothing pushed until the next sync

    code, report, err = sync(capsys, world.config)
    line = next(x for x in report["lines"] if (x["psa_customer"], x["metric"]) == TO_APPROVE)
    assert line["outcome"] == "pushed", (code, line, err)
    assert world.psa_quantity(TO_APPROVE) == Decimal(str(world.first[TO_APPROVE]["quantity"]))
    tab.go("/")
    assert tab.page.get_by_role("heading", name="Last runs").is_visible()


def test_a_discard_needs_a_note_and_is_recorded_with_it(world: World, tab: Tab) -> None:
    tab.signin("Bob")
    tab.go("/review")
    held = world.line_id(*TO_DISCARD)
    form = tab.page.locator(f'form[action="/review/{held}/discard"]')
    note, button = form.get_by_label("Note (required)"), form.get_by_role("button", name="Discard")
    # Empty: the browser itself will not send it (the field is required) and says why.
    button.click()
    assert note.evaluate("e => e.validationMessage") != ""
    assert tab.page.url == world.url + "/review" and world.line_id(*TO_DISCARD) == held
    # Blank: sent, refused by the console with a message a person sees, nothing changed.
    note.fill("   ")
    with tab.page.expect_response(lambda answer: answer.url.endswith(f"/review/{held}/discard")) as posted:
        button.click()
    tab.page.wait_for_load_state()
    assert posted.value.status == 400
    alert = tab.page.get_by_role("alert")
    assert alert.is_visible() and "say why in the note" in alert.inner_text()
    assert world.line_id(*TO_DISCARD) == held and world.audit(TO_DISCARD[0]) == []
    # With a note: discarded, said once, recorded in Bob's name with the note.
    form = tab.page.locator(f'form[action="/review/{held}/discard"]')
    form.get_by_label("Note (required)").fill("billed by hand in October")
    with tab.page.expect_navigation():
        form.get_by_role("button", name="Discard").click()
    assert f"discarded line {held}" in tab.page.get_by_role("status").first.inner_text()
    assert tab.page.locator(f"#line-{held}").count() == 0
    (event,) = world.audit(TO_DISCARD[0])
    assert event["event"] == "discarded" and event["details"]["note"] == "billed by hand in October"
    assert event["details"]["by"] == "Bob" and event["details"]["via"] == "console"


def test_a_viewer_sees_no_approve_button_and_a_posted_approval_is_refused(world: World, tab: Tab) -> None:
    tab.signin("Ada")
    tab.go("/review")
    held = world.line_id(*UNDECIDED)
    assert tab.page.locator(f"#line-{held}").is_visible()
    assert tab.page.get_by_role("button", name="Approve").count() == 0
    assert tab.page.get_by_role("button", name="Discard").count() == 0
    # The request a form would make, with the session's cookie, its CSRF token and this origin: the role refuses it.
    for action in ("approve", "discard"):
        answer = tab.page.request.post(
            f"/review/{held}/{action}",
            form={"csrf": tab.csrf(), "note": "looks right to me"},
            headers={"Origin": world.url},
            max_redirects=0,
        )
        assert answer.status == 403 and "Your role (viewer) may not" in answer.text(), action
    assert world.line_id(*UNDECIDED) == held and world.audit(UNDECIDED[0]) == []


def test_forged_forms_are_refused(world: World, tab: Tab) -> None:
    tab.signin("Bob")
    tab.go("/review")
    held = world.line_id(*UNDECIDED)
    action = f"{world.url}/review/{held}/approve"
    token = tab.csrf()
    # From another port of this host (same site: the session cookie goes along), even knowing the token.
    port = int(world.url.rsplit(":", 1)[1])
    other = f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}"
    answer = _forge(tab, other, action, {"csrf": token, "note": "free money"})
    assert answer.status == 403
    assert "did not come from this console" in tab.page.get_by_role("alert").inner_text()
    # From another site (the cookie stays home: SameSite=strict).
    answer = _forge(tab, "http://prize.invalid", action, {"csrf": token, "note": "free money"})
    assert answer.status == 403
    # The console's own form with its token taken out, sent by the browser.
    tab.go("/review")
    form = tab.page.locator(f'form[action="/review/{held}/approve"]')
    form.locator("input[name=csrf]").evaluate("e => e.remove()")
    with tab.page.expect_response(lambda answer: answer.url == action) as posted:
        form.get_by_role("button", name="Approve").click()
    tab.page.wait_for_load_state()
    assert posted.value.status == 403
    # And without a token from this origin, by request.
    bare = tab.page.request.post(f"/review/{held}/approve", form={"note": "x"}, max_redirects=0)
    assert bare.status == 403
    assert world.line_id(*UNDECIDED) == held and world.audit(UNDECIDED[0]) == []


def test_a_customer_named_with_markup_is_shown_as_text(world: World, tab: Tab) -> None:
    tab.signin("Ada")
    for path in ("/review", "/"):
        tab.go(path)
        tab.page.wait_for_load_state("networkidle")
    tab.go("/review")
    held = world.line_id(INJECTED)
    card = tab.page.locator(f"#line-{held}")
    heading = card.get_by_role("heading").inner_text()
    assert heading.startswith(INJECTED) and INJECTED_PRODUCT in heading
    assert "<img src=y onerror=alert(3)>" in card.inner_text()
    assert tab.page.locator("main img, main script, script").count() == 0
    assert tab.dialogs == [] and tab.errors == []
    assert not [url for url in tab.requests if re.search(r"/[xy]$", url)], tab.requests  # no <img src=x> fetched


def test_every_control_is_labelled_and_reached_by_tab(world: World, tab: Tab) -> None:
    tab.go("/signin")
    assert tab.page.evaluate(UNLABELLED) == []
    # Signing in by keyboard alone: Tab to the name, type, Tab to the password, type, Tab to the button, Enter.
    assert tab.tab_to({"name": "name"})["tag"] == "input"
    tab.page.keyboard.type("Bob")
    tab.page.keyboard.press("Tab")
    assert tab.focused()["name"] == "password"
    tab.page.keyboard.type(PASSWORDS["Bob"])
    tab.page.keyboard.press("Tab")
    focused = tab.focused()
    assert (focused["tag"], focused["text"]) == ("button", "Sign in")
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    assert tab.page.url == world.url + "/"
    for path in _pages(tab):
        tab.go(path)
        assert tab.page.evaluate(UNLABELLED) == [], path
        wanted = tab.page.evaluate(MARK_FOCUSABLE)
        reached = set()
        tab.page.locator("body").focus()
        for _ in range(len(wanted) + 3):
            tab.page.keyboard.press("Tab")
            index = tab.page.evaluate("() => document.activeElement?.getAttribute('data-focus-index')")
            if index is not None:
                reached.add(int(index))
        missed = [html for i, html in enumerate(wanted) if i not in reached]
        assert missed == [], f"{path}: Tab does not reach {missed}"
    tab.go("/review")
    tab.page.locator("body").focus()
    assert tab.tab_to({"tag": "button", "text": "Approve"})["action"].endswith("/approve")


def _pages(tab: Tab) -> list[str]:
    """The signed-in pages: Month, Review and whatever else the header's navigation links to now."""
    tab.go("/")
    links = tab.page.locator("header nav a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    pages = ["/", "/review"]
    for href in links:
        path = str(href).split("#")[0]
        if path.startswith("/") and not path.startswith("//") and path not in pages:
            pages.append(path)
    return pages


def _shoot(tab: Tab, name: str) -> str:
    path = SCREENSHOTS / f"{name}.png"
    tab.page.screenshot(path=str(path), full_page=True)
    return str(path)


def test_a_screenshot_of_every_page_at_1280_px(world: World, tab: Tab) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    tab.go("/signin")
    written = [_shoot(tab, "signin")]
    tab.signin("Bob")
    for path in _pages(tab):
        answer = tab.go(path)
        assert answer.status == 200, f"{path}: {answer.status}"
        name = path.strip("/").replace("/", "-") or "month"
        written.append(_shoot(tab, name))
    # What a refused form shows.
    held = world.line_id(*UNDECIDED)
    _forge(tab, "http://127.0.0.1:9", f"{world.url}/review/{held}/approve", {"csrf": "forged"})
    written.append(_shoot(tab, "refused"))
    print("console screenshots:", *written, sep="\n  ")
    for path in written:
        data = Path(path).read_bytes()
        assert data.startswith(PNG) and len(data) > 1000, path
        width, height = struct.unpack(">II", data[16:24])  # IHDR
        assert width == WIDTH, f"{path}: {width} px wide: the page is wider than {WIDTH} px"
        assert height >= 400, path
