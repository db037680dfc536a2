"""Configuration of the Atera PSA adapter (`[atera]` in the TOML file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from connector.core.secrets import SecretRef


class AteraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    base_url: HttpUrl = HttpUrl("https://app.atera.com/api/v3")
    api_key: SecretRef | None = Field(default=None, description="X-API-KEY, or a JWT (over 100 characters)")
    max_requests: int = Field(default=200, ge=1, description="Client-side throttle: requests per window")
    window_seconds: float = Field(
        default=300, gt=0, description="Throttle window; Atera publishes no limit, third parties quote 500 per 5 min"
    )
    requests_per_run: int = Field(
        default=2000,
        ge=0,
        description="Atera requests one sync may send (10 throttle windows, 50 minutes at the default pace); the "
        "lines left wait, pending, for the next cycle. 0: no limit",
    )
    items_in_page: int = Field(default=50, ge=1, le=50)
    custom_field: str = Field(
        default="Billing connector",
        min_length=1,
        description="Contract custom field that records period and line identity",
    )
    rate_category: str = Field(default="Backup", description="Category of rate products the connector creates")
    sla_id: int | None = Field(default=None, ge=1, description="SLA given to contracts the connector creates")
