"""What every console page shares: the templates (escaped), the signed-in session and its cookie, the CSRF check of
a form, the security headers on every response (a Content-Security-Policy that loads nothing from elsewhere), and
the Host check that refuses a name the console is not served under (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.console.auth import Lockout, People, Session, Sessions
from connector.core.config import Settings
from connector.core.sections import DEFAULT_CONSOLE_LISTEN

log = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
# No script at all, no inline style, nothing from another origin, no framing, forms posted here only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # Not no-referrer: under it Chromium sends `Origin: null` with the console's own forms, which the origin check
    # must refuse; same-origin keeps the console's URLs from other sites and the Origin on its own posts.
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    # Pages name customers and amounts: no copy kept by the browser or a proxy.
    "cache-control": "no-store",
}


def plain(value: Any) -> str:
    """A value as the JSON output writes it: a Decimal's exact digits ("3.50"), an enum's value, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def templates() -> Jinja2Templates:
    """The package's templates; every value is escaped unless a template says otherwise (none does)."""
    environment = Environment(
        loader=PackageLoader("connector.console", "templates"), autoescape=True, undefined=StrictUndefined
    )
    environment.filters["plain"] = plain
    return Jinja2Templates(env=environment)


@dataclass
class Console:
    """The running console's state, on `app.state.console`: configuration, people, sessions, how a failed
    sign-in is slowed (`sleep(signin_delay)`; tests inject a sleep that records) and the failures that lock sign-ins
    out (`lockout`)."""

    settings: Settings
    people: People
    sessions: Sessions
    pages: Jinja2Templates
    signin_delay: float
    sleep: Callable[[float], Awaitable[None]]
    lockout: Lockout

    def session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def render(self, request: Request, name: str, context: Mapping[str, Any], *, status_code: int = 200) -> Response:
        """A page, with the signed-in session (its person and CSRF token) and the notices it had waiting."""
        session = self.session(request)
        notices = []
        if session is not None:
            notices, session.notices = session.notices, []
        values = {"session": session, "notices": notices, "error": None, **context}
        return self.pages.TemplateResponse(request, name, values, status_code=status_code)

    def refuse(self, request: Request, status_code: int, why: str) -> Response:
        """A page saying why the request was refused (403 and the like); nothing was changed."""
        return self.render(request, "refused.html", {"why": why}, status_code=status_code)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def same_origin(request: Request) -> bool:
    """A browser's Origin header, when it sends one, names this console (a form posted from elsewhere does not)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int, path: str = "/") -> None:
    """A cookie scripts cannot read, sent only by pages of this console (Secure when served over HTTPS)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


class SecurityHeaders:
    """ASGI middleware: the same security headers on every response, pages, static files and errors alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in HEADERS.items():
                    headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The names this machine answers to by itself, whatever the listen address.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
WRONG_HOST = (
    "400 Bad Request: this console is not served under the name this request gave (its Host header). A reverse "
    "proxy's name goes in [console] hosts.\n"
)


def served_hosts(settings: Settings, listen: str | None = None) -> frozenset[str]:
    """The host names a request may give (any port): the address served on (`listen`, else `[console] listen`, else
    the default), this machine's own names, and `[console] hosts`."""
    chosen = listen or settings.console.listen or DEFAULT_CONSOLE_LISTEN
    served = chosen.rpartition(":")[0].strip("[]")
    return frozenset(name.strip("[]").casefold() for name in (served, *LOCAL_HOSTS, *settings.console.hosts))


def host_name(header: str) -> str:
    """The name a Host header gives, without its port (and an IPv6 address without its brackets), in lower case."""
    header = header.strip()
    if header.startswith("["):
        return header[1 : header.find("]")].casefold() if "]" in header else ""
    name, colon, port = header.rpartition(":")
    return (name if colon and port.isdigit() else header).casefold()


class TrustedHosts:
    """ASGI middleware: a request whose Host header names none of `hosts` is answered 400, before any page.

    A page on another site whose DNS name is made to resolve to this machine (DNS rebinding) would otherwise read the
    console as its own origin. Served on an unspecified address (0.0.0.0, ::), an IP address is accepted too: a
    rebinding needs a name."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str], any_address: bool = False) -> None:
        self.app = app
        self.hosts = frozenset(hosts)
        self.any_address = any_address

    def allowed(self, name: str) -> bool:
        if name in self.hosts:
            return True
        if not self.any_address:
            return False
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((value for key, value in scope["headers"] if key == b"host"), b"").decode("latin-1")
        if self.allowed(host_name(header)):
            await self.app(scope, receive, send)
            return
        log.warning("console: refused a request for host %r (not a name this console serves)", header[:100])
        await PlainTextResponse(WRONG_HOST, status_code=400)(scope, receive, send)


def unspecified(settings: Settings, listen: str | None = None) -> bool:
    """Whether the console listens on every address (0.0.0.0 or ::)."""
    chosen = listen or settings.console.listen or DEFAULT_CONSOLE_LISTEN
    try:
        return ipaddress.ip_address(chosen.rpartition(":")[0].strip("[]")).is_unspecified
    except ValueError:
        return False


async def checked_form(
    request: Request, console: Console, permission: str | None, what: str
) -> tuple[Session, FormData] | Response:
    """A form's POST, before anything is done for it: signed in, from this console (Origin) with the session's CSRF
    token, and, when `permission` names one, a role that has it (`what` says the action in the refusal). Anything
    else is refused, with nothing changed."""
    session = console.session(request)
    if session is None:
        return console.refuse(request, 403, "Sign in first: your session has ended.")
    form = await request.form()
    if not same_origin(request) or not session.csrf_matches(str(form.get("csrf", ""))):
        return console.refuse(request, 403, "The form expired or did not come from this console: reload the page.")
    if permission is not None and not session.person.may(permission):
        log.warning("console: %s (%s) may not %s", session.person.name, session.person.role, what)
        return console.refuse(request, 403, f"Your role ({session.person.role}) may not {what}.")
    return session, form
