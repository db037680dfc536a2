"""`[mapping]`: the lines a written, auto-matched or created customer gets per source; whether exact names bill."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mappings.customer import LineMapping, StrictModel

# In a template's contract name, the PSA customer's name: "{customer} - online backup" names each customer's own.
CUSTOMER = "{customer}"


class MappingSettings(StrictModel):
    """Defaults for customers nobody typed a block for: `map --write`, `auto_match = "exact"`, `--create-customers`."""

    auto_match: Literal["off", "exact"] = Field(
        default="off", description="exact: a vendor customer whose normalised name is one PSA customer's bills unmapped"
    )
    templates: dict[str, list[LineMapping]] = Field(
        default_factory=dict,
        description="Billing lines by source, given to every written, auto-matched or created customer; a contract "
        "name may hold {customer}",
    )

    @model_validator(mode="after")
    def _lines_of_their_source(self) -> MappingSettings:
        # A template is copied into blocks that name only its source's customer: another source's metric would
        # be a line no vendor customer of the block measures.
        for source, lines in self.templates.items():
            for index, line in enumerate(lines):
                if line.source != source:
                    raise ValueError(f"templates.{source}[{index}].metric: {line.metric} is not a {source} metric")
                if "{" in line.contract.replace(CUSTOMER, "") or "}" in line.contract.replace(CUSTOMER, ""):
                    raise ValueError(
                        f"templates.{source}[{index}].contract: {line.contract!r}: only {CUSTOMER} is replaced "
                        "(by the PSA customer's name)"
                    )
        return self

    def lines_for(self, sources: list[str], customer: str | None = None) -> list[LineMapping]:
        """The template lines of these sources, in order; for a `customer`, with its name in their contract names."""
        lines = [line for source in sources for line in self.templates.get(source, [])]
        if customer is None:
            return lines
        return [
            line.model_copy(update={"contract": line.contract.replace(CUSTOMER, customer)})
            if CUSTOMER in line.contract
            else line
            for line in lines
        ]
