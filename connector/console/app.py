"""The console as an ASGI application: `create_app(settings)` gives what `connector console` serves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from connector.console import bulk, customers, mapping, pages, periods, signin
from connector.console.auth import Lockout, People, Sessions
from connector.console.web import Console, SecurityHeaders, TrustedHosts
from connector.core.config import Settings

FAILED_SIGNIN_DELAY = 1.0  # seconds a failed sign-in waits before its answer


def create_app(
    settings: Settings,
    *,
    listen: str | None = None,
    signin_delay: float = FAILED_SIGNIN_DELAY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], float] = time.time,
) -> Starlette:
    """The console for `settings`: its people's passwords read (from their secrets) and hashed now, sessions of
    `[console] session_minutes`, served under the names `TrustedHosts` allows (`listen`: the address it is served
    on, when not `[console] listen`); `sleep` and `now` are injectable for tests."""
    console = Console(
        settings=settings,
        people=People(settings.console.users),
        sessions=Sessions(settings.console.session_minutes, now),
        signin_delay=signin_delay,
        sleep=sleep,
        lockout=Lockout(now),
    )
    routes = [
        Route("/", pages.month, methods=["GET"]),
        Route("/review", pages.review, methods=["GET"]),
        Route("/review/{line_id:int}/approve", pages.approve, methods=["POST"]),
        Route("/review/{line_id:int}/discard", pages.discard, methods=["POST"]),
        Route("/review/bulk", bulk.confirm, methods=["GET"]),
        Route("/review/bulk", bulk.approve, methods=["POST"]),
        Route("/push", bulk.push_now, methods=["POST"]),
        Route("/periods", periods.periods, methods=["GET"]),
        Route("/periods/{period}", periods.period, methods=["GET"]),
        Route("/periods/{period}/reconcile", periods.reconcile, methods=["POST"]),
        Route("/periods/{period}/export.csv", periods.export, methods=["GET"]),
        Route("/periods/{period}/export.html", periods.export, methods=["GET"]),
        Route("/customers", customers.customers, methods=["GET"]),
        Route("/customer", customers.customer, methods=["GET"]),
        Route("/mapping", mapping.mapping, methods=["GET"]),
        Route("/mapping/refresh", mapping.refresh, methods=["POST"]),
        Route("/mapping/accept", mapping.accept, methods=["POST"]),
        Route("/mapping/ignore", mapping.ignore, methods=["POST"]),
        Route("/mapping/onboard", mapping.onboard_form, methods=["GET"]),
        Route("/mapping/onboard", mapping.onboard, methods=["POST"]),
        Route("/signin", signin.signin_form, methods=["GET"]),
        Route("/signin", signin.signin, methods=["POST"]),
        Route("/signout", signin.signout, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("connector.console", "static")]), name="static"),
    ]
    # The security headers wrap everything, the Host check's refusal included.
    middleware = [Middleware(SecurityHeaders), Middleware(TrustedHosts, settings=settings, listen=listen)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.console = console
    return app
