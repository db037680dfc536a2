"""The store's JSON skips the redaction walk only when the walk could change nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connector.core.redact import redact_data, register_secret
from connector.store.database import to_json

SECRET = 'k3y"wi/th\\odd-chärs'
register_secret(SECRET)

pieces = st.sampled_from(
    [SECRET, json.dumps(SECRET)[1:-1], "x-api-key: v", "AUTHORIZATION=bearer t", "x-api-\u212aey: v", "plain", "ä"]
)
texts = st.lists(st.one_of(pieces, st.text(max_size=5)), max_size=4).map("".join)
values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(texts, st.integers(), st.none()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)


@given(values)
def test_to_json_is_the_full_walk(value: Any) -> None:
    assert to_json(value) == json.dumps(redact_data(value), sort_keys=True, default=str)
