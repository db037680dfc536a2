"""Pydantic models of the Autotask REST payloads the connector reads, spelled as the wire spells them (camelCase,
`companyID`), with the envelopes around them: a query page (`items` + `pageDetails`), one item (`item`) and the
answer to a write (`itemId`).

Only fields the connector reads are declared; the rest are ignored, so a field Autotask adds fails nothing. Every
field but an entity's `id` may be absent: a query with includeFields returns only the fields it names. Money and
quantities are Decimal, read from the number's own digits (`VendorHttp.decode` never goes through float), so 0.1
stays 0.1; identifiers, picklist codes and unit counts (int32 in the API) are int.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def utc_moment(moment: datetime) -> datetime:
    """An Autotask date-time as an aware UTC datetime.

    Autotask keeps date-times in UTC and writes them without a zone designator (`2026-11-01T00:00:00`, sometimes
    with up to seven fractional digits). Left naive, such a value would be read in the machine's own zone by
    whatever compares it with an aware instant, shifting it by hours; so a value without an offset is UTC as
    written, and one that does carry an offset is converted to UTC.
    """
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)


# A number Autotask sends: finite, or the payload is refused with its field named (a NaN is never billed).
Number = Annotated[Decimal, Field(allow_inf_nan=False)]
Moment = Annotated[datetime, AfterValidator(utc_moment)]

# What an envelope holds: a model, or the raw dicts a client validates item by item (to name the one that fails).
T = TypeVar("T")


class Dto(BaseModel):
    """A payload Autotask sends: unknown fields ignored, values frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class UserDefinedField(Dto):
    name: str
    value: str | None = None


class Entity(Dto):
    """A record with Autotask's int64 id (the one field every record has, whatever includeFields asked)."""

    id: int


class Company(Entity):
    companyName: str | None = None
    isActive: bool | None = None


class Contact(Entity):
    companyID: int | None = None
    firstName: str | None = None
    lastName: str | None = None
    emailAddress: str | None = None
    emailAddress2: str | None = None
    emailAddress3: str | None = None
    # An int32 in the API (1 active, 0 inactive), unlike the booleans of other entities.
    isActive: int | None = None

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.firstName, self.lastName) if part)

    def has_email(self, email: str) -> bool:
        wanted = email.strip().casefold()
        held = (self.emailAddress, self.emailAddress2, self.emailAddress3)
        return any((address or "").strip().casefold() == wanted for address in held)


class Contract(Entity):
    companyID: int | None = None
    contractName: str | None = None
    contractNumber: str | None = None
    # Picklists whose codes differ per database (read them with `AutotaskClient.picklist`), except contractType:
    # 7 is a Recurring Service contract.
    contractType: int | None = None
    contractPeriodType: int | None = None
    contractCategory: int | None = None
    status: int | None = None
    billingPreference: int | None = None
    billToCompanyID: int | None = None
    billToCompanyContactID: int | None = None
    contactID: int | None = None
    description: str | None = None
    isDefaultContract: bool | None = None
    purchaseOrderNumber: str | None = None
    setupFee: Number | None = None
    estimatedRevenue: Number | None = None
    startDate: Moment | None = None
    endDate: Moment | None = None
    lastModifiedDateTime: Moment | None = None
    renewedContractID: int | None = None
    organizationalLevelAssociationID: int | None = None
    userDefinedFields: list[UserDefinedField] = Field(default_factory=list)


class Service(Entity):
    """A catalogue service: its list price, billed per unit and period."""

    name: str | None = None
    isActive: bool | None = None
    unitPrice: Number | None = None
    sku: str | None = None


class ContractService(Entity):
    """A service on a Recurring Service contract, with the contract's price for it; it holds no unit count."""

    contractID: int | None = None
    serviceID: int | None = None
    unitPrice: Number | None = None
    unitCost: Number | None = None
    internalCurrencyUnitPrice: Number | None = None
    internalCurrencyAdjustedPrice: Number | None = None
    invoiceDescription: str | None = None
    internalDescription: str | None = None
    quoteItemID: int | None = None


class ContractServiceUnit(Entity):
    """The units of a contract service over one date range (a billing period, or the part of it an adjustment
    starts); read only."""

    contractID: int | None = None
    contractServiceID: int | None = None
    serviceID: int | None = None
    units: int | None = None
    startDate: Moment | None = None
    endDate: Moment | None = None


class Invoice(Entity):
    """An invoice; it names no contract: its lines are the billing items whose invoiceID is its id."""

    companyID: int | None = None
    invoiceNumber: str | None = None
    invoiceDateTime: Moment | None = None
    fromDate: Moment | None = None
    toDate: Moment | None = None
    createDateTime: Moment | None = None
    dueDate: Moment | None = None
    paidDate: Moment | None = None
    batchID: int | None = None
    invoiceTotal: Number | None = None
    totalTaxValue: Number | None = None
    isVoided: bool | None = None
    voidedDate: Moment | None = None
    invoiceStatus: int | None = None
    paymentTerm: int | None = None
    taxGroup: int | None = None
    taxRegionName: str | None = None
    orderNumber: str | None = None
    comments: str | None = None
    webServiceDate: Moment | None = None


class BillingItem(Entity):
    """An approved and posted charge; invoiced once invoiceID is set."""

    companyID: int | None = None
    contractID: int | None = None
    contractServiceID: int | None = None
    serviceID: int | None = None
    invoiceID: int | None = None
    itemDate: Moment | None = None
    postedDate: Moment | None = None
    webServiceDate: Moment | None = None
    quantity: Number | None = None
    rate: Number | None = None
    extendedPrice: Number | None = None


class ZoneInformation(Dto):
    zoneName: str | None = None
    url: str


class Threshold(Dto):
    """`ThresholdStatusResultModel`: the database's request threshold, over how many minutes, and the count so far.

    The threshold is shared by every integration of the database; when it is passed, Autotask refuses every one of
    them until the window clears, so a run checks it before it starts pushing.
    """

    externalRequestThreshold: int = Field(ge=0)
    requestThresholdTimeframe: int = Field(ge=0)
    currentTimeframeRequestCount: int = Field(ge=0)

    @property
    def left(self) -> int:
        """Requests the database may still send in the current window (0 once at or over the threshold)."""
        return max(0, self.externalRequestThreshold - self.currentTimeframeRequestCount)

    def allows_pushes(self, stop_at: float) -> bool:
        """Whether the window's count is below `stop_at` (a share, `[autotask] stop_pushes_at`) of the threshold.
        Compared as decimals: 0.8 of 10,000 is 8,000, not a float a hair above it."""
        return Decimal(self.currentTimeframeRequestCount) < Decimal(str(stop_at)) * self.externalRequestThreshold


class PicklistValue(Dto):
    value: str
    label: str | None = None
    isDefaultValue: bool | None = None
    isActive: bool | None = None


class FieldInformation(Dto):
    name: str
    isRequired: bool | None = None
    isReadOnly: bool | None = None
    isPickList: bool | None = None
    picklistValues: list[PicklistValue] | None = None


class FieldInformationResult(Dto):
    fields: list[FieldInformation]


class PageDetails(Dto):
    count: int = Field(ge=0)
    nextPageUrl: str | None = None


class QueryPage(Dto, Generic[T]):
    """One page of a query: its records and what Autotask says of the page."""

    items: list[T]
    pageDetails: PageDetails


class ItemResult(Dto, Generic[T]):
    """One record by id; Autotask answers `{"item": null}` for an id it does not hold (or does not show)."""

    item: T | None = None


class OperationResult(Dto):
    """The answer to a create or an update: the record's id."""

    itemId: int = Field(gt=0, strict=True)


class ErrorResult(Dto):
    """The body Autotask answers a refused request with: `{"errors": ["...", ...]}`."""

    errors: list[str] = Field(default_factory=list)
