"""PSA contract models: the header every contract has and the terms of each of Atera's eight types."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from mappings.enums import BillingPeriod, ContractType, CountBy
from mappings.money import MB_PER_GB_CHOICES, to_decimal
from mappings.periods import Period, period_containing

DEFAULT_TERM_YEARS = 3
PRIMARY_RATE = "primary"

DEVICE_COUNT_BYS = frozenset(
    {
        CountBy.PC_AGENTS,
        CountBy.SERVER_AGENTS,
        CountBy.MAC_AGENTS,
        CountBy.OTHER_DEVICES,
        CountBy.AGENTS_ONLY,
        CountBy.ALL,
    }
)
GB_COUNT_BYS = frozenset({CountBy.PCS_TOTAL_GB, CountBy.SERVERS_TOTAL_GB, CountBy.TOTAL_GB})


def _exact(value: object) -> object:
    # A float from TOML or JSON would smuggle binary rounding into money: read it through its shortest text.
    if isinstance(value, float | str) and not isinstance(value, bool):
        return to_decimal(value)
    return value


# Money and quantities: exact, never negative.
Amount = Annotated[Decimal, BeforeValidator(_exact), Field(ge=0, allow_inf_nan=False)]


def _check_additional_rates(rates: dict[str, Decimal]) -> dict[str, Decimal]:
    for name in rates:
        # The primary rate's metric is "hours:primary"; an additional rate so named would share its identity.
        if not name.strip() or name == PRIMARY_RATE:
            raise ValueError(f"an additional rate cannot be named {name!r}")
    return rates


# Atera's AdditionalRates, by rate name (the RateDto's Description).
RateTable = Annotated[dict[str, Amount], AfterValidator(_check_additional_rates)]


class _Model(BaseModel):
    """Unknown keys are typos or a payload we misread; refuse them so the error names the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RetainerFlatFeeTerms(_Model):
    """RetainerFlatFeeContract: Quantity x Rate each period; vendor usage reaches Atera as the Quantity."""

    contract_type: ClassVar[ContractType] = ContractType.RETAINER_FLAT_FEE
    billing_period: BillingPeriod
    quantity: Amount = Decimal(1)
    rate: Amount


class HourlyTerms(_Model):
    """HourlyContract: billable hours, each at the primary rate or a named additional rate."""

    contract_type: ClassVar[ContractType] = ContractType.HOURLY
    billing_period: BillingPeriod
    primary_rate: Amount
    additional_rates: RateTable = Field(default_factory=dict)


class BlockHoursTerms(_Model):
    """BlockHoursContract: a block of hours sold each period, overage beyond it at OverageRate."""

    contract_type: ClassVar[ContractType] = ContractType.BLOCK_HOURS
    billing_period: BillingPeriod
    hours_included: Amount
    price_per_hour: Amount
    overage_rate: Amount
    commit_rollover: bool = False


class BlockMoneyTerms(_Model):
    """BlockMoneyContract: an amount sold each period, drawn down by hours at their rates."""

    contract_type: ClassVar[ContractType] = ContractType.BLOCK_MONEY
    billing_period: BillingPeriod
    contract_amount: Amount
    primary_rate: Amount
    additional_rates: RateTable = Field(default_factory=dict)
    commit_rollover: bool = False


class RemoteMonitoringTerms(_Model):
    """RemoteMonitoringContract: devices counted as CountBy says, at RatePerDevice."""

    contract_type: ClassVar[ContractType] = ContractType.REMOTE_MONITORING
    billing_period: BillingPeriod
    rate_per_device: Amount
    count_by: CountBy

    @field_validator("count_by")
    @classmethod
    def _counts_devices(cls, value: CountBy) -> CountBy:
        if value not in DEVICE_COUNT_BYS:
            allowed = ", ".join(sorted(c.value for c in DEVICE_COUNT_BYS))
            raise ValueError(f"a RemoteMonitoring contract counts devices ({allowed}), not {value.value}")
        return value


class OnlineBackupTerms(_Model):
    """OnlineBackupContract: GB of PCs, servers or both, at RatePerGB."""

    contract_type: ClassVar[ContractType] = ContractType.ONLINE_BACKUP
    billing_period: BillingPeriod
    rate_per_gb: Amount
    count_by: CountBy
    mb_per_gb: int = 1024

    @field_validator("count_by")
    @classmethod
    def _counts_gb(cls, value: CountBy) -> CountBy:
        if value not in GB_COUNT_BYS:
            allowed = ", ".join(sorted(c.value for c in GB_COUNT_BYS))
            raise ValueError(f"an OnlineBackup contract counts GB ({allowed}), not {value.value}")
        return value

    @field_validator("mb_per_gb")
    @classmethod
    def _known_gb(cls, value: int) -> int:
        if value not in MB_PER_GB_CHOICES:
            raise ValueError(f"mb_per_gb must be 1024 or 1000, not {value}")
        return value


class ProjectOneTimeFeeTerms(_Model):
    """ProjectOneTimeFeeContract: TotalAmount, billed once."""

    contract_type: ClassVar[ContractType] = ContractType.PROJECT_ONE_TIME_FEE
    total_amount: Amount


class ProjectHourlyRateTerms(_Model):
    """ProjectHourlyRateContract: project hours at the primary rate or a named additional rate."""

    contract_type: ClassVar[ContractType] = ContractType.PROJECT_HOURLY_RATE
    primary_rate: Amount
    additional_rates: RateTable = Field(default_factory=dict)


ContractTerms = (
    RetainerFlatFeeTerms
    | HourlyTerms
    | BlockHoursTerms
    | BlockMoneyTerms
    | RemoteMonitoringTerms
    | OnlineBackupTerms
    | ProjectOneTimeFeeTerms
    | ProjectHourlyRateTerms
)

TERMS_BY_TYPE: dict[ContractType, type[ContractTerms]] = {
    terms.contract_type: terms
    for terms in (
        RetainerFlatFeeTerms,
        HourlyTerms,
        BlockHoursTerms,
        BlockMoneyTerms,
        RemoteMonitoringTerms,
        OnlineBackupTerms,
        ProjectOneTimeFeeTerms,
        ProjectHourlyRateTerms,
    )
}

PROJECT_TYPES = frozenset({ContractType.PROJECT_ONE_TIME_FEE, ContractType.PROJECT_HOURLY_RATE})


def _under(field: str, title: str, error: ValidationError) -> ValidationError:
    """The same errors, located under `field`, so a message says `terms.rate`, not a bare `rate`."""
    details: list[InitErrorDetails] = [
        {
            "type": item["type"],
            "loc": (field, *item["loc"]),
            "input": item["input"],
            "ctx": item.get("ctx", {}),
        }
        for item in error.errors()
    ]
    return ValidationError.from_exception_data(title, details)


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; Feb 29 becomes Feb 28 when the target year has none."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class ContractHeader(_Model):
    """The fields every Atera contract has (ContractDto without its type's sub-object)."""

    customer_id: int | None = None
    customer_name: str = Field(min_length=1)
    contract_id: int | None = None
    name: str = Field(min_length=1)
    type: ContractType
    active: bool = True
    default: bool = False
    taxable: bool = False
    start_date: date
    end_date: date | None = None
    sla: str | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> ContractHeader:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"contract {self.name!r} ends {self.end_date}, before {self.start_date}")
        return self

    @property
    def effective_end_date(self) -> date:
        """The end date, or start + 3 years when none is given (as Atera defaults it)."""
        return self.end_date if self.end_date is not None else add_years(self.start_date, DEFAULT_TERM_YEARS)


class Contract(ContractHeader):
    """A PSA contract: header plus the terms of its type."""

    terms: ContractTerms

    @model_validator(mode="before")
    @classmethod
    def _terms_of_the_declared_type(cls, data: Any) -> Any:
        # A plain union would pick whichever terms model happens to fit (Hourly and ProjectHourlyRate look
        # alike), so the declared type chooses the model and its errors name that type's fields.
        if isinstance(data, dict) and isinstance(data.get("terms"), dict) and "type" in data:
            try:
                contract_type = ContractType(data["type"])
            except ValueError:
                return data  # the field validator reports the bad type
            try:
                terms = TERMS_BY_TYPE[contract_type].model_validate(data["terms"])
            except ValidationError as error:
                raise _under("terms", cls.__name__, error) from None
            return {**data, "terms": terms}
        return data

    @model_validator(mode="after")
    def _terms_match_type(self) -> Contract:
        expected = TERMS_BY_TYPE[self.type]
        if type(self.terms) is not expected:
            raise ValueError(
                f"contract {self.name!r} is {self.type.value} and needs {expected.__name__}, "
                f"not {type(self.terms).__name__}"
            )
        return self

    @property
    def is_project(self) -> bool:
        return self.type in PROJECT_TYPES

    @property
    def billing_period(self) -> BillingPeriod:
        """The terms' billing period; projects have none in Atera and bill over the whole contract."""
        if isinstance(self.terms, ProjectOneTimeFeeTerms | ProjectHourlyRateTerms):
            return BillingPeriod.END_OF_CONTRACT_DURATION
        return self.terms.billing_period

    def period_containing(self, day: date) -> Period:
        """This contract's billing period that contains `day`."""
        return period_containing(
            self.billing_period, day, contract_start=self.start_date, contract_end=self.effective_end_date
        )
