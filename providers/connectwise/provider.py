"""The ConnectWise PSA (Manage) as the registry knows it: settings, per-line options, secrets, read-only views, and
the module that builds its sink and checks (`factories.py`)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connector.core.secrets import SecretRef
from providers.connectwise.settings import ConnectWiseSettings
from providers.spec import CONFIG, FORMAT, Param, Provider, View


class ConnectWiseLineOptions(BaseModel):
    """`[customers.lines.connectwise]`: the agreement addition whose quantity carries the line.

    Without `agreement` or `agreement_id`, the line's own `contract` (or `contract_id`) names the agreement.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    agreement: str | None = Field(default=None, min_length=1, description="Name of the customer's agreement")
    agreement_id: int | None = Field(default=None, ge=1, description="The agreement's id; wins over its name")
    product: str | None = Field(
        default=None, min_length=1, description="Catalog item identifier (product ID) of the agreement addition"
    )
    addition_id: int | None = Field(default=None, ge=1, description="The addition's id; wins over the product")
    create_if_missing: bool = Field(
        default=False, description="Add the product to the agreement when the agreement has no addition of it"
    )

    @model_validator(mode="after")
    def _names_an_addition(self) -> ConnectWiseLineOptions:
        if self.product is None and self.addition_id is None:
            raise ValueError(
                "give product (the catalog item identifier of the agreement addition, e.g. product = "
                '"BKP-SERVER-GB") or addition_id: one of them says which addition carries the quantity'
            )
        if self.create_if_missing and self.product is None:
            raise ValueError("create_if_missing needs product: the catalog item the new addition is made of")
        return self


def _secrets(settings: ConnectWiseSettings) -> dict[str, SecretRef]:
    found = {"connectwise.public_key": settings.public_key, "connectwise.private_key": settings.private_key}
    return {key: ref for key, ref in found.items() if ref is not None}


VIEWS = (
    View(
        "companies",
        "List ConnectWise companies (ID, identifier and name, as psa_customer / psa_customer_id want them).",
        "providers.connectwise.views:companies",
    ),
    View(
        "agreements",
        "List agreements: company, type, status and dates of each.",
        "providers.connectwise.views:agreements",
        params=(CONFIG, Param("company_id", "Only this company's.", int, flag="--company-id"), FORMAT),
    ),
    View(
        "additions",
        "List an agreement's additions: product, quantity, unit price and billing of each.",
        "providers.connectwise.views:additions",
        params=(
            Param("agreement_id", "ConnectWise agreement id.", int, flag="--agreement-id", required=True),
            CONFIG,
            FORMAT,
        ),
    ),
    View(
        "invoices",
        "List invoices dated in a range: type, company, agreement and amounts (to reconcile with what was pushed).",
        "providers.connectwise.views:invoices",
        params=(
            Param("date_from", "First invoice date (yyyy-mm-dd).", date, flag="--from", required=True),
            Param("date_to", "Last invoice date (yyyy-mm-dd).", date, flag="--to", required=True),
            CONFIG,
            FORMAT,
        ),
    ),
)


PROVIDER = Provider(
    name="connectwise",
    role="psa",
    display_name="ConnectWise",
    settings=ConnectWiseSettings,
    summary="ConnectWise PSA (Manage): each line is the quantity of an agreement addition",
    describe=lambda settings: f"{settings.base_url} (company {settings.company_id or '?'})",
    secrets=_secrets,
    line_options=ConnectWiseLineOptions,
    views=VIEWS,
    views_help="Read the ConnectWise account the connector pushes to (nothing is written).",
    enable_hint="enable it (with company_id, public_key, private_key and client_id) to read from ConnectWise",
    factories="providers.connectwise.factories",
)
