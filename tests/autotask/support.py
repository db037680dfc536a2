"""Helpers the Autotask sink, invoicing, resolve and view tests share: the month the frozen clock is in, lines to push
to the sandbox's contracts, and clients, sinks and settings on a sandbox whose every exchange is held to the Swagger
subset."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from mappings.enums import BillingPeriod
from mappings.lines import Line
from mappings.periods import Period, period_containing
from providers.autotask.client import AutotaskClient
from providers.autotask.connect import build_autotask_client
from providers.autotask.invoicing import InvoicingAutotaskSink
from providers.autotask.sandbox import API_PREFIX, AutotaskSandbox
from providers.autotask.settings import AutotaskSettings
from tests.clock import FROZEN_AT

from .conftest import at_client
from .swagger_check import SwaggerContract

HTTP = HttpSettings(max_attempts=2, backoff_initial_seconds=0, timeout_seconds=5, connect_timeout_seconds=2)

# The day the tests run on (the frozen clock, in UTC as the sinks here are), and its month: what a run pushes.
TODAY = FROZEN_AT.astimezone(UTC).date()
MONTH: Period = period_containing(BillingPeriod.MONTHLY, TODAY)
# The month before (still in the run's read of units) and the one before that (read on demand only).
PREVIOUS: Period = period_containing(BillingPeriod.MONTHLY, MONTH.start - timedelta(days=1))
EARLIER: Period = period_containing(BillingPeriod.MONTHLY, PREVIOUS.start - timedelta(days=1))

# The sandbox's demo data: Contoso Ltd (251), contract 501 "Managed Backup", whose contract service 602 bills
# "Server backup (per GB)" (402, BKP-SERVER-GB) at 0.12, 560 units since 2024-01-01; 601 bills 10 M365 users.
CONTOSO, CONTRACT, SERVER_GB = 251, 501, 602
USERS = 601
HELD = 560


def line(quantity: str = "612", psa: dict[str, Any] | None = None, *, period: Period = MONTH, **changes: Any) -> Line:
    """Contoso's server backup for `period` (the frozen month), on contract 501's service 602 (BKP-SERVER-GB)."""
    rate = Decimal(changes.pop("rate", "0.12"))
    made = Line(
        psa_customer="Contoso Ltd",
        contract="Managed Backup",
        period_key=period.key,
        metric="axcient.server_gb",
        quantity=Decimal(quantity),
        unit="GB",
        rate=rate,
        amount=(Decimal(quantity) * rate).quantize(Decimal("0.01")),
        period_start=period.start,
        period_end=period.end,
        psa={"service": "BKP-SERVER-GB"} if psa is None else psa,
    )
    return dataclasses.replace(made, **changes)


def client(sandbox: AutotaskSandbox, contract: SwaggerContract) -> AutotaskClient:
    """A client on the sandbox's zone whose every request and answer is checked against the Swagger subset. It sends
    the headers `connect.build_autotask_client` gives every request (a body is JSON)."""
    headers = {**sandbox.auth_headers(), "Content-Type": "application/json"}
    return AutotaskClient(at_client(sandbox, contract, headers=headers))


def sink(sandbox: AutotaskSandbox, contract: SwaggerContract, **options: Any) -> InvoicingAutotaskSink:
    """The sink of one run on the sandbox, at the frozen clock unless told `now`."""
    options.setdefault("now", lambda: datetime.now(UTC))
    return InvoicingAutotaskSink(lambda: client(sandbox, contract), **options)


def settings(sandbox: AutotaskSandbox, **overrides: Any) -> AutotaskSettings:
    """`[autotask]` on the sandbox: the zone asked at its API root, with its three keys."""
    values: dict[str, Any] = {
        "enabled": True,
        "zone_lookup_url": sandbox.api_url,
        "username": SecretRef(value=SecretStr(sandbox.username)),
        "secret": SecretRef(value=SecretStr(sandbox.secret)),
        "integration_code": SecretRef(value=SecretStr(sandbox.integration_code)),
    }
    return AutotaskSettings(**{**values, **overrides})


class CheckedTransport(httpx.BaseTransport):
    """The network, with every request and answer checked against the Swagger subset."""

    def __init__(self, contract: SwaggerContract) -> None:
        self.inner = httpx.HTTPTransport()
        self.contract = contract

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.contract.check_request(request)
        response = self.inner.handle_request(request)
        response.read()
        response.request = request
        self.contract.check_response(response)
        return response

    def close(self) -> None:
        self.inner.close()


def built_client(sandbox: AutotaskSandbox, contract: SwaggerContract, **overrides: Any) -> AutotaskClient:
    """A client as the connector builds it (the zone asked first), every exchange checked."""
    return build_autotask_client(
        settings(sandbox, **overrides), HTTP, transport=CheckedTransport(contract), sleep=lambda _: None
    )


def writes(sandbox: AutotaskSandbox) -> list[str]:
    """The writes the sandbox took, as `METHOD path` under the API root."""
    return [f"{w.method} {w.path.removeprefix(API_PREFIX)}" for w in sandbox.writes()]


def requests(sandbox: AutotaskSandbox) -> list[str]:
    """Every request the sandbox answered (ZoneInformation and ThresholdInformation too), as `METHOD path`."""
    return [f"{r.method} {r.path.removeprefix(API_PREFIX)}" for r in sandbox.requests]


def first_of(period: Period) -> str:
    """The period's first day as Autotask writes a date (midnight, no zone)."""
    return f"{period.start.isoformat()}T00:00:00"


def mid(period: Period) -> date:
    """A day inside the period after its first."""
    return period.start + timedelta(days=14)
