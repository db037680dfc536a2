"""Configuration of the Altaro / Hornetsecurity report-link provider (`[altaro]` in the TOML file)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from connector.core.secrets import SecretRef

DEFAULT_BILLABLE_TYPES = ("Mailbox", "N/A", "OneDrive", "User Teams Chats")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AltaroColumns(_Section):
    """Header names in the report; matched ignoring case, surrounding spaces and a byte-order mark."""

    customer: str = "Customer Name"
    customer_id: str = "Customer ID"
    product: str = "Product"
    month: str = "Month"
    object_type: str = "Object Type Backed Up"
    object_name: str = "Object Name"
    size_gb: str = "Backed Up Size (GB)"


class AltaroLink(_Section):
    """One report API link as created under Export Itemised Billing Report > Create Report API Link."""

    name: str = Field(min_length=1, description="Short name used in logs and the fetch ledger")
    url: HttpUrl
    api_key: SecretRef
    format: Literal["auto", "csv", "json"] = "auto"


class AltaroExclusion(_Section):
    """Objects the MSP does not charge for, e.g. shared or test mailboxes."""

    customer: str = Field(default="*", description="Customer Name in the report, or * for every customer")
    pattern: str = Field(min_length=1, description="Glob on the object name, case-insensitive (shared-*)")
    reason: str = Field(min_length=1)


class AltaroSettings(_Section):
    enabled: bool = False
    links: list[AltaroLink] = Field(default_factory=list)
    min_interval_seconds: float = Field(
        default=300, gt=0, description="The vendor allows one call per link per 5 minutes"
    )
    when_too_soon: Literal["cached", "wait"] = "cached"
    keep_reports: int = Field(
        default=24, ge=1, description="Newest reports per link the store keeps in full; older calls keep their hash"
    )
    billable_object_types: list[str] = Field(default_factory=lambda: list(DEFAULT_BILLABLE_TYPES))
    distinct_key_column: str | None = Field(
        default=None, description="Column whose distinct values count users; default the Object Name column"
    )
    columns: AltaroColumns = Field(default_factory=AltaroColumns)
    exclusions: list[AltaroExclusion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _each_link_once(self) -> AltaroSettings:
        """One link twice would count its rows twice and call it twice; two links with one name are one in the logs."""
        problems = []
        first_of: dict[tuple[str, str], int] = {}
        for index, link in enumerate(self.links):
            # The fragment is never sent: the same link. Host case and a default port are normalised by HttpUrl.
            for key, clash in (
                (("url", str(link.url).partition("#")[0]), "are the same report link: keep one"),
                (("name", link.name.strip().casefold()), "share a name: name them apart"),
            ):
                first = first_of.setdefault(key, index)
                if first != index:
                    problems.append(
                        f"links[{first}] ({self.links[first].name!r}) and links[{index}] ({link.name!r}) {clash}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self
