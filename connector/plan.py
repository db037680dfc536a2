"""A planned line item: what the engine hands the PSA sink, and what the sink answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from mappings.enums import BillingPeriod

Identity = tuple[str, str, str, str]


@dataclass(frozen=True)
class PlannedLine:
    """One billable quantity for one PSA customer, contract, period and metric, priced and explained.

    Vendor usage reaches Atera as the Quantity of a Retainer/flat-fee contract whose rate is the unit price, so
    a line carries what the sink needs to find (or create) that contract and its rate product.
    """

    psa_customer: str
    contract: str
    period_key: str
    metric: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal
    billing_period: BillingPeriod = BillingPeriod.MONTHLY
    period_start: date | None = None
    period_end: date | None = None
    psa_customer_id: int | None = None
    contract_id: int | None = None
    rate_sku: str | None = None
    start_date: date | None = None
    create_if_missing: bool = False
    inputs: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def identity(self) -> Identity:
        return (self.psa_customer, self.contract, self.period_key, self.metric)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready form, kept in the outbox so a pending line can be pushed later without recomputing."""
        record = asdict(self)
        record.pop("inputs")
        return {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in record.items()}

    @classmethod
    def from_record(cls, record: dict[str, Any], inputs: dict[str, Any]) -> PlannedLine:
        def day(value: str | None) -> date | None:
            return date.fromisoformat(value) if value else None

        return cls(
            psa_customer=record["psa_customer"],
            contract=record["contract"],
            period_key=record["period_key"],
            metric=record["metric"],
            quantity=Decimal(record["quantity"]),
            unit=record["unit"],
            rate=Decimal(record["rate"]),
            amount=Decimal(record["amount"]),
            billing_period=BillingPeriod(record["billing_period"]),
            period_start=day(record.get("period_start")),
            period_end=day(record.get("period_end")),
            psa_customer_id=record.get("psa_customer_id"),
            contract_id=record.get("contract_id"),
            rate_sku=record.get("rate_sku"),
            start_date=day(record.get("start_date")),
            create_if_missing=bool(record.get("create_if_missing")),
            inputs=inputs,
        )


@dataclass(frozen=True)
class PushResult:
    """What the PSA holds after a push. `wrote` is False when it already held exactly this line."""

    psa_ref: str
    wrote: bool
    previous_quantity: Decimal | None = None


class Sink(Protocol):
    """Where planned lines go (the PSA). A push of a line the PSA already holds must write nothing."""

    def push(self, line: PlannedLine) -> PushResult: ...
