"""Properties of the portal's payload models: any JSON the portal could send becomes finite, non-negative, plausible
Decimals or an invalid item named by its id; nothing else is raised, and usage computed from what validates is
always billable."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connector.interfaces.usage import quantity_problem
from providers.axcient.client import Listing, validate_items
from providers.axcient.models import MAX_ACCOUNT_MB, Account, Customer, ErrorBody, Page, Session
from providers.axcient.usage import UsageRules, compute_customer

EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Number tokens as they may appear in a body, read as the client reads them (json.loads, parse_float=Decimal):
# exponents far past any Decimal context, NaN and Infinity literals, negative zero, long fractions.
NUMBER_TOKEN = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,10})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "-0", "1e400", "1e-400", "9223372036854775807"]),
)
ODD_TEXT = st.sampled_from(["", " ", "\ud800", "x\udc00", "\x00", "NaN", "1e400", "-1", "PC", " Server ", "ACTIVE"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    ODD_TEXT,
    NUMBER_TOKEN.map(lambda token: json.loads(token, parse_float=Decimal)),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def field(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: mostly what the portal means to send, sometimes anything at all."""
    return st.one_of(plausible, plausible, JSON)


MEGABYTES = st.one_of(
    st.integers(min_value=0, max_value=10**7), NUMBER_TOKEN.map(lambda token: json.loads(token, parse_float=Decimal))
)
IDS = st.one_of(st.integers(min_value=1, max_value=9999), st.text(min_size=1, max_size=6))
ACCOUNT_FIELDS = {
    "id": field(IDS),
    "username": field(st.text(max_size=8)),
    "customer_id": field(st.just(1)),
    "parent_id": field(st.one_of(st.none(), IDS)),
    "service_plan": field(st.sampled_from(["Select", "Basic", "Trial", "Trial (Basic)"])),
    "computer_name": field(st.text(max_size=8)),
    "device_type": field(st.sampled_from(["pc", "server", "PC", " Server "])),
    "used_mb_compressed": field(MEGABYTES),
    "used_mb_uncompressed": field(MEGABYTES),
    "hard_quota_mb": field(st.one_of(st.none(), MEGABYTES)),
    "user_quota_mb": field(st.one_of(st.none(), MEGABYTES)),
    "trial_expires": field(st.one_of(st.none(), st.dates().map(str))),
    "status": field(st.sampled_from(["active", "suspended", "deleted", "Active"])),
}
VALID_ACCOUNT = {
    "id": 7,
    "username": "u",
    "customer_id": 1,
    "service_plan": "Select",
    "computer_name": "PC",
    "device_type": "pc",
    "used_mb_compressed": 1,
    "used_mb_uncompressed": 1,
    "status": "active",
}
# A good account with one or two fields replaced by anything: the likeliest shape of a portal's bad item.
NEARLY_VALID = st.dictionaries(st.sampled_from(sorted(ACCOUNT_FIELDS)), JSON, min_size=1, max_size=2).map(
    lambda changed: {**VALID_ACCOUNT, **changed}
)
# Any subset of the fields (a portal may leave one out), plus a field of its own now and then.
RAW_ACCOUNTS = st.one_of(
    NEARLY_VALID,
    st.fixed_dictionaries({}, optional=ACCOUNT_FIELDS).flatmap(
        lambda raw: st.dictionaries(st.text(max_size=6), JSON, max_size=2).map(lambda extra: {**extra, **raw})
    ),
    JSON,
)


def expected_id(raw: Any, key: str = "id") -> str | None:
    value = raw.get(key) if isinstance(raw, dict) else None
    return None if value is None or isinstance(value, dict | list) else str(value)


def shown_id(raw: Any, key: str = "id") -> str | None:
    """The id an invalid item is reported with: the raw one, any unencodable character escaped."""
    value = expected_id(raw, key)
    return None if value is None else value.encode("utf-8", "backslashreplace").decode("utf-8")


def printable(text: str) -> bool:
    """Text a log line, the store or a terminal can carry: a lone surrogate cannot even be encoded."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def billable_megabytes(value: Decimal) -> bool:
    return value.is_finite() and 0 <= value <= MAX_ACCOUNT_MB


@EXAMPLES
@given(st.lists(RAW_ACCOUNTS, max_size=4))
@example([{**VALID_ACCOUNT, "id": "\ud800"}, {**VALID_ACCOUNT, "id": "x\udc00", "status": "gone"}])
@example([{**VALID_ACCOUNT, "used_mb_compressed": Decimal("1E+400")}, {**VALID_ACCOUNT, "parent_id": "\udfff"}])
def test_any_account_payload_validates_into_billable_numbers_or_is_reported_with_its_id(raw_items: list[Any]) -> None:
    listing = validate_items(Account, raw_items, "account")
    assert len(listing.items) + len(listing.invalid) == len(raw_items)
    valid_raw = iter(raw for raw in raw_items if validate_items(Account, [raw], "account").items)
    for account in listing.items:
        assert billable_megabytes(account.used_mb_compressed) and billable_megabytes(account.used_mb_uncompressed)
        for quota in (account.hard_quota_mb, account.user_quota_mb):
            assert quota is None or (quota.is_finite() and quota >= 0)
        assert account.id == expected_id(next(valid_raw))
        assert all(printable(text) for text in (account.id, account.customer_id, account.parent_id or ""))
    invalid_raw = [raw for raw in raw_items if validate_items(Account, [raw], "account").invalid]
    assert [(i.id, i.customer_id) for i in listing.invalid] == [
        (shown_id(raw) or "(no id)", shown_id(raw, "customer_id")) for raw in invalid_raw
    ]
    assert all(i.message and i.describe().startswith(f"account {i.id}: ") for i in listing.invalid)
    assert all(printable(i.describe()) for i in listing.invalid)


@EXAMPLES
@given(st.lists(RAW_ACCOUNTS, max_size=6), st.sampled_from([1000, 1024]), st.booleans())
def test_usage_from_whatever_validated_is_always_billable(
    raw_items: list[Any], mb_per_gb: int, suspended: bool
) -> None:
    customer = Customer(id="1", name="Contoso")
    accounts = [a for a in validate_items(Account, raw_items, "account").items if a.customer_id == "1"]
    rules = UsageRules(mb_per_gb=mb_per_gb, bill_suspended=suspended)
    for storage in ("compressed", "uncompressed"):
        result = compute_customer(
            customer, accounts, rules=UsageRules(storage, rules.mb_per_gb, rules.bill_suspended), period_key="2026-11"
        )
        # Nothing the portal can send passes the model yet trips the engine's boundary guard.
        assert {key: quantity_problem(q) for key, q in result.usage.quantities.items()} == dict.fromkeys(
            result.usage.quantities
        )


@EXAMPLES
@given(JSON)
def test_any_other_payload_validates_or_raises_a_validation_error_only(raw: Any) -> None:
    for model in (Customer, Page, Session, ErrorBody):
        listing: Listing[Any] = validate_items(model, [raw], model.__name__)
        assert len(listing.items) + len(listing.invalid) == 1


@EXAMPLES
@given(NUMBER_TOKEN)
def test_a_size_as_any_json_number_token_is_billable_or_refused_by_name(token: str) -> None:
    body = (
        '{"id": 7, "username": "u", "customer_id": 1, "service_plan": "Select", "computer_name": "PC", '
        f'"device_type": "pc", "used_mb_compressed": {token}, "used_mb_uncompressed": 1, "status": "active"}}'
    )
    listing = validate_items(Account, [json.loads(body, parse_float=Decimal)], "account")
    if listing.items:
        assert billable_megabytes(listing.items[0].used_mb_compressed)
    else:
        (invalid,) = listing.invalid
        assert invalid.id == "7" and invalid.message.startswith("used_mb_compressed: ")
