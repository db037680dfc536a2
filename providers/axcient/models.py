"""Pydantic models of the backup portal's payloads (customers, accounts, pages, session, errors)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def _id_text(value: Any) -> Any:
    # The portal's ids are numbers in our sandbox; a real portal may send text. Both are kept as text, bools refused.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _encodable(value: str) -> str:
    # A lone surrogate (JSON allows "\ud800") cannot be logged, printed or stored as text: refused with the item.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid text (it holds a lone surrogate)") from None
    return value


VendorId = Annotated[str, BeforeValidator(_id_text), Field(min_length=1), AfterValidator(_encodable)]
# Ten petabytes behind one computer is not a size but a broken number (bytes sent as MB, a sentinel, 1e400): the
# account is refused with its id and field, and its customer's usage is incomplete rather than billed.
MAX_ACCOUNT_MB = Decimal(10**10)
Megabytes = Annotated[Decimal, Field(ge=0, le=MAX_ACCOUNT_MB, allow_inf_nan=False)]
# A quota is never billed, only compared with the size: a huge one means as much as the default, infinite.
QuotaMegabytes = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class Dto(BaseModel):
    """A response payload: fields the portal adds later are ignored rather than failing a run."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Contact(Dto):
    name: str | None = None
    email: str | None = None


class Customer(Dto):
    id: VendorId
    name: str = Field(min_length=1)
    contact: Contact | None = None

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("must not be blank")
        return stripped


class Account(Dto):
    """One portal account: it backs up exactly one computer."""

    id: VendorId
    username: str
    customer_id: VendorId
    parent_id: VendorId | None = None
    service_plan: str = Field(min_length=1)
    computer_name: str
    device_type: Literal["pc", "server"]
    used_mb_compressed: Megabytes
    used_mb_uncompressed: Megabytes
    hard_quota_mb: QuotaMegabytes | None = None
    user_quota_mb: QuotaMegabytes | None = None
    trial_expires: date | None = None
    status: Literal["active", "suspended", "deleted"]

    @field_validator("device_type", "status", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def effective_quota_mb(self) -> Decimal | None:
        """The smaller of the hard and user quotas; None when both are infinite."""
        quotas = [q for q in (self.hard_quota_mb, self.user_quota_mb) if q is not None]
        return min(quotas) if quotas else None

    def used_mb(self, storage: Literal["compressed", "uncompressed"]) -> Decimal:
        return self.used_mb_compressed if storage == "compressed" else self.used_mb_uncompressed


def is_trial_plan(plan: str) -> bool:
    """Trial, Trial (Basic), Trial (ShadowProtect), ...: never billed."""
    return plan.strip().lower().startswith("trial")


class Page(Dto):
    """One page of a list. Items stay raw so that one bad item is reported alone, with its id and field."""

    items: list[Any]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1)
    total: int = Field(ge=0)


class Session(Dto):
    token: str = Field(min_length=1)
    expires_in: int | None = None


class ErrorDetail(Dto):
    code: str | None = None
    message: str | None = None


class ErrorBody(Dto):
    error: ErrorDetail

    def describe(self) -> str:
        parts = [p for p in (self.error.code, self.error.message) if p]
        return ": ".join(parts) or "no details given"
