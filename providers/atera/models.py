"""Pydantic models of Atera API v3 payloads, named and spelled as its OpenAPI description spells them."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mappings import enums

T = TypeVar("T")

# Atera keeps numbers as doubles: past 2^53 a double no longer holds every whole number, so nothing larger is sent.
WIRE_MAX = Decimal(2**53)
# A number Atera sends: finite, or the payload is refused with its field (never a NaN compared, summed or billed).
Number = Annotated[Decimal, Field(allow_inf_nan=False)]
# A number we send: finite and within what Atera can hold; written as its own digits by `request_json`.
WireDecimal = Annotated[Decimal, Field(allow_inf_nan=False, ge=-WIRE_MAX, le=WIRE_MAX)]


def wire_problem(value: Decimal) -> str | None:
    """Why Atera cannot be sent this number, or None."""
    if not value.is_finite():
        return "is not a finite number"
    if abs(value) > WIRE_MAX:
        return f"is more than Atera can hold (its numbers are doubles, exact to {WIRE_MAX})"
    return None


def wire_text(value: Decimal) -> str:
    """A Decimal as a JSON number with every digit it has: never through float, never null, NaN or Infinity."""
    problem = wire_problem(value)
    if problem is not None:
        raise ValueError(f"{value} {problem}")
    # Plain digits read best; a vanishingly small number keeps its exponent rather than a page of zeros.
    return format(value, "f") if value.adjusted() >= -24 else str(value)


def same_number(held: Decimal, sent: Decimal) -> bool:
    """Whether Atera holding `held` holds `sent`: equal, or the same double (Atera keeps no more digits than that)."""
    return held == sent or float(held) == float(sent)


def request_json(body: BaseModel) -> bytes:
    """A request body as JSON: pydantic's JSON for every field, except that each Decimal is written as its digits."""
    return _encode(body.model_dump(mode="python", exclude_none=True), body.model_dump(mode="json", exclude_none=True))


def _encode(value: Any, as_json: Any) -> bytes:
    # Walks the Python dump (which still knows which values are Decimals) beside the JSON dump of the same body.
    if isinstance(value, Decimal):
        return wire_text(value).encode()
    if isinstance(value, dict):
        items = (json.dumps(key).encode() + b":" + _encode(item, as_json[key]) for key, item in value.items())
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list | tuple):
        return b"[" + b",".join(_encode(item, j) for item, j in zip(value, as_json, strict=True)) + b"]"
    return json.dumps(as_json, allow_nan=False, separators=(",", ":")).encode()


class Dto(BaseModel):
    """A response payload: fields Atera adds later are ignored rather than failing a sync."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Request(BaseModel):
    """A request body: only the fields the OpenAPI description allows."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(Dto, Generic[T]):
    """One page of any list: `{"items", "page", "itemsInPage", "totalItemCount", "totalPages", "nextLink"}`."""

    items: list[T] | None = None
    # None where Atera leaves a figure out: the paginator then verifies what the page does say.
    page: int | None = None
    itemsInPage: int = 0
    totalItemCount: int | None = None
    totalPages: int | None = None
    prevLink: str | None = None
    nextLink: str | None = None


class ProblemDetails(Dto):
    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None

    def describe(self) -> str:
        parts = [p for p in (self.title, self.detail) if p]
        return ": ".join(parts) or "no details given"


class Result(Dto):
    """What a create answers: the new record's id as text."""

    ActionID: str | None = None


class CustomerDto(Dto):
    CustomerID: int
    CustomerName: str
    CreatedOn: datetime | None = None
    LastModified: datetime | None = None
    BusinessNumber: str | None = None
    Domain: str | None = None
    Address: str | None = None
    City: str | None = None
    State: str | None = None
    Country: str | None = None
    Phone: str | None = None
    Fax: str | None = None
    Notes: str | None = None
    Links: str | None = None
    ZipCodeStr: str | None = None


class ContactDto(Dto):
    EndUserID: int | None = None
    CustomerID: int | None = None
    CustomerName: str | None = None
    Firstname: str | None = None
    Lastname: str | None = None
    Email: str | None = None
    Phone: str | None = None
    IsContactPerson: bool | None = None


class AgentDto(Dto):
    AgentID: int | None = None
    MachineID: str | None = None
    CustomerID: int | None = None
    CustomerName: str | None = None
    AgentName: str | None = None
    MachineName: str | None = None
    Monitored: bool = False
    Online: bool | None = None
    OS: str | None = None
    OSType: str | None = None
    DeviceType: str | None = None
    LastSeen: datetime | None = None


class RateDto(Dto):
    RateID: int
    Amount: Number
    Description: str | None = None
    SKU: str | None = None
    Category: str | None = None


class RetainerFlatFeeContractDto(Dto):
    BillingPeriod: enums.BillingPeriod | None = None
    Quantity: Number | None = None
    Rate: RateDto | None = None


class HourlyContractDto(Dto):
    PrimaryRate: RateDto | None = None
    AdditionalRates: list[RateDto] | None = None
    BillingPeriod: enums.BillingPeriod | None = None


class BlockHoursContractDto(Dto):
    HoursIncluded: Number | None = None
    PricePerHour: RateDto | None = None
    OverageRate: RateDto | None = None
    CommitRollover: bool = False
    BillingPeriod: enums.BillingPeriod | None = None


class BlockMoneyContractDto(Dto):
    Amount: Number | None = None
    ContractAmount: RateDto | None = None
    PrimaryRate: RateDto | None = None
    AdditionalRates: list[RateDto] | None = None
    CommitRollover: bool = False
    BillingPeriod: enums.BillingPeriod | None = None


class RemoteMonitoringContractDto(Dto):
    RatePerDevice: RateDto | None = None
    CountBy: enums.CountBy | None = None
    BillingPeriod: enums.BillingPeriod | None = None


class OnlineBackupContractDto(Dto):
    RatePerGB: RateDto | None = None
    CountBy: enums.CountBy | None = None
    BillingPeriod: enums.BillingPeriod | None = None


class ProjectOneTimeFeeContractDto(Dto):
    TotalAmount: RateDto | None = None


class ProjectHourlyRateContractDto(Dto):
    PrimaryRate: RateDto | None = None
    AdditionalRates: list[RateDto] | None = None


class ContractDto(Dto):
    CustomerID: int
    CustomerName: str | None = None
    ContractID: int
    ContractName: str | None = None
    ContractType: enums.ContractType
    Active: bool = False
    Default: bool = False
    Taxable: bool = False
    StartDate: datetime | None = None
    EndDate: datetime | None = None
    RetainerFlatFeeContract: RetainerFlatFeeContractDto | None = None
    HourlyContract: HourlyContractDto | None = None
    BlockHoursContract: BlockHoursContractDto | None = None
    BlockMoneyContract: BlockMoneyContractDto | None = None
    RemoteMonitoringContract: RemoteMonitoringContractDto | None = None
    OnlineBackupContract: OnlineBackupContractDto | None = None
    ProjectOneTimeFeeContract: ProjectOneTimeFeeContractDto | None = None
    ProjectHourlyRateContract: ProjectHourlyRateContractDto | None = None


class CustomValueDto(Dto):
    ItemId: int | None = None
    FieldName: str | None = None
    ValueAsString: str | None = None
    ValueAsDecimal: Number | None = None
    ValueAsDateTime: datetime | None = None
    ValueAsBool: bool | None = None


class InvoiceLineItemDto(Dto):
    Product: str | None = None
    Description: str | None = None
    Quantity: Number = Decimal(0)
    Rate: Number = Decimal(0)
    TaxPercentage: Number | None = None
    DiscountPercentage: Number | None = None
    Total: Number = Decimal(0)
    Subtotal: Number = Decimal(0)
    Tax: Number = Decimal(0)
    LineIdx: int | None = None


class InvoiceContactDetailsDto(Dto):
    CompanyName: str | None = None
    Email: str | None = None


class InvoiceDto(Dto):
    InvoiceId: str | None = None
    InvoiceNumber: int
    IsAdhoc: bool = False
    Total: Number = Decimal(0)
    Subtotal: Number = Decimal(0)
    Tax: Number = Decimal(0)
    InvoiceDate: datetime
    ContractName: str | None = None
    PeriodStartDate: datetime | None = None
    PeriodEndDate: datetime | None = None
    Currency: str | None = None
    LineItems: list[InvoiceLineItemDto] = Field(default_factory=list)
    To: InvoiceContactDetailsDto | None = None


# -- request bodies ------------------------------------------------------------------------------------------


class CreateRateRequest(Request):
    Description: str
    Amount: WireDecimal
    SKU: str
    Category: str | None = None


class CreateRetainerFlatFeeContractDto(Request):
    RateID: int
    Quantity: WireDecimal
    BillingPeriod: enums.BillingPeriod


class CreateContractDto(Request):
    ContractName: str
    CustomerID: int
    ContractType: enums.ContractType
    Active: bool = True
    Default: bool = False
    Taxable: bool = False
    StartDate: datetime | None = None
    SLAId: int | None = None
    Notes: str | None = None
    RetainerFlatFeeContract: CreateRetainerFlatFeeContractDto


class UpdateRetainerFlatFeeContractDto(Request):
    Quantity: WireDecimal
    BillingPeriod: enums.BillingPeriod | None = None


class UpdateContractDto(Request):
    """The header fields are sent back as read, so a quantity update changes nothing else."""

    ContractName: str | None = None
    Default: bool | None = None
    StartDate: datetime | None = None
    EndDate: datetime | None = None
    Active: bool | None = None
    Taxable: bool | None = None
    RetainerFlatFeeContract: UpdateRetainerFlatFeeContractDto


class SetCustomValueRequest(Request):
    Value: str | None
