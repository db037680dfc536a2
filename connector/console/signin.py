"""Signing in and out. The sign-in form carries a token its cookie repeats (a form posted from another site has
neither); a failed sign-in is slowed and logged, with the name given but never the password; after too many
failures for a name or from an address, its sign-ins are refused without a password checked (`auth.Lockout`)."""

from __future__ import annotations

import logging
import math
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from connector.console.auth import Locked
from connector.console.web import SESSION_COOKIE, console_of, same_origin, set_cookie

log = logging.getLogger(__name__)

SIGNIN_COOKIE = "console_signin"
SIGNIN_SECONDS = 15 * 60  # how long a sign-in form may be left open
MAX_FIELD = 200  # longer names and passwords are not checked (scrypt would hash whatever it is given)


async def signin_form(request: Request) -> Response:
    """GET /signin: the form, or the Month page for someone signed in already."""
    console = console_of(request)
    if console.session(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _form(request, status_code=200, error=None)


def _form(request: Request, *, status_code: int, error: str | None) -> Response:
    token = secrets.token_urlsafe(32)
    response = console_of(request).render(
        request, "signin.html", {"signin_token": token, "error": error}, status_code=status_code
    )
    set_cookie(request, response, SIGNIN_COOKIE, token, max_age=SIGNIN_SECONDS, path="/signin")
    return response


async def signin(request: Request) -> Response:
    """POST /signin: a session for the person whose password it is; otherwise, after the delay, the form again."""
    console = console_of(request)
    form = await request.form()
    token, cookie = str(form.get("csrf", "")), request.cookies.get(SIGNIN_COOKIE, "")
    if not same_origin(request) or not token or not secrets.compare_digest(token.encode(), cookie.encode()):
        return console.refuse(request, 403, "The sign-in form expired or did not come from this console: reload it.")
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    client = request.client.host if request.client is not None else "unknown"
    attempt = console.lockout.attempt(name[:MAX_FIELD], client)
    if isinstance(attempt, Locked):
        return _locked(request, attempt, name[:MAX_FIELD], client)
    person = None
    if 0 < len(name) <= MAX_FIELD and 0 < len(password) <= MAX_FIELD:
        person = await run_in_threadpool(console.people.check, name, password)
    if person is None:
        log.warning("console: failed sign-in as %r from %s", name[:MAX_FIELD], client)
        await console.sleep(console.signin_delay)
        return _form(request, status_code=401, error="That name and password do not match a console user.")
    console.lockout.succeeded(attempt)
    session_token, _ = console.sessions.start(person)
    log.info("console: %s (%s) signed in", person.name, person.role)
    response = RedirectResponse("/", status_code=303)
    set_cookie(request, response, SESSION_COOKIE, session_token, max_age=console.sessions.seconds)
    response.delete_cookie(SIGNIN_COOKIE, path="/signin", httponly=True, samesite="strict")
    return response


def _locked(request: Request, locked: Locked, name: str, client: str) -> Response:
    """Too many failed sign-ins for this name or from this address: refused, the password not even checked."""
    lockout = console_of(request).lockout
    seconds = max(1, math.ceil(locked.until - lockout.now()))
    minutes = math.ceil(seconds / 60)
    window = round(lockout.seconds / 60)
    which = "for this name" if locked.what == "name" else "from this address"
    log.warning(
        "console: sign-in as %r from %s refused without checking the password: %d failed sign-ins %s within %d "
        "minutes (refused for %d more second(s))",
        *(name, client, lockout.failures, which, window, seconds),
    )
    error = (
        f"Too many failed sign-ins {which} ({lockout.failures} within {window} minutes): sign-ins are refused, "
        f"whatever the password, for {minutes} more minute(s). Try again then."
    )
    response = _form(request, status_code=429, error=error)
    response.headers["retry-after"] = str(seconds)
    return response


async def signout(request: Request) -> Response:
    """POST /signout: the session ends here and now (its cookie with it)."""
    console = console_of(request)
    session = console.session(request)
    form = await request.form()
    if session is not None:
        if not same_origin(request) or not session.csrf_matches(str(form.get("csrf", ""))):
            return console.refuse(request, 403, "The form expired or did not come from this console: reload it.")
        console.sessions.end(request.cookies.get(SESSION_COOKIE))
        log.info("console: %s signed out", session.person.name)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
