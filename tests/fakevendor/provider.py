"""A third backup vendor that exists only in the tests: seat counts per customer, declared as any provider is (this
manifest, and `factories.py` that builds its source)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from connector.core.secrets import SecretRef
from providers.spec import MetricSpec, Provider

SEATS = "seats.licensed"


class SeatsSettings(BaseModel):
    """`[seats]`: the seats each customer holds, as the vendor would report them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    seats: dict[str, int] = Field(default_factory=dict)


def _no_secrets(settings: SeatsSettings) -> dict[str, SecretRef]:
    return {}


PROVIDER = Provider(
    name="seats",
    role="source",
    settings=SeatsSettings,
    summary="a seat-licensing vendor of the tests",
    describe=lambda settings: f"{len(settings.seats)} customer(s)",
    secrets=_no_secrets,
    metrics=(MetricSpec(SEATS, "user", "licensed seats"),),
    # Its parts are built by the functions of this module, imported when a command first needs one.
    factories="tests.fakevendor.factories",
)
