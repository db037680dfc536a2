"""Autotask PSA as the registry knows it: settings, per-line options, secrets, how a quantity becomes whole units,
and the module that builds its sink and checks (`factories.py`).

An adjustment's change is a whole number, so a quantity in GB is rounded once, by the line's `round` option, before
it is priced (the amount is what Autotask invoices), and `explain` says how (`billed_units`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connector.core.secrets import SecretRef
from providers.autotask.settings import AutotaskSettings
from providers.spec import CONFIG, FORMAT, Param, Provider, View


class AutotaskLineOptions(BaseModel):
    """`[customers.lines.autotask]`: the Recurring Service contract service whose units carry the line.

    Without `contract` or `contract_id`, the line's own `contract` (or `contract_id`) names the Autotask contract.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    contract: str | None = Field(default=None, min_length=1, description="Name of the customer's contract")
    contract_id: int | None = Field(default=None, ge=1, description="The contract's id; wins over its name")
    service: str | None = Field(
        default=None, min_length=1, description="Name or SKU of the catalogue service whose units carry the line"
    )
    service_id: int | None = Field(default=None, ge=1, description="The catalogue service's id; wins over its name")
    contract_service_id: int | None = Field(
        default=None, ge=1, description="The contract service's own id; wins over the service"
    )
    create_if_missing: bool = Field(
        default=False, description="Add the service to the contract when the contract does not bill it yet"
    )
    round: Literal["up", "nearest"] = Field(
        default="up", description='How the quantity becomes whole units: "up" (the default) or "nearest"'
    )

    @model_validator(mode="after")
    def _names_a_service(self) -> AutotaskLineOptions:
        if self.service is None and self.service_id is None and self.contract_service_id is None:
            raise ValueError(
                "give service (the name or SKU of the catalogue service whose units carry the line, e.g. service = "
                '"BKP-SERVER-GB"), service_id or contract_service_id: one of them says which service'
            )
        if self.create_if_missing and self.service is None and self.service_id is None:
            raise ValueError("create_if_missing needs service or service_id: the catalogue service to add")
        return self


ROUNDINGS = {"up": ROUND_CEILING, "nearest": ROUND_HALF_UP}


def billed_units(options: Mapping[str, Any], quantity: Decimal) -> tuple[Decimal, str]:
    """The whole units a measured quantity bills ("up", the default, or "nearest": half a unit goes up), and the
    words `explain` shows for it."""
    how = str(options.get("round") or "up")
    units = quantity.to_integral_value(ROUNDINGS.get(how, ROUND_CEILING))
    if units == quantity:
        return units, f"{units} whole units, as measured"
    return units, f"{quantity} measured, rounded {how} to {units} whole units (Autotask bills whole units)"


def _secrets(settings: AutotaskSettings) -> dict[str, SecretRef]:
    found = {
        "autotask.username": settings.username,
        "autotask.secret": settings.secret,
        "autotask.integration_code": settings.integration_code,
    }
    return {key: ref for key, ref in found.items() if ref is not None}


VIEWS = (
    View(
        "companies",
        "List Autotask companies (ID and name, as psa_customer / psa_customer_id want them).",
        "providers.autotask.views:companies",
    ),
    View(
        "contracts",
        "List Recurring Service contracts: company, name, status and dates of each.",
        "providers.autotask.views:contracts",
        params=(CONFIG, Param("company_id", "Only this company's.", int, flag="--company-id"), FORMAT),
    ),
    View(
        "services",
        "List a contract's services: catalogue service, unit price and this month's units.",
        "providers.autotask.views:services",
        params=(
            Param("contract_id", "Autotask contract id.", int, flag="--contract-id", required=True),
            CONFIG,
            FORMAT,
        ),
    ),
    View(
        "invoices",
        "List invoices dated in a range: company, dates and total (to reconcile with what was pushed).",
        "providers.autotask.views:invoices",
        params=(
            Param("date_from", "First invoice date (yyyy-mm-dd).", date, flag="--from", required=True),
            Param("date_to", "Last invoice date (yyyy-mm-dd).", date, flag="--to", required=True),
            CONFIG,
            FORMAT,
        ),
    ),
)


PROVIDER = Provider(
    name="autotask",
    role="psa",
    settings=AutotaskSettings,
    summary="Autotask PSA: each line is the units of a Recurring Service contract's service in its period",
    describe=lambda settings: f"zone found through {settings.zone_lookup_url}",
    secrets=_secrets,
    line_options=AutotaskLineOptions,
    views=VIEWS,
    views_help="Read the Autotask database the connector pushes to (nothing is written).",
    enable_hint="enable it (with username, secret and integration_code) to read from Autotask",
    factories="providers.autotask.factories",
    billed_quantity=billed_units,
)
