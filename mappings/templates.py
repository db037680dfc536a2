"""`[mapping]`: the billing lines a written or auto-matched customer gets per source, and whether exact names bill."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mappings.customer import LineMapping, StrictModel


class MappingSettings(StrictModel):
    """Defaults for customers nobody typed a block for: `connector map --write` and `auto_match = "exact"`."""

    auto_match: Literal["off", "exact"] = Field(
        default="off", description="exact: a vendor customer whose normalised name is one PSA customer's bills unmapped"
    )
    templates: dict[str, list[LineMapping]] = Field(
        default_factory=dict, description="Billing lines by source, given to every written or auto-matched customer"
    )

    @model_validator(mode="after")
    def _lines_of_their_source(self) -> MappingSettings:
        # A template is copied into blocks that name only its source's customer: another source's metric would
        # be a line no vendor customer of the block measures.
        for source, lines in self.templates.items():
            for index, line in enumerate(lines):
                if line.source != source:
                    raise ValueError(f"templates.{source}[{index}].metric: {line.metric} is not a {source} metric")
        return self

    def lines_for(self, sources: list[str]) -> list[LineMapping]:
        """The template lines of these sources, in order."""
        return [line for source in sources for line in self.templates.get(source, [])]
