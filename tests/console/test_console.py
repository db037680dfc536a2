"""The billing console's first slice (issue 23): sign-in, the Month and Review pages, approve and discard through the
operations the command line calls, as the signed-in person, and what keeps it safe (CSRF, roles, CSP, escaping)."""

from __future__ import annotations

import logging

import pytest

from connector import operations
from connector.console.web import CONTENT_SECURITY_POLICY
from connector.store import Store
from mappings.lines import LineStatus
from tests.clock import MONTH

from .conftest import INJECTED, PASSWORDS, Console, Prepared

PAGES = ("/", "/review")


def test_every_page_needs_a_sign_in(console: Console) -> None:
    for page in PAGES:
        answer = console.client.get(page)
        assert answer.status_code == 303 and answer.headers["location"] == "/signin", page
    held = console.held_id()
    refused = console.client.post(f"/review/{held}/approve", data={"csrf": "x", "note": "no session"})
    assert refused.status_code == 403
    assert console.held_id() == held and console.audit() == []


def test_a_person_signs_in_and_sees_the_month_and_the_review(console: Console) -> None:
    signed = console.signin("bob")
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = signed.headers["set-cookie"]
    assert "console_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age=28800" in cookie  # [console] session_minutes, 480 by default
    month = console.client.get("/")
    assert month.status_code == 200
    assert "held for review" in month.text and "Bob (approver)" in month.text
    review = console.client.get("/review")
    assert review.status_code == 200
    # Amounts and quantities are the strings `connector review --format json` gives.
    for row in console.waiting():
        assert f'<dd class="number">{format(row["amount"], "f")}</dd>' in review.text, row
        assert f'<dd class="number">{format(row["quantity"], "f")}</dd>' in review.text, row


def test_a_wrong_password_is_refused_slowed_and_logged_without_the_password(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        wrong = console.signin("bob", "not-the-password-41")
        unknown = console.signin("mallory", "guess-55")
    for answer in (wrong, unknown):
        assert answer.status_code == 401 and "console_session" not in answer.headers.get("set-cookie", "")
        assert "do not match" in answer.text
    assert console.sleeps == [1.0, 1.0]  # the delay was asked for each failure (the test's sleep returns at once)
    logged = caplog.text
    assert "failed sign-in as 'bob'" in logged and "failed sign-in as 'mallory'" in logged
    assert "not-the-password-41" not in logged and "guess-55" not in logged
    assert console.client.get("/").status_code == 303  # still signed out
    assert console.signin("bob").status_code == 303 and console.sleeps == [1.0, 1.0]


def test_a_viewer_reads_but_may_not_approve_or_discard(console: Console) -> None:
    console.signin("ada")
    review = console.client.get("/review")
    assert review.status_code == 200 and "Contoso Ltd" in review.text
    assert "/approve" not in review.text and "/discard" not in review.text  # no form offered
    held = console.held_id()
    csrf = console.csrf()
    for action in ("approve", "discard"):
        answer = console.client.post(f"/review/{held}/{action}", data={"csrf": csrf, "note": "looks right"})
        assert answer.status_code == 403 and "viewer" in answer.text, action
    assert console.held_id() == held and console.audit() == []


def test_an_approver_approves_a_held_line_in_their_name(console: Console) -> None:
    console.signin("bob")
    held = console.held_id()
    form = {"csrf": console.csrf(), "note": "checked the NAS", "quantity": console.shown(held)}
    answer = console.client.post(f"/review/{held}/approve", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == "/review"
    assert f"approved line {held}" in console.client.get("/review").text  # told once, after the redirect
    assert held not in [r["id"] for r in console.waiting()]
    (event,) = console.audit()
    assert event["event"] == "approved" and event["subject"] == "Contoso Ltd"
    assert event["details"]["by"] == "Bob" and event["details"]["via"] == "console"
    assert event["details"]["note"] == "checked the NAS"
    with Store.open(console.settings.store.path) as store:
        assert next(line for line in store.outbox.lines() if line.id == held).status is LineStatus.PENDING


def test_a_discard_needs_a_note(console: Console) -> None:
    console.signin("bob")
    held = console.held_id()
    csrf = console.csrf()
    missing = console.client.post(f"/review/{held}/discard", data={"csrf": csrf, "note": "   "})
    assert missing.status_code == 400 and "say why in the note" in missing.text
    assert console.held_id() == held and console.audit() == []
    done = console.client.post(f"/review/{held}/discard", data={"csrf": csrf, "note": "billed by hand in October"})
    assert done.status_code == 303
    (event,) = console.audit()
    assert event["event"] == "discarded"
    assert event["details"] | {"identity": None} == {
        "identity": None,
        "note": "billed by hand in October",
        "by": "Bob",
        "via": "console",
    }


def test_a_line_no_longer_waiting_is_said_and_nothing_changes(console: Console) -> None:
    console.signin("bob")
    csrf = console.csrf()
    answer = console.client.post("/review/999999/approve", data={"csrf": csrf, "note": "", "quantity": "1"})
    assert answer.status_code == 409 and "no line 999999 is held" in answer.text
    assert console.audit() == []


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(console: Console) -> None:
    console.signin("bob")
    held = console.held_id()
    csrf = console.csrf()
    for data, headers in (
        ({"note": "no token"}, {}),
        ({"csrf": csrf + "x", "note": "wrong token"}, {}),
        ({"csrf": csrf, "note": "posted elsewhere"}, {"origin": "https://evil.example"}),
    ):
        answer = console.client.post(f"/review/{held}/approve", data=data, headers=headers)
        assert answer.status_code == 403, data
    assert console.held_id() == held and console.audit() == []
    signout = console.client.post("/signout", data={"note": "no token"})
    assert signout.status_code == 403 and console.client.get("/").status_code == 200


def test_the_sign_in_form_needs_its_own_token(console: Console) -> None:
    console.client.get("/signin")
    answer = console.client.post("/signin", data={"csrf": "forged", "name": "bob", "password": PASSWORDS["bob"]})
    assert answer.status_code == 403 and "console_session" not in answer.headers.get("set-cookie", "")


def test_a_customer_name_is_shown_escaped(console: Console) -> None:
    console.signin("ada")
    page = console.client.get("/review").text
    assert "&lt;script&gt;alert(&#39;billing&#39;)&lt;/script&gt; &amp; Co" in page
    assert "<script" not in page and "<b>users</b>" not in page and "<img" not in page
    assert INJECTED not in page


def test_every_response_carries_the_security_headers(console: Console) -> None:
    answers = [console.client.get("/signin"), console.client.get("/static/console.css"), console.client.get("/")]
    console.signin("ada")
    answers += [console.client.get(page) for page in PAGES]
    answers.append(console.client.get("/no-such-page"))
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert csp == CONTENT_SECURITY_POLICY and "default-src 'none'" in csp and "unsafe" not in csp
        assert "script-src" not in csp  # no script at all: default-src 'none' forbids it
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
    assert "<script" not in "".join(a.text for a in answers)


def test_no_password_or_secret_is_in_any_page(console: Console, prepared: Prepared) -> None:
    texts = [console.client.get("/signin").text]
    console.signin("bob", "wrong-one-but-shown?")
    console.signin("bob")
    texts += [console.client.get(page).text for page in PAGES]
    console.client.post(f"/review/{console.held_id()}/discard", data={"csrf": console.csrf(), "note": ""})
    texts.append(console.client.get("/review").text)
    secrets = [*PASSWORDS.values(), "wrong-one-but-shown?", *prepared.secrets]
    assert prepared.secrets  # the sandboxes' API keys, read from the files the configuration names
    for text in texts:
        assert not [secret for secret in secrets if secret in text]


def test_a_session_expires(console: Console) -> None:
    console.signin("ada")
    assert console.client.get("/").status_code == 200
    console.clock[0] += 480 * 60 - 1
    assert console.client.get("/").status_code == 200
    console.clock[0] += 1
    assert console.client.get("/").status_code == 303


def test_signing_out_ends_the_session(console: Console) -> None:
    console.signin("bob")
    session = console.client.cookies["console_session"]
    answer = console.client.post("/signout", data={"csrf": console.csrf("/")})
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    console.client.cookies.set("console_session", session)  # the old cookie, kept by someone
    assert console.client.get("/").status_code == 303


def test_the_month_counts_what_the_status_command_counts(console: Console) -> None:
    console.signin("ada")
    page = console.client.get("/").text
    summary = operations.status(console.settings)
    assert summary.held == 2 and f"{summary.held} held for review" in page
    for note in summary.attention():
        assert note.replace("`", "&#96;") in page or note in page, note
    for run in summary.runs:
        assert f"<td>{run['run_id']}</td>" in page


def test_the_month_shows_the_open_period_of_each_billing_period_and_each_sources_last_sync(console: Console) -> None:
    console.signin("ada")
    page = console.client.get("/").text
    summary = operations.status(console.settings)
    mapped = sum(len(customer.lines) for customer in console.settings.customers)
    (monthly,) = summary.periods
    # Every mapped contract is counted once: under the period it carries, or as having no line yet.
    assert sum(c["contracts"] for c in monthly["carried"]) + monthly["no_line_yet"] == mapped
    assert monthly["under_way"] == MONTH and monthly["carried"][0]["period"] == MONTH
    assert f"<td>{monthly['under_way']}</td>" in page
    assert f"{MONTH}: {monthly['carried'][0]['contracts']} contract(s)" in page
    assert "a contract carries a period until" in page
    assert {source["name"] for source in summary.sources} == {"altaro", "axcient"}
    for source in summary.sources:
        assert f"<tr><td>{source['name']}</td><td>{source['status']}</td>" in page, source
