"""Pydantic models of Atera API v3 payloads, named and spelled as its OpenAPI description spells them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from mappings import enums

T = TypeVar("T")

# Atera's numbers are doubles on the wire; we hold them as Decimal and send them back as JSON numbers.
WireDecimal = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class Dto(BaseModel):
    """A response payload: fields Atera adds later are ignored rather than failing a sync."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Request(BaseModel):
    """A request body: only the fields the OpenAPI description allows."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(Dto, Generic[T]):
    """One page of any list: `{"items", "page", "itemsInPage", "totalItemCount", "totalPages", "nextLink"}`."""

    items: list[T] | None = None
    page: int = 1
    itemsInPage: int = 0
    totalItemCount: int = 0
    totalPages: int = 0
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
    Amount: Decimal
    Description: str | None = None
    SKU: str | None = None
    Category: str | None = None


class RetainerFlatFeeContractDto(Dto):
    BillingPeriod: enums.BillingPeriod | None = None
    Quantity: Decimal | None = None
    Rate: RateDto | None = None


class HourlyContractDto(Dto):
    PrimaryRate: RateDto | None = None
    AdditionalRates: list[RateDto] | None = None
    BillingPeriod: enums.BillingPeriod | None = None


class BlockHoursContractDto(Dto):
    HoursIncluded: Decimal | None = None
    PricePerHour: RateDto | None = None
    OverageRate: RateDto | None = None
    CommitRollover: bool = False
    BillingPeriod: enums.BillingPeriod | None = None


class BlockMoneyContractDto(Dto):
    Amount: Decimal | None = None
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
    ValueAsDecimal: Decimal | None = None
    ValueAsDateTime: datetime | None = None
    ValueAsBool: bool | None = None


class InvoiceLineItemDto(Dto):
    Product: str | None = None
    Description: str | None = None
    Quantity: Decimal = Decimal(0)
    Rate: Decimal = Decimal(0)
    TaxPercentage: Decimal | None = None
    DiscountPercentage: Decimal | None = None
    Total: Decimal = Decimal(0)
    Subtotal: Decimal = Decimal(0)
    Tax: Decimal = Decimal(0)
    LineIdx: int | None = None


class InvoiceContactDetailsDto(Dto):
    CompanyName: str | None = None
    Email: str | None = None


class InvoiceDto(Dto):
    InvoiceId: str | None = None
    InvoiceNumber: int
    IsAdhoc: bool = False
    Total: Decimal = Decimal(0)
    Subtotal: Decimal = Decimal(0)
    Tax: Decimal = Decimal(0)
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
