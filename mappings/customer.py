"""Per-customer mapping schema: which vendor customer is which PSA customer, and which usage lands on which contract."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mappings.enums import BillingPeriod, Unit
from mappings.periods import CALENDAR_KINDS


class Metric(StrEnum):
    """A billable quantity a provider measures for one vendor customer."""

    ALTARO_USERS = "altaro.billed_users"
    ALTARO_GB = "altaro.backup_gb"
    AXCIENT_PC_GB = "axcient.pc_gb"
    AXCIENT_SERVER_GB = "axcient.server_gb"
    AXCIENT_TOTAL_GB = "axcient.total_gb"
    AXCIENT_PC_DEVICES = "axcient.pc_devices"
    AXCIENT_SERVER_DEVICES = "axcient.server_devices"
    AXCIENT_DEVICES = "axcient.devices"

    @property
    def source(self) -> str:
        return self.value.split(".", 1)[0]

    @property
    def unit(self) -> Unit:
        if self.value.endswith("_gb"):
            return Unit.GB
        if self.value.endswith("devices"):
            return Unit.DEVICE
        return Unit.USER


class StrictModel(BaseModel):
    """Unknown keys are configuration typos; refuse them so the error names the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LineMapping(StrictModel):
    """One measured quantity billed as the Quantity of one Retainer/flat-fee contract at a per-unit rate."""

    metric: Metric
    contract: str = Field(min_length=1, description="Name of the Atera Retainer/flat-fee contract that carries it")
    contract_id: int | None = Field(default=None, description="Atera ContractID, when known; wins over the name")
    rate: Decimal = Field(ge=0, description="Price per unit (per user, per GB, per device)")
    rate_sku: str | None = Field(default=None, description="SKU of the Atera rate product holding the price")
    billing_period: BillingPeriod = BillingPeriod.MONTHLY
    start_date: date | None = None
    create_if_missing: bool = Field(default=False, description="Create the rate product and contract if absent")
    product: str | None = Field(default=None, description="Only usage of this vendor product / service plan")

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
        if isinstance(value, float):
            return Decimal(repr(value))
        return value


class CustomerMapping(StrictModel):
    """One PSA customer and the vendor customers whose usage it is billed for."""

    psa_customer: str = Field(min_length=1, description="Atera CustomerName")
    psa_customer_id: int | None = Field(default=None, description="Atera CustomerID, when known")
    altaro_customer: str | None = Field(default=None, description="Customer Name (or ID) in the Altaro report")
    axcient_customer: str | None = Field(default=None, description="Customer name (or id) in the backup portal")
    lines: list[LineMapping] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sources_are_mapped(self) -> CustomerMapping:
        for index, line in enumerate(self.lines):
            vendor_name = getattr(self, f"{line.metric.source}_customer")
            if vendor_name is None:
                raise ValueError(
                    f"lines[{index}] bills {line.metric.value} but {line.metric.source}_customer is not set"
                )
        return self

    def vendor_customer(self, source: str) -> str | None:
        value: str | None = getattr(self, f"{source}_customer", None)
        return value
