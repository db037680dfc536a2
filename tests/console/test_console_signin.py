"""Guessing passwords (issue 23): after 5 failed sign-ins within 15 minutes for a name, or from a client address,
that name's (or address's) sign-ins are refused without the password being checked, until the window has passed; the
person is told so, the log says so, never with the password. Guesses sent in parallel are counted before any is
answered. The clock is the console fixture's (no test sleeps: the slow-down is the fixture's recording sleep)."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest

from connector.console.auth import LOCKOUT_FAILURES, LOCKOUT_SECONDS, Attempt, Locked, Lockout

from .conftest import PASSWORDS, Console

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def checked(console: Console, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names whose password the console checks from now on."""
    people = console.client.app.state.console.people  # type: ignore[attr-defined]
    names: list[str] = []
    check = people.check

    def recording(name: str, password: str) -> Any:
        names.append(name)
        return check(name, password)

    monkeypatch.setattr(people, "check", recording)
    return names


def fail(console: Console, name: str = "bob", times: int = LOCKOUT_FAILURES) -> None:
    for attempt in range(times):
        answer = console.signin(name, f"guess-{attempt}-Vr3")
        assert answer.status_code == 401 and "do not match" in answer.text


def test_five_failures_refuse_the_name_unchecked_until_the_window_passes(
    console: Console, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    names = checked(console, monkeypatch)
    fail(console)
    assert len(names) == LOCKOUT_FAILURES and console.sleeps == [1.0] * LOCKOUT_FAILURES
    with caplog.at_level(logging.INFO):
        # The right password, the name in another case: refused all the same.
        refused = console.signin("BOB", PASSWORDS["bob"])
    assert refused.status_code == 429 and refused.headers["retry-after"] == str(LOCKOUT_SECONDS)
    assert "Too many failed sign-ins for this name (5 within 15 minutes)" in refused.text
    assert "for 15 more minute(s)" in refused.text
    assert "console_session" not in refused.headers.get("set-cookie", "")
    assert len(names) == LOCKOUT_FAILURES and len(console.sleeps) == LOCKOUT_FAILURES  # not checked, not slowed
    assert "sign-in as 'BOB' from testclient refused without checking the password" in caplog.text
    assert PASSWORDS["bob"] not in caplog.text and "guess-" not in caplog.text

    console.clock[0] += LOCKOUT_SECONDS - 1
    late = console.signin("bob")
    assert late.status_code == 429 and "for 1 more minute(s)" in late.text and late.headers["retry-after"] == "1"
    console.clock[0] += 1  # the first failure is 15 minutes old: one more try is allowed
    assert console.signin("bob").status_code == 303 and len(names) == LOCKOUT_FAILURES + 1
    assert console.client.get("/").status_code == 200


def test_a_name_is_locked_from_every_address_and_an_address_for_every_name(console: Console) -> None:
    fail(console, "bob")
    app = console.client.app
    with TestClient(app, client=("192.0.2.7", 40000), follow_redirects=False) as elsewhere:
        other = Console(elsewhere, console.settings, console.sleeps, console.clock)
        assert other.signin("bob").status_code == 429  # the name, whoever asks
        assert other.signin("ada").status_code == 303  # another name from another address
    answer = console.signin("ada")  # another name, from the address that failed five times
    assert answer.status_code == 429 and "from this address" in answer.text


def test_a_success_clears_the_name_s_failures(console: Console) -> None:
    fail(console, "bob", LOCKOUT_FAILURES - 1)
    assert console.signin("bob").status_code == 303
    console.client.cookies.clear()
    with TestClient(console.client.app, client=("192.0.2.8", 40000), follow_redirects=False) as elsewhere:
        other = Console(elsewhere, console.settings, console.sleeps, console.clock)
        fail(other, "bob", LOCKOUT_FAILURES - 1)
        assert other.signin("bob").status_code == 303  # four failures since the success: not locked


def test_guesses_in_parallel_are_counted_before_any_is_answered() -> None:
    clock = [0.0]
    lockout = Lockout(lambda: clock[0])
    begun = [lockout.attempt("Bob", f"198.51.100.{i}") for i in range(8)]  # none answered yet
    assert [type(b) for b in begun] == [Attempt] * LOCKOUT_FAILURES + [Locked] * 3
    assert begun[-1] == Locked("name", LOCKOUT_SECONDS)
    clock[0] = LOCKOUT_SECONDS
    assert isinstance(lockout.attempt("bob", "198.51.100.1"), Attempt)
