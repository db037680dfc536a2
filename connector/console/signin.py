"""Signing in and out. The sign-in form carries a token its cookie repeats (a form posted from another site has
neither); a failed sign-in is slowed and logged, with the name given but never the password."""

from __future__ import annotations

import logging
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

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
    person = None
    if 0 < len(name) <= MAX_FIELD and 0 < len(password) <= MAX_FIELD:
        person = await run_in_threadpool(console.people.check, name, password)
    if person is None:
        client = request.client.host if request.client is not None else "unknown"
        log.warning("console: failed sign-in as %r from %s", name[:MAX_FIELD], client)
        await console.sleep(console.signin_delay)
        return _form(request, status_code=401, error="That name and password do not match a console user.")
    session_token, _ = console.sessions.start(person)
    log.info("console: %s (%s) signed in", person.name, person.role)
    response = RedirectResponse("/", status_code=303)
    set_cookie(request, response, SESSION_COOKIE, session_token, max_age=console.sessions.seconds)
    response.delete_cookie(SIGNIN_COOKIE, path="/signin", httponly=True, samesite="strict")
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
