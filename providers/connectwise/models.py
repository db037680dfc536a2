"""Pydantic models of the ConnectWise PSA payloads the connector reads, named and spelled as the OpenAPI description
spells them; only the fields the connector uses (the rest are ignored, so a field ConnectWise adds fails nothing)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from providers.connectwise.dates import as_utc

# A number ConnectWise sends: finite, or the payload is refused with its field (never a NaN compared or billed).
Number = Annotated[Decimal, Field(allow_inf_nan=False)]
# Every timestamp is kept in UTC, whatever offset it came with.
Moment = Annotated[datetime, AfterValidator(as_utc)]

AgreementStatus = Literal["Active", "Cancelled", "Expired", "Inactive"]
BillCustomer = Literal["Billable", "DoNotBill", "NoCharge"]
InvoiceType = Literal["Agreement", "CreditMemo", "DownPayment", "Miscellaneous", "Progress", "Standard"]


class Dto(BaseModel):
    """A response payload: fields ConnectWise adds later are ignored rather than failing a sync."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ErrorResponse(Dto):
    """`ErrorResponseMessage`, the one error shape the description has."""

    code: str | None = None
    message: str | None = None
    errors: list[dict[str, Any]] | None = None

    def describe(self) -> str:
        details = [
            ": ".join(str(e[key]) for key in ("field", "message") if e.get(key))
            for e in self.errors or []
            if isinstance(e, dict)
        ]
        text = "; ".join(part for part in (self.message, *details) if part)
        return text or self.code or "no details given"


class CompanyRef(Dto):
    id: int | None = None
    identifier: str | None = None
    name: str | None = None


class NamedRef(Dto):
    """A reference the connector reads the id and name of (agreement type, billing status, billing cycle)."""

    id: int | None = None
    name: str | None = None


class AgreementRef(Dto):
    id: int | None = None
    name: str | None = None
    type: str | None = None


class ProductRef(Dto):
    """`IvItemReference`: the catalog item an addition bills."""

    id: int | None = None
    identifier: str | None = None


class CustomFieldValue(Dto):
    id: int | None = None
    caption: str | None = None
    type: str | None = None
    entryMethod: str | None = None
    numberOfDecimals: int | None = None
    value: Any = None
    connectWiseId: str | None = None


class Company(Dto):
    id: int
    identifier: str | None = None
    name: str
    status: NamedRef | None = None
    deletedFlag: bool | None = None
    # Its company types (Client, Prospect, ...): ConnectWise takes them on the POST that creates it only.
    types: list[NamedRef] = Field(default_factory=list)


class Agreement(Dto):
    id: int
    name: str
    type: NamedRef | None = None
    company: CompanyRef
    startDate: Moment | None = None
    endDate: Moment | None = None
    noEndingDateFlag: bool | None = None
    cancelledFlag: bool | None = None
    dateCancelled: Moment | None = None
    agreementStatus: AgreementStatus | None = None
    billingCycle: NamedRef | None = None
    # The agreement's own recurring amount, billed each cycle beside its additions.
    billAmount: Number | None = None

    @property
    def status(self) -> str:
        """Active, Cancelled, Expired or Inactive; a cancelled flag says Cancelled whatever the status says."""
        return "Cancelled" if self.cancelledFlag else (self.agreementStatus or "Active")


class Addition(Dto):
    id: int
    product: ProductRef
    agreementId: int | None = None
    description: str | None = None
    quantity: Number | None = None
    lessIncluded: Number | None = None
    unitPrice: Number | None = None
    unitCost: Number | None = None
    billCustomer: BillCustomer | None = None
    effectiveDate: Moment | None = None
    cancelledDate: Moment | None = None
    agreementStatus: AgreementStatus | None = None
    uom: str | None = None
    extPrice: Number | None = None
    customFields: list[CustomFieldValue] = Field(default_factory=list)

    def custom_field(self, caption: str) -> CustomFieldValue | None:
        """The custom field with this caption (case and surrounding spaces ignored), or None."""
        wanted = caption.strip().casefold()
        return next((f for f in self.customFields if (f.caption or "").strip().casefold() == wanted), None)


class CatalogItem(Dto):
    id: int
    identifier: str
    description: str | None = None
    price: Number | None = None
    cost: Number | None = None
    inactiveFlag: bool | None = None
    recurringFlag: bool | None = None
    # What a catalog item is filed under: a new one needs both (onboarding copies them from one held).
    subcategory: NamedRef | None = None
    type: NamedRef | None = None
    productClass: str | None = None


class Invoice(Dto):
    id: int
    invoiceNumber: str | None = None
    type: InvoiceType | None = None
    status: NamedRef | None = None
    company: CompanyRef | None = None
    agreement: AgreementRef | None = None
    applyToType: str | None = None
    applyToId: int | None = None
    date: Moment | None = None
    subtotal: Number | None = None
    total: Number | None = None
    salesTax: Number | None = None
    agreementAmount: Number | None = None
    productTotal: Number | None = None
    balance: Number | None = None


class SystemInfo(Dto):
    version: str | None = None
    isCloud: bool | None = None
    serverTimeZone: str | None = None
    cloudRegion: str | None = None


class CommunicationItem(Dto):
    """`ContactCommunicationItem`: one of a contact's e-mail addresses, phone or fax numbers."""

    id: int | None = None
    type: NamedRef | None = None
    value: str | None = None
    defaultFlag: bool | None = None
    communicationType: str | None = None

    @property
    def is_email(self) -> bool:
        kind = self.communicationType or (self.type.name if self.type is not None else None)
        return (kind or "").strip().casefold() == "email"


class Contact(Dto):
    id: int
    firstName: str | None = None
    lastName: str | None = None
    company: CompanyRef | None = None
    defaultFlag: bool | None = None
    inactiveFlag: bool | None = None
    communicationItems: list[CommunicationItem] = Field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.firstName, self.lastName) if part)

    def has_email(self, email: str) -> bool:
        wanted = email.strip().casefold()
        return any(i.is_email and (i.value or "").strip().casefold() == wanted for i in self.communicationItems)


class AgreementType(Dto):
    """An agreement type and the defaults a new agreement of it takes (those ConnectWise requires on updates)."""

    id: int
    name: str
    inactiveFlag: bool | None = None
    billTime: str | None = None
    billExpenses: str | None = None
    billProducts: str | None = None
    employeeCompRate: str | None = None
    employeeCompNotExceed: str | None = None
    invoicingCycle: str | None = None
    billingCycle: NamedRef | None = None
