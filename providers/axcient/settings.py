"""Configuration of the Axcient Backup for Files provider (`[axcient]` in the TOML file)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from connector.core.secrets import SecretRef


class AxcientSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    base_url: HttpUrl | None = Field(default=None, description="Partner portal API base URL")
    username: str | None = Field(default=None, description="User name of the sub-account with role Partner API")
    password: SecretRef | None = None
    per_page: int = Field(default=100, ge=1, le=1000)
    concurrency: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Customers whose account lists are read at once; a 429 on any of them pauses them all",
    )
    storage: Literal["compressed", "uncompressed"] = "compressed"
    mb_per_gb: Literal[1024, 1000] = 1024
    bill_suspended: bool = Field(default=False, description="Bill suspended accounts (deleted and trial never)")
    list_all_accounts: bool = Field(
        default=False,
        description="List every account in one paged GET /api/v1/accounts (no customer_id) instead of one list per "
        "customer; only for portals known to support it",
    )

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> AxcientSettings:
        if self.enabled:
            missing = [k for k in ("base_url", "username", "password") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"enabled, but {', '.join(missing)} not set")
        return self
