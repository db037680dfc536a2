"""The sandbox Autotask's entities: every field of each model, its type, and the rules a write must keep.

The field tables follow the Swagger subset's models (`CompanyModel`, `ContractModel`, ...), less the .NET
`soapParentPropertyId`, which real answers do not fill in. Types are written short: `i32`/`i64` integers, `dbl`
numbers, `str`, `bool`, `dt` date-times, `udf` the user-defined-field list. The document says nothing of which
fields are required, read only, picklists or references (Autotask tells that at run time, through
`entityInformation/fields`); what the sandbox enforces and serves there is written here, and is the sandbox's own
plausible reading, not a copy of any instance's metadata.

Names are matched ignoring case, as Autotask does (`CompanyName` and `companyName` are one field); answers always
use the models' camelCase spelling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
DEFAULT_LENGTH = 255
DATA_TYPES = {"i32": "integer", "i64": "long", "dbl": "double", "str": "string", "bool": "boolean", "dt": "datetime"}


def _table(text: str) -> dict[str, str]:
    return dict(token.split(":") for token in text.split())


@dataclass(frozen=True)
class Entity:
    """One entity's fields and write rules."""

    name: str  # as in the path: Companies, Contracts, ...
    fields: dict[str, str]
    required: tuple[str, ...] = ()
    read_only: frozenset[str] = frozenset({"id"})  # set by the server: ignored in a body, never an error
    lengths: dict[str, int] = field(default_factory=dict)
    picklists: dict[str, dict[int, str]] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    not_queryable: frozenset[str] = frozenset()
    # Lower-cased name -> the model's spelling, for reading a request's names whatever their case.
    lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lookup", {name.lower(): name for name in self.fields})

    def canonical(self, name: str) -> str | None:
        return self.lookup.get(name.lower())


COMPANY_TYPES = {1: "Customer", 2: "Lead", 3: "Prospect", 4: "Dead", 6: "Cancellation", 7: "Vendor", 8: "Partner"}
CONTRACT_TYPES = {
    1: "Time and Materials",
    3: "Fixed Price",
    4: "Block Hours",
    6: "Retainer",
    7: "Recurring Service",
    8: "Per Ticket",
}
RECURRING_SERVICE = 7
CONTRACT_STATUSES = {0: "Inactive", 1: "Active"}
ACTIVE = 1
PERIOD_TYPES = {1: "Monthly", 2: "Quarterly", 3: "Semi-Annual", 4: "Yearly"}
MONTHLY = 1
PERIOD_MONTHS = {1: 1, 2: 3, 3: 6, 4: 12}

COMPANIES = Entity(
    "Companies",
    _table(
        """id:i64 additionalAddressInformation:str address1:str address2:str alternatePhone1:str alternatePhone2:str
        apiVendorID:i32 assetValue:dbl billToCompanyLocationID:i32 billToAdditionalAddressInformation:str
        billingAddress1:str billingAddress2:str billToAddressToUse:i32 billToAttention:str billToCity:str
        billToCountryID:i32 billToState:str billToZipCode:str city:str classification:i32 companyCategoryID:i32
        companyName:str companyNumber:str companyType:i32 competitorID:i32 countryID:i32 createDate:dt
        createdByResourceID:i32 currencyID:i32 fax:str impersonatorCreatorResourceID:i32 invoiceEmailMessageID:i32
        invoiceMethod:i32 invoiceNonContractItemsToParentCompany:bool invoiceTemplateID:i32 isActive:bool
        isClientPortalActive:bool isEnabledForComanaged:bool isSample:bool isTaskFireActive:bool isTaxExempt:bool
        lastActivityDate:dt lastTrackedModifiedDateTime:dt marketSegmentID:i32 ownerResourceID:i32
        parentCompanyID:i32 phone:str postalCode:str purchaseOrderTemplateID:i32 quoteEmailMessageID:i32
        quoteTemplateID:i32 sicCode:str state:str stockMarket:str stockSymbol:str surveyCompanyRating:dbl taxID:str
        taxRegionID:i32 territoryID:i32 webAddress:str userDefinedFields:udf"""
    ),
    required=("companyName", "companyType", "ownerResourceID", "phone"),
    read_only=frozenset(
        {"id", "createDate", "createdByResourceID", "impersonatorCreatorResourceID", "lastActivityDate"}
        | {"lastTrackedModifiedDateTime", "surveyCompanyRating", "apiVendorID", "isSample"}
    ),
    lengths={"companyName": 100, "phone": 25, "companyNumber": 50, "webAddress": 255, "city": 30},
    picklists={"companyType": COMPANY_TYPES},
    references={"ownerResourceID": "Resource", "parentCompanyID": "Company"},
)
CONTACTS = Entity(
    "Contacts",
    _table(
        """id:i64 additionalAddressInformation:str addressLine:str addressLine1:str alternatePhone:str
        apiVendorID:i32 bulkEmailOptOutTime:dt city:str companyID:i32 companyLocationID:i32 countryID:i32
        createDate:dt emailAddress:str emailAddress2:str emailAddress3:str extension:str externalID:str
        facebookUrl:str faxNumber:str firstName:str impersonatorCreatorResourceID:i32 isActive:i32
        isOptedOutFromBulkEmail:bool lastActivityDate:dt lastModifiedDate:dt lastName:str linkedInUrl:str
        middleInitial:str mobilePhone:str namePrefix:i32 nameSuffix:i32 note:str receivesEmailNotifications:bool
        phone:str primaryContact:bool billingContact:bool roomNumber:str solicitationOptOut:bool
        solicitationOptOutTime:dt state:str surveyOptOut:bool title:str twitterUrl:str zipCode:str
        userDefinedFields:udf"""
    ),
    required=("firstName", "lastName"),
    read_only=frozenset({"id", "createDate", "lastActivityDate", "lastModifiedDate", "impersonatorCreatorResourceID"}),
    lengths={"firstName": 50, "lastName": 50, "emailAddress": 254},
    picklists={"isActive": {0: "Inactive", 1: "Active"}},
    references={"companyID": "Company"},
)
CONTRACTS = Entity(
    "Contracts",
    _table(
        """id:i64 billingPreference:i32 billToCompanyContactID:i32 billToCompanyID:i32 companyID:i32 contactID:i32
        contactName:str contractCategory:i32 contractExclusionSetID:i32 contractName:str contractNumber:str
        contractPeriodType:i32 contractType:i32 description:str endDate:dt estimatedCost:dbl estimatedHours:dbl
        estimatedRevenue:dbl exclusionContractID:i64 internalCurrencyOverageBillingRate:dbl
        internalCurrencySetupFee:dbl isCompliant:bool isDefaultContract:bool lastModifiedDateTime:dt
        opportunityID:i32 organizationalLevelAssociationID:i32 overageBillingRate:dbl purchaseOrderNumber:str
        renewedContractID:i64 serviceLevelAgreementID:i32 setupFee:dbl setupFeeBillingCodeID:i64 startDate:dt
        status:i32 timeReportingRequiresStartAndStopTimes:i32 userDefinedFields:udf"""
    ),
    required=("companyID", "contractName", "contractType", "startDate", "status"),
    read_only=frozenset({"id", "contactName", "lastModifiedDateTime", "isCompliant", "renewedContractID"}),
    lengths={"contractName": 100, "contractNumber": 50, "description": 2000, "purchaseOrderNumber": 50},
    picklists={
        "contractType": CONTRACT_TYPES,
        "status": CONTRACT_STATUSES,
        "contractPeriodType": PERIOD_TYPES,
        "timeReportingRequiresStartAndStopTimes": {0: "No", 1: "Yes"},
    },
    references={"companyID": "Company", "contactID": "Contact", "billToCompanyID": "Company"},
)
SERVICES = Entity(
    "Services",
    _table(
        """id:i64 billingCodeID:i32 createDate:dt creatorResourceID:i32 description:str invoiceDescription:str
        isActive:bool lastModifiedDate:dt markupRate:dbl name:str periodType:i32 serviceLevelAgreementID:i64
        unitCost:dbl unitPrice:dbl updateResourceID:i32 vendorCompanyID:i32 manufacturerServiceProvider:str
        manufacturerServiceProviderProductNumber:str catalogNumberPartNumber:str sku:str internalID:str
        externalID:str url:str userDefinedFields:udf"""
    ),
    required=("name", "periodType", "unitPrice"),
    read_only=frozenset({"id", "createDate", "creatorResourceID", "lastModifiedDate", "updateResourceID"}),
    lengths={"name": 150, "sku": 50, "description": 400, "invoiceDescription": 1000},
    picklists={"periodType": PERIOD_TYPES},
    references={"vendorCompanyID": "Company"},
)
CONTRACT_SERVICES = Entity(
    "ContractServices",
    _table(
        """id:i64 contractID:i32 internalCurrencyAdjustedPrice:dbl internalCurrencyUnitPrice:dbl
        internalDescription:str invoiceDescription:str quoteItemID:i64 serviceID:i32 unitCost:dbl unitPrice:dbl"""
    ),
    required=("serviceID",),
    read_only=frozenset({"id", "internalCurrencyAdjustedPrice", "internalCurrencyUnitPrice"}),
    lengths={"invoiceDescription": 1000, "internalDescription": 100},
    references={"contractID": "Contract", "serviceID": "Service"},
)
ADJUSTMENTS = Entity(
    "ContractServiceAdjustments",
    _table(
        """id:i64 adjustedUnitCost:dbl adjustedUnitPrice:dbl allowRepeatService:bool contractID:i32
        contractServiceID:i32 effectiveDate:dt quoteItemID:i32 serviceID:i32 unitChange:i32"""
    ),
    required=("unitChange", "effectiveDate"),
    references={"contractID": "Contract", "contractServiceID": "ContractService", "serviceID": "Service"},
)
UNITS = Entity(
    "ContractServiceUnits",
    _table(
        """id:i64 approveAndPostDate:dt contractID:i32 contractServiceID:i32 cost:dbl endDate:dt
        internalCurrencyPrice:dbl organizationalLevelAssociationID:i32 price:dbl serviceID:i32 startDate:dt
        units:i32 vendorCompanyID:i32"""
    ),
)
INVOICES = Entity(
    "Invoices",
    _table(
        """id:i64 batchID:i32 comments:str companyID:i32 createDateTime:dt creatorResourceID:i32 dueDate:dt
        fromDate:dt invoiceDateTime:dt invoiceEditorTemplateID:i32 invoiceNumber:str invoiceTotal:dbl isVoided:bool
        orderNumber:str paidDate:dt paymentTerm:i32 taxGroup:i32 taxRegionName:str toDate:dt totalTaxValue:dbl
        voidedByResourceID:i32 voidedDate:dt webServiceDate:dt invoiceStatus:i32 invoiceTaxMethodExternalCode:str"""
    ),
    not_queryable=frozenset({"dueDate"}),  # the Invoices page says so
)
BILLING_ITEMS = Entity(
    "BillingItems",
    _table(
        """id:i64 accountManagerWhenApprovedID:i32 billingCodeID:i32 taxCategoryID:i32 billingItemType:i32
        companyID:i32 configurationItemID:i64 contractBlockID:i32 contractChargeID:i64 contractID:i32
        contractServiceAdjustmentID:i32 contractServiceBundleAdjustmentID:i32 contractServiceBundleID:i32
        contractServiceBundlePeriodID:i32 contractServiceID:i32 contractServicePeriodID:i32 description:str
        expenseItemID:i32 extendedPrice:dbl internalCurrencyExtendedPrice:dbl internalCurrencyRate:dbl
        internalCurrencyTaxDollars:dbl internalCurrencyTotalAmount:dbl invoiceID:i32 itemApproverID:i32 itemDate:dt
        itemName:str lineItemFullDescription:str lineItemGroupDescription:str milestoneID:i64 nonBillable:i32
        organizationalLevelAssociationID:i32 ourCost:dbl postedDate:dt postedOnTime:dt projectChargeID:i64
        projectID:i32 purchaseOrderNumber:str quantity:dbl rate:dbl roleID:i32 serviceBundleID:i64 serviceID:i64
        sortOrderID:i64 subType:i32 taskID:i32 taxDollars:dbl ticketChargeID:i64 ticketID:i32 timeEntryID:i32
        totalAmount:dbl vendorID:i64 webServiceDate:dt"""
    ),
    not_queryable=frozenset({"lineItemFullDescription", "lineItemGroupDescription"}),  # the BillingItems page says so
)
ENTITIES = {
    e.name: e
    for e in (COMPANIES, CONTACTS, CONTRACTS, SERVICES, CONTRACT_SERVICES, ADJUSTMENTS, UNITS, INVOICES, BILLING_ITEMS)
}


# -- values -------------------------------------------------------------------------------------------------------


def parse_moment(text: Any) -> datetime | None:
    """A date-time a client wrote, with or without a zone, as a naive date-time as written (no zone conversion:
    Autotask reads dates such as an adjustment's effective date as calendar dates); None when it is not one."""
    if not isinstance(text, str) or ("T" not in text and len(text) != 10):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


def wire(moment: datetime) -> str:
    """A date-time as Autotask writes it: to the second, without a zone designator."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _integer_problem(kind: str, value: Any, name: str) -> str | None:
    low, high = INT32 if kind == "i32" else INT64
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name}: {value!r} is not an integer"
    if not low <= value <= high:
        return f"{name}: {value} is out of range for a {DATA_TYPES[kind]}"
    return None


# What a value of each type must be, and how a refusal words it.
_FITS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "dbl": (lambda value: not isinstance(value, bool) and isinstance(value, int | float), "a number"),
    "str": (lambda value: isinstance(value, str), "a string"),
    "bool": (lambda value: isinstance(value, bool), "true or false"),
    "dt": (lambda value: parse_moment(value) is not None, "a date-time"),
    "udf": (lambda value: isinstance(value, list), "a list of user-defined fields"),
}


def value_problem(kind: str, value: Any, name: str) -> str | None:
    """Why `value` cannot be the value of a field of type `kind`; None when it can (null always can)."""
    if value is None:
        return None
    if kind in ("i32", "i64"):
        return _integer_problem(kind, value, name)
    fits, words = _FITS[kind]
    return None if fits(value) else f"{name}: {value!r} is not {words}"


def normalised(entity: Entity, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A body's fields under the model's names, with their values stored as the sandbox keeps them (date-times in
    the wire form); and the problems found (unknown fields, wrong types, too long, not in a picklist)."""
    record: dict[str, Any] = {}
    problems: list[str] = []
    for given, value in body.items():
        name = entity.canonical(given)
        if name is None:
            problems.append(f"{given}: {entity.name} has no such field")
            continue
        kind = entity.fields[name]
        problem = value_problem(kind, value, name)
        if problem is None and isinstance(value, str) and kind == "str":
            limit = entity.lengths.get(name, DEFAULT_LENGTH)
            if len(value) > limit:
                problem = f"{name}: longer than its maximum length of {limit}"
        if problem is None and name in entity.picklists and value is not None and value not in entity.picklists[name]:
            problem = f"{name}: {value} is not a value of its picklist"
        if problem is not None:
            problems.append(problem)
            continue
        if kind == "dt" and value is not None:
            moment = parse_moment(value)
            value = wire(moment) if moment is not None else value
        record[name] = value
    return record, problems


def missing(entity: Entity, record: dict[str, Any]) -> list[str]:
    return [f"{name}: a value is required" for name in entity.required if record.get(name) in (None, "")]


def field_information(entity: Entity) -> dict[str, Any]:
    """`GET /{Entity}/entityInformation/fields`: every field with its type, flags and picklist values."""
    fields = []
    for name, kind in entity.fields.items():
        if kind == "udf":
            continue  # user-defined fields have their own metadata call, which the subset leaves out
        picklist = entity.picklists.get(name)
        fields.append(
            {
                "name": name,
                "dataType": DATA_TYPES[kind],
                "length": entity.lengths.get(name, DEFAULT_LENGTH) if kind == "str" else 0,
                "isRequired": name in entity.required,
                "isReadOnly": name in entity.read_only,
                "isQueryable": name not in entity.not_queryable,
                "isReference": name in entity.references,
                "referenceEntityType": entity.references.get(name, ""),
                "isPickList": picklist is not None,
                "picklistValues": [
                    {
                        "value": str(code),
                        "label": label,
                        "isDefaultValue": False,
                        "sortOrder": order,
                        "parentValue": "",
                        "isActive": True,
                        "isSystem": True,
                    }
                    for order, (code, label) in enumerate(sorted((picklist or {}).items()), start=1)
                ]
                if picklist
                else None,
                "picklistParentValueField": "",
                "isSupportedWebhookField": False,
            }
        )
    return {"fields": fields}
