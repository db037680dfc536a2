"""`[mapping] templates`: the lines they give a customer, with `{customer}` in a contract name made its own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from mappings.templates import MappingSettings


def templates(*contracts: str) -> MappingSettings:
    lines = [{"metric": "axcient.total_gb", "contract": c, "rate": "0.10"} for c in contracts]
    return MappingSettings.model_validate({"templates": {"axcient": lines}})


def test_a_customer_s_lines_carry_its_name_where_the_template_says_customer() -> None:
    mapping = templates("{customer} - online backup", "Server backup")
    lines = mapping.lines_for(["axcient"], "Tailspin Toys")
    assert [line.contract for line in lines] == ["Tailspin Toys - online backup", "Server backup"]
    assert lines[0].rate == Decimal("0.10") and lines[0].metric == "axcient.total_gb"
    # Without a customer the templates read as written, and they are never changed by a customer's copy.
    assert [line.contract for line in mapping.lines_for(["axcient"])] == ["{customer} - online backup", "Server backup"]
    assert mapping.lines_for(["altaro"], "Tailspin Toys") == []


@pytest.mark.parametrize("contract", ["{name} backup", "{customer backup", "backup }"])
def test_any_other_brace_is_refused_with_the_key(contract: str) -> None:
    with pytest.raises(ValidationError, match=r"templates\.axcient\[0\]\.contract: .* only \{customer\} is replaced"):
        templates(contract)
