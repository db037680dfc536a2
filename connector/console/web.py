"""What every console page shares: the templates (escaped), the signed-in session and its cookie, the CSRF check of
a form, the security headers on every response (a Content-Security-Policy that loads nothing from elsewhere), and
the Host check that refuses a name the console is not served under (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.console.auth import Lockout, People, Session, Sessions
from connector.console.mapping_read import Sources
from connector.core.config import Settings
from connector.core.sections import DEFAULT_CONSOLE_LISTEN
from connector.operations import Actor
from mappings.periods import parse_period_key

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
    sign-in is slowed (`sleep(signin_delay)`; tests inject a sleep that records), the failures that lock sign-ins
    out (`lockout`), and what the Mapping page read of the vendors and the PSA (`sources`)."""

    settings: Settings
    people: People
    sessions: Sessions
    signin_delay: float
    sleep: Callable[[float], Awaitable[None]]
    lockout: Lockout
    pages: Jinja2Templates = field(default_factory=templates)
    sources: Sources = field(default_factory=Sources)

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


def actor(session: Session) -> Actor:
    """The signed-in person, as the audit log records a decision made in the console."""
    return Actor(session.person.name, "console")


Endpoint = Callable[[Request], Awaitable[Response]]


def page(handler: Callable[[Request, Console], Awaitable[Response]]) -> Endpoint:
    """A page for signed-in people; anyone else is sent to sign in."""

    async def endpoint(request: Request) -> Response:
        console = console_of(request)
        if console.session(request) is None:
            return RedirectResponse("/signin", status_code=303)
        return await handler(request, console)

    return endpoint


Posted = Callable[[Request, Console, Session, FormData], Awaitable[Response]]


def posted(permission: str | None, what: str) -> Callable[[Posted], Endpoint]:
    """A form's POST, handled only when signed in, from this console (Origin) with the session's CSRF token, and,
    when `permission` names one, by a role that has it (`what` says the action in the refusal). Anything else is
    refused, with nothing changed."""

    def wrap(handler: Posted) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            console = console_of(request)
            session = console.session(request)
            if session is None:
                return console.refuse(request, 403, "Sign in first: your session has ended.")
            form = await request.form()
            if not same_origin(request) or not session.csrf_matches(str(form.get("csrf", ""))):
                return console.refuse(
                    request, 403, "The form expired or did not come from this console: reload the page."
                )
            if permission is not None and not session.person.may(permission):
                log.warning("console: %s (%s) may not %s", session.person.name, session.person.role, what)
                return console.refuse(request, 403, f"Your role ({session.person.role}) may not {what}.")
            return await handler(request, console, session, form)

        return endpoint

    return wrap


PAGE_SIZE = 50  # review cards, or customers, a page
T = TypeVar("T")


def paged(items: list[T], asked: str | None) -> tuple[list[T], dict[str, int]]:
    """The page of `items` asked for (1 when missing or not a number, the last when past it), and what the template
    says of it: its number, how many pages there are, and the position of its first item."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    try:
        number = min(max(1, int(asked or "1")), pages)
    except ValueError:
        number = 1
    start = (number - 1) * PAGE_SIZE
    return items[start : start + PAGE_SIZE], {"page": number, "pages": pages, "first": start + 1}


def period_order(period: str) -> tuple[str, str]:
    """Periods by their first day; a key the calendar does not parse sorts by its text."""
    try:
        return parse_period_key(period).start.isoformat(), period
    except ValueError:
        return "", period


def same_origin(request: Request) -> bool:
    """A browser's Origin header, when it sends one, names this console (a form posted from elsewhere does not)."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int, path: str = "/") -> None:
    """A cookie scripts cannot read, sent only by pages of this console (Secure when served over HTTPS)."""
    secure = request.url.scheme == "https"
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="strict", secure=secure)


class SecurityHeaders:
    """ASGI middleware: the same security headers on every response, pages, static files and errors alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The names this machine answers to by itself, whatever the listen address.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
WRONG_HOST = (
    "400 Bad Request: this console is not served under the name this request gave (its Host header). A reverse "
    "proxy's name goes in [console] hosts.\n"
)


def host_name(header: str) -> str:
    """The name a Host header gives, without its port (and an IPv6 address without its brackets), in lower case."""
    header = header.strip()
    if header.startswith("["):
        return header[1 : header.find("]")].casefold() if "]" in header else ""
    name, colon, port = header.rpartition(":")
    return (name if colon and port.isdigit() else header).casefold()


class TrustedHosts:
    """ASGI middleware: a request whose Host header names none of the console's names is answered 400, before any
    page. Its names (any port): the address served on (`listen`, else `[console] listen`, else the default), this
    machine's own names, and `[console] hosts`.

    A page on another site whose DNS name is made to resolve to this machine (DNS rebinding) would otherwise read the
    console as its own origin. Served on an unspecified address (0.0.0.0, ::), an IP address is accepted too: a
    rebinding needs a name."""

    def __init__(self, app: ASGIApp, settings: Settings, listen: str | None = None) -> None:
        self.app = app
        served = (listen or settings.console.listen or DEFAULT_CONSOLE_LISTEN).rpartition(":")[0].strip("[]")
        self.hosts = frozenset(name.strip("[]").casefold() for name in (served, *LOCAL_HOSTS, *settings.console.hosts))
        self.any_address = False
        with suppress(ValueError):
            self.any_address = ipaddress.ip_address(served).is_unspecified

    def allowed(self, name: str) -> bool:
        if name in self.hosts:
            return True
        if self.any_address:
            with suppress(ValueError):
                ipaddress.ip_address(name)
                return True
        return False

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
