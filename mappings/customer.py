"""Per-customer mapping schema: which vendor customer is which PSA customer, and which usage lands on which contract.

Vendors and the PSA are named by their registry key: `[customers.<source>] customer = …` names the vendor customer,
`[customers.lines.<psa>]` holds the PSA's own options for a line. Which names exist is the registry's business; the
configuration checks them against it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mappings.enums import BillingPeriod
from mappings.money import to_decimal
from mappings.periods import CALENDAR_KINDS

LEGACY_VENDOR_SUFFIX = "_customer"


class StrictModel(BaseModel):
    """Unknown keys are configuration typos; refuse them so the error names the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _gather(data: Any, fields: dict[str, Any], into: str, *, scalars: bool) -> Any:
    """Move keys that are not fields (tables, and with `scalars` plain values) under `into`, keyed by their name.

    Such keys name a provider (`[customers.<source>]`); what is left over stays where it was, so a misspelt field is
    still refused as an unknown key.
    """
    if not isinstance(data, dict):
        return data
    given = data.get(into) or {}
    if not isinstance(given, dict):
        return data  # the field's own validation names the key and the type it wants
    kept: dict[str, Any] = {}
    gathered: dict[str, Any] = dict(given)
    for key, value in data.items():
        if key in fields or not (isinstance(value, dict) or (scalars and isinstance(value, str))):
            kept[key] = value
        elif key in gathered:
            # One would silently replace the other.
            raise ValueError(f"{key} given twice (under {into} and as its own table): keep one")
        else:
            gathered[key] = value
    return {**kept, into: gathered} if gathered else kept


class VendorCustomer(StrictModel):
    """A customer as one vendor names it: its name, or its id (stable across renames), or both."""

    customer: str = Field(min_length=1, description="The vendor's customer name (or id)")
    id: str | None = Field(default=None, min_length=1, description="The vendor's customer id; found by it first")

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        if isinstance(data, str | int) and not isinstance(data, bool):
            return {"customer": str(data)}
        if isinstance(data, dict):
            data = {k: str(v) if k in ("id", "customer") and isinstance(v, int) else v for k, v in data.items()}
            if "customer" not in data and isinstance(data.get("id"), str):
                # Given by id alone: the id is also what messages call it until the vendor's data names it.
                data = {**data, "customer": data["id"]}
        return data

    @property
    def ref(self) -> str:
        """What the vendor's data is searched by: the id when given, else the name (which may itself be an id)."""
        return self.id or self.customer


class LineMapping(StrictModel):
    """One measured quantity billed as the Quantity of one PSA contract at a per-unit rate."""

    metric: str = Field(
        pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$",
        description="What is billed: `<source>.<quantity>`, a metric the source declares",
    )
    contract: str = Field(min_length=1, description="Name of the PSA contract that carries it")
    contract_id: int | None = Field(default=None, description="The contract's id in the PSA, when known; wins")
    rate: Decimal | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Price per unit; absent: the PSA contract's own rate"
    )
    billing_period: BillingPeriod = BillingPeriod.MONTHLY
    start_date: date | None = None
    product: str | None = Field(default=None, description="Only usage of this vendor product / service plan")
    measure: Literal["peak", "last", "average"] = Field(
        default="peak", description="The period's quantity: its peak (what vendors bill), last or average observation"
    )
    psa: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Options by PSA, under its own key")

    @model_validator(mode="before")
    @classmethod
    def _psa_tables(cls, data: Any) -> Any:
        return _gather(data, cls.model_fields, "psa", scalars=False)

    @field_validator("billing_period")
    @classmethod
    def _period_has_a_calendar(cls, value: BillingPeriod) -> BillingPeriod:
        # The sync bills the period containing a day; these two have no such period and would stop every sync.
        if value not in CALENDAR_KINDS:
            kinds = ", ".join(k.value for k in CALENDAR_KINDS)
            raise ValueError(f"{value.value} has no calendar periods the sync can bill; use one of {kinds}")
        return value

    @field_validator("rate", mode="before")
    @classmethod
    def _rate_from_text(cls, value: object) -> object:
        # TOML floats would smuggle binary rounding into money: take them through their shortest text form.
        return to_decimal(value) if isinstance(value, float) else value

    @property
    def source(self) -> str:
        """The provider that measures the metric."""
        return self.metric.split(".", 1)[0]


class CustomerMapping(StrictModel):
    """One PSA customer and, per source, the vendor customer whose usage it is billed for."""

    psa_customer: str = Field(min_length=1, description="The PSA's customer name")
    psa_customer_id: int | None = Field(default=None, description="The PSA's customer id, when known")
    vendors: dict[str, VendorCustomer] = Field(default_factory=dict, description="Vendor customer by source")
    lines: list[LineMapping] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _vendor_tables(cls, data: Any) -> Any:
        if isinstance(data, dict):
            # `altaro_customer = "X"` is how configurations wrote `[customers.altaro] customer = "X"` before.
            renamed: dict[Any, Any] = {}
            for key, value in data.items():
                legacy = isinstance(key, str) and key not in cls.model_fields and key != LEGACY_VENDOR_SUFFIX
                name = key.removesuffix(LEGACY_VENDOR_SUFFIX) if legacy else key
                if name != key and name in data:
                    raise ValueError(f"{name} customer given twice (as {key} and as [customers.{name}]): keep one")
                renamed[name] = value
            data = renamed
        return _gather(data, cls.model_fields, "vendors", scalars=True)

    def unmapped_sources(self) -> list[str]:
        """Why lines cannot be billed: a metric whose source names no customer here."""
        return [
            f"lines[{index}] bills {line.metric} but no {line.source} customer is given "
            f'([customers.{line.source}] customer = "…")'
            for index, line in enumerate(self.lines)
            if line.source not in self.vendors
        ]

    def vendor_customer(self, source: str) -> str | None:
        """The customer's name at `source`, or None when it is not billed from there."""
        ref = self.vendors.get(source)
        return ref.customer if ref is not None else None

    def vendor_ref(self, source: str) -> str | None:
        """What the customer is looked up by at `source` (its id when given), or None when not billed from there."""
        ref = self.vendors.get(source)
        return ref.ref if ref is not None else None
