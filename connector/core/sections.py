"""The connector's own configuration sections: store, log, daemon endpoints, the console, alerts and the billing
calendar.

Vendors bring their sections through the provider registry; these are the ones every installation has.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connector.core.secrets import SecretRef
from mappings.calendar import (
    DEFAULT_INVOICE_AFTER_DAYS,
    DEFAULT_INVOICE_DAY,
    MAX_INVOICE_AFTER_DAYS,
    BillingCalendar,
    Mode,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Section):
    path: Path = Field(default=Path("connector-state.db"), description="SQLite state store, created 0600")
    # 13: the open period and a year and a month before it, so the last invoiced period can still be compared with the
    # same month a year earlier (a customer's "why more than last year?"); waiting lines' periods are kept regardless.
    keep_periods: int | None = Field(
        default=13,
        ge=1,
        description="closed billing periods whose observations and report bodies are kept, besides the open one",
    )


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path | None = None
    format: Literal["text", "json"] = Field(default="text", description="text for people, json: one object a line")


class DaemonSettings(_Section):
    """The daemon's /healthz and /metrics endpoints: off unless `listen` is set."""

    listen: str | None = Field(default=None, description="host:port for /healthz and /metrics, e.g. 127.0.0.1:9464")
    allow_non_loopback: bool = Field(default=False, description="serve on an address other machines can reach")

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> DaemonSettings:
        # Metrics name customers and vendors: reachable from the network only when someone decided so.
        _refuse_non_loopback(self.listen, self.allow_non_loopback)
        return self


DEFAULT_CONSOLE_LISTEN = "127.0.0.1:8765"


class ConsoleUser(_Section):
    """A person who may sign in to the console: a viewer reads, an approver also approves and discards."""

    name: str = Field(min_length=1, max_length=100, description="the name the audit log records for each action")
    role: Literal["viewer", "approver"] = Field(description="viewer: read only; approver: approve, discard and map too")
    # Read once when the console starts and kept only as a salted hash.
    password: SecretRef = Field(description='{ env = "VARIABLE" } or { file = "/path" }, like any other secret')


class ConsoleSettings(_Section):
    """`connector console`: the billing console, a web application for people; loopback only unless allowed."""

    # Unset, `connector console` serves on DEFAULT_CONSOLE_LISTEN; the daemon will serve the console only when set.
    listen: str | None = Field(default=None, description=f"host:port to serve on (default {DEFAULT_CONSOLE_LISTEN})")
    allow_non_loopback: bool = Field(default=False, description="serve on an address other machines can reach")
    session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60, description="a sign-in lasts this long")
    users: list[ConsoleUser] = Field(default_factory=list, description="who may sign in, and their role")
    # Requests naming another Host are refused (400): a page on another site whose name is made to resolve to this
    # machine (DNS rebinding) is not the console's origin. The listen address and localhost are served anyway.
    hosts: list[str] = Field(
        default_factory=list, description="host names a reverse proxy forwards, e.g. billing.example.net"
    )

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> ConsoleSettings:
        # The console shows and changes billing: reachable from the network only when someone decided so.
        _refuse_non_loopback(self.listen, self.allow_non_loopback)
        names = [user.name.casefold() for user in self.users]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"users: {twice[0]!r} is given twice (names are compared in any case)")
        return self

    @field_validator("hosts")
    @classmethod
    def _host_names(cls, hosts: list[str]) -> list[str]:
        if wrong := [host for host in hosts if not _HOST_NAME.fullmatch(host)]:
            raise ValueError(
                f"{wrong[0]!r} is not a host name: give the name alone, as the browser's address has it "
                '(hosts = ["billing.example.net"]), without scheme, port or path'
            )
        return hosts


# A DNS name or an IPv4 address (letters, digits, dots, hyphens), or an IPv6 address in brackets.
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


class AlertSettings(_Section):
    """Where alerts go: apprise URLs (mailto://, msteams://, slack://, json:// …); none configured, none sent."""

    # URLs carry tokens and passwords, so each may come from the environment or a file like any other secret.
    urls: list[SecretRef] = Field(default_factory=list, description="apprise notification URLs")


def is_loopback(listen: str) -> bool:
    """Whether `host:port` names only this machine (127.0.0.0/8, ::1, localhost)."""
    host = listen.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_non_loopback(listen: str | None, allowed: bool) -> None:
    if listen is not None and not allowed and not is_loopback(listen):
        raise ValueError(f"listen = {listen!r} is not a loopback address; set allow_non_loopback = true")


class BillingSettings(_Section):
    """The billing calendar: arrears or advance, the MSP's time zone for period boundaries, and the day after which a
    period counts as invoiced when the PSA's invoices have not shown it yet (the fallback)."""

    mode: Mode = Field(default=Mode.ARREARS, description="arrears: final usage after the period; advance: running")
    timezone: str = Field(default="UTC", description="IANA zone whose midnight ends a period, e.g. Europe/London")
    invoice_day: int = Field(
        default=DEFAULT_INVOICE_DAY,
        ge=1,
        le=31,
        description="fallback: day of the next month after which a period counts as invoiced if no invoice shows it",
    )
    invoice_after_days: int = Field(
        default=DEFAULT_INVOICE_AFTER_DAYS,
        ge=0,
        le=MAX_INVOICE_AFTER_DAYS,
        description="fallback for weekly and twice-monthly periods: days after the period's end",
    )

    @model_validator(mode="after")
    def _known_zone(self) -> BillingSettings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {self.timezone!r} is not an IANA zone name (e.g. Europe/Paris)") from None
        return self

    def calendar(self) -> BillingCalendar:
        return BillingCalendar(self.mode, self.timezone, self.invoice_day, self.invoice_after_days)
