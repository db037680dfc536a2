"""Configuration of the Autotask PSA adapter (`[autotask]` in the TOML file).

Only where the zone is asked is configured: the zone's own URL (webservicesN.autotask.net) is discovered at every
start, because Autotask moves databases between zones and a URL written into the file would go stale silently.
"""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from connector.core.secrets import SecretRef

DEFAULT_ZONE_LOOKUP_URL = "https://webservices.autotask.net/ATServicesRest"
# Autotask serves at most this many records a query page.
MAX_PAGE_SIZE = 500
# Threads an integration registered since Autotask 2023.1 may run at once per endpoint and tracking identifier.
MAX_THREADS = 3


def is_loopback(host: str | None) -> bool:
    """Whether `host` is this machine (localhost, 127.0.0.0/8, ::1): the one place plain HTTP is accepted."""
    host = (host or "").strip("[]").casefold()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AutotaskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    zone_lookup_url: HttpUrl = Field(
        default=HttpUrl(DEFAULT_ZONE_LOOKUP_URL),
        description="Where the database's zone is asked (ZoneInformation); the zone URL itself is discovered",
    )
    username: SecretRef | None = Field(default=None, description="The API user's username (security level API-only)")
    secret: SecretRef | None = Field(default=None, description="The API user's secret (its password)")
    integration_code: SecretRef | None = Field(
        default=None, description="The API user's tracking identifier (sent as ApiIntegrationCode)"
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Records per query page")
    threads: int = Field(
        default=MAX_THREADS, ge=1, le=MAX_THREADS, description="Requests in flight at once (connections held)"
    )
    stop_pushes_at: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Share of the database's hourly request threshold at or above which a run starts no push",
    )
    company_type: str = Field(
        default="Customer", min_length=1, description="Label of the companyType picklist value new companies get"
    )
    contract_period_type: str = Field(
        default="Monthly", min_length=1, description="Label of the contractPeriodType of contracts onboarding creates"
    )
    owner_resource_id: int | None = Field(
        default=None, ge=0, description="Resource that owns the companies onboarding creates (Autotask requires one)"
    )

    @field_validator("zone_lookup_url")
    @classmethod
    def _https_unless_loopback(cls, url: HttpUrl) -> HttpUrl:
        # The zone lookup carries the API user's secret: never in clear text off this machine.
        if url.scheme != "https" and not is_loopback(url.host):
            raise ValueError(f"{url} is not https; the lookup carries the API secret (http only on localhost)")
        return url

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> AutotaskSettings:
        # Each missing key said when the file is loaded, not as a 401 halfway through the first sync.
        if not self.enabled:
            return self
        missing = [
            f'autotask.{key}: not set; give {{ env = "{variable}" }} or {{ file = "..." }} ({what})'
            for key, variable, what in (
                ("username", "AUTOTASK_USERNAME", "the API user's username"),
                ("secret", "AUTOTASK_SECRET", "the API user's secret"),
                ("integration_code", "AUTOTASK_INTEGRATION_CODE", "the API user's tracking identifier"),
            )
            if getattr(self, key) is None
        ]
        if missing:
            raise ValueError("; ".join(missing))
        return self
