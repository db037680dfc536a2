"""The `conditions` ConnectWise lists are filtered by: values written so no text can change a condition's meaning,
and `in (...)` lists split so URLs stay short. The sandbox's reader of the language agrees with what is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.connectwise import conditions as cond
from providers.connectwise import sandbox_conditions


def test_strings_are_double_quoted_with_quotes_and_backslashes_escaped() -> None:
    assert cond.quoted("Contoso Ltd") == '"Contoso Ltd"'
    assert cond.quoted('Say "hi"') == '"Say \\"hi\\""'
    assert cond.quoted("C:\\backup") == '"C:\\\\backup"'
    assert cond.equals("name", 'a" or id > 0 or name = "b') == 'name = "a\\" or id > 0 or name = \\"b"'


def test_ids_flags_numbers_and_date_times_are_written_bare_or_bracketed() -> None:
    assert cond.equals("company/id", 251) == "company/id = 251"
    assert cond.equals("cancelledFlag", False) == "cancelledFlag = false"
    assert cond.equals("quantity", Decimal("12.50")) == "quantity = 12.50"
    assert cond.equals("cancelledDate", None) == "cancelledDate = null"
    berlin = timezone(timedelta(hours=1))
    assert cond.compare("date", ">=", datetime(2026, 11, 1, 0, 0, tzinfo=berlin)) == "date >= [2026-10-31T23:00:00Z]"
    assert cond.both("a = 1", "b = 2 or c = 3") == "(a = 1) and (b = 2 or c = 3)"


def test_a_field_or_operator_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a ConnectWise field"):
        cond.equals("name = 1 or id", 2)
    with pytest.raises(ValueError, match="not a comparison"):
        cond.compare("id", "like", 2)
    with pytest.raises(ValueError):
        cond.literal(Decimal("NaN"))


def test_a_long_in_list_is_split_so_every_condition_stays_short() -> None:
    ids = list(range(100_000, 100_400))
    parts = list(cond.one_of("company/id", [*ids, ids[0]]))
    assert len(parts) > 1
    assert all(len(p) <= cond.MAX_CONDITION_LENGTH and p.startswith("company/id in (") for p in parts)
    found = [int(n) for p in parts for n in p.removeprefix("company/id in (").removesuffix(")").split(",")]
    assert found == ids  # each once, in order
    assert list(cond.one_of("id", [])) == []
    assert list(cond.one_of("id", [3, 1])) == ["id in (3,1)"]


@given(st.text(max_size=40))
def test_any_text_reads_back_as_itself(text: str) -> None:
    test = sandbox_conditions.parse(cond.equals("name", text))
    assert test({"name": text})
    assert not test({"name": text + "x"})


def test_a_date_time_condition_is_read_as_the_instant_written() -> None:
    test = sandbox_conditions.parse(cond.compare("date", "<", datetime(2026, 11, 1, tzinfo=UTC)))
    assert test({"date": "2026-10-31T23:59:59Z"})
    assert not test({"date": "2026-11-01T00:00:00Z"})
