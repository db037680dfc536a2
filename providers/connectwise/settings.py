"""Configuration of the ConnectWise PSA (Manage) adapter (`[connectwise]` in the TOML file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from connector.core.secrets import SecretRef

DEFAULT_BASE_URL = "https://na.myconnectwise.net/v4_6_release/apis/3.0"
# ConnectWise serves at most this many records a page.
MAX_PAGE_SIZE = 1000


class ConnectWiseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    base_url: HttpUrl = Field(
        default=HttpUrl(DEFAULT_BASE_URL),
        description="The full API base, https://<your site>/v4_6_release/apis/3.0 (e.g. api-eu.myconnectwise.net)",
    )
    company_id: str = Field(default="", description="The company id you log in to ConnectWise with")
    public_key: SecretRef | None = Field(default=None, description="The API member's public key")
    private_key: SecretRef | None = Field(default=None, description="The API member's private key")
    client_id: str = Field(
        default="",
        description="clientId of the integration registered at developer.connectwise.com (sent on every request; not "
        "a secret)",
    )
    api_version: str = Field(
        default="2025.8",
        pattern=r"^\d{4}\.\d{1,2}$",
        description="API version the connector pins (Accept: application/vnd.connectwise.com+json; version=...)",
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Records per page of a list")
    custom_field: str = Field(
        default="Billing connector record",
        min_length=1,
        description="Caption of the Agreement Additions custom field (type Text) that records period and line identity",
    )
    agreement_type: str = Field(
        default="Managed Services",
        min_length=1,
        description="Agreement type of the agreements `connector map --create-customers` creates",
    )
    create_products: bool = Field(
        default=False,
        description="Let onboarding create a catalog product a template names when ConnectWise has none",
    )

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> ConnectWiseSettings:
        # Said at load time, key by key, rather than as a 401 in the middle of the first sync.
        if not self.enabled:
            return self
        missing = [
            f"connectwise.{key}: not set; {hint}"
            for key, given, hint in (
                ("company_id", self.company_id.strip(), "the company id you log in to ConnectWise with"),
                ("public_key", self.public_key, 'give { env = "CONNECTWISE_PUBLIC_KEY" } or { file = "..." }'),
                ("private_key", self.private_key, 'give { env = "CONNECTWISE_PRIVATE_KEY" } or { file = "..." }'),
                ("client_id", self.client_id.strip(), "the clientId of your integration (developer.connectwise.com)"),
            )
            if not given
        ]
        if missing:
            raise ValueError("; ".join(missing))
        return self
