"""The sandbox portal speaks the spec's API shape, and the generator makes realistic, reproducible portals."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.axcient.generate import demo_dataset, generate_dataset
from providers.axcient.generate import main as generate_main
from providers.axcient.models import Account, Customer
from providers.axcient.sandbox import DEFAULT_USERNAME, AxcientSandbox
from providers.sandbox import Fault

from .conftest import PASSWORD


@pytest.fixture
def http(sandbox: AxcientSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url) as client:
        yield client


def login(http: httpx.Client, password: str = PASSWORD) -> httpx.Response:
    return http.post("/api/v1/session", json={"username": DEFAULT_USERNAME, "password": password})


def bearer(http: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(http).json()['token']}"}


def test_login_issues_a_token_and_refuses_bad_credentials(http: httpx.Client) -> None:
    good = login(http)
    assert good.status_code == 200 and good.json()["expires_in"] == 3600 and good.json()["token"]
    bad = login(http, "wrong")
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_credentials"
    assert http.post("/api/v1/session", content=b"not json").status_code == 400


def test_lists_need_a_valid_token(http: httpx.Client, sandbox: AxcientSandbox) -> None:
    assert http.get("/api/v1/customers").status_code == 401
    headers = bearer(http)
    assert http.get("/api/v1/customers", headers=headers).status_code == 200
    sandbox.expire_tokens()
    refused = http.get("/api/v1/customers", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"


def test_tokens_expire_after_their_lifetime() -> None:
    now = [0.0]
    server = AxcientSandbox(password=PASSWORD, token_lifetime=60, clock=lambda: now[0])
    with server, httpx.Client(base_url=server.url) as http:
        headers = bearer(http)
        now[0] = 59
        assert http.get("/api/v1/customers", headers=headers).status_code == 200
        now[0] = 60
        assert http.get("/api/v1/customers", headers=headers).status_code == 401


def test_paging_shape_and_the_page_size_cap(http: httpx.Client, sandbox: AxcientSandbox) -> None:
    sandbox.load(generate_dataset(7, seed=1))
    sandbox.max_per_page = 3
    headers = bearer(http)
    first = http.get("/api/v1/customers", params={"page": 1, "per_page": 50}, headers=headers).json()
    assert (first["page"], first["per_page"], first["total"], len(first["items"])) == (1, 3, 7, 3)
    last = http.get("/api/v1/customers", params={"page": 3, "per_page": 3}, headers=headers).json()
    assert [c["id"] for c in last["items"]] == [7]
    beyond = http.get("/api/v1/customers", params={"page": 9, "per_page": 3}, headers=headers).json()
    assert beyond["items"] == [] and beyond["total"] == 7
    assert http.get("/api/v1/customers", params={"page": 0}, headers=headers).status_code == 400


def test_accounts_by_customer_and_all_at_once(http: httpx.Client, sandbox: AxcientSandbox) -> None:
    headers = bearer(http)
    mine = http.get("/api/v1/accounts", params={"customer_id": 3, "per_page": 100}, headers=headers).json()
    assert {a["customer_id"] for a in mine["items"]} == {3} and mine["total"] == 3
    everything = http.get("/api/v1/accounts", params={"per_page": 1000}, headers=headers).json()
    assert everything["total"] == len(sandbox.accounts)
    missing = http.get("/api/v1/accounts", params={"customer_id": 99}, headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "customer 99 does not exist"
    sandbox.allow_all_accounts = False
    assert http.get("/api/v1/accounts", headers=headers).status_code == 400


def test_429_every_nth_request_with_retry_after() -> None:
    server = AxcientSandbox(password=PASSWORD, rate_limit_every=2, retry_after=9)
    with server, httpx.Client(base_url=server.url) as http:
        answers = [login(http) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 429, 200, 429]
    assert answers[1].headers["Retry-After"] == "9" and answers[1].json()["error"]["code"] == "rate_limited"


def test_injected_5xx(http: httpx.Client, sandbox: AxcientSandbox) -> None:
    sandbox.inject(Fault(status=503, path_prefix="/api/v1/customers"))
    headers = bearer(http)
    assert http.get("/api/v1/customers", headers=headers).status_code == 503
    assert http.get("/api/v1/customers", headers=headers).status_code == 200


def test_unknown_paths_and_methods(http: httpx.Client) -> None:
    headers = bearer(http)
    assert http.get("/api/v1/nothing", headers=headers).status_code == 404
    assert http.delete("/api/v1/customers", headers=headers).status_code == 405
    assert http.get("/api/v1/session").status_code == 405


def test_a_sandbox_serves_a_data_file(tmp_path: Path) -> None:
    path = tmp_path / "portal.json"
    path.write_text(json.dumps(generate_dataset(3, accounts=5, seed=2)), encoding="utf-8")
    server = AxcientSandbox.from_file(path)
    assert len(server.customers) == 3 and len(server.accounts) == 5
    server._server.server_close()


def test_the_demo_and_generated_data_validate_as_the_client_reads_them() -> None:
    for data in (demo_dataset(), generate_dataset(300, seed=5)):
        for customer in data["customers"]:
            Customer.model_validate(customer)
        for account in data["accounts"]:
            Account.model_validate(account)


def test_the_generator_is_reproducible_sized_and_varied() -> None:
    data = generate_dataset(200, accounts=2000, seed=7)
    assert data == generate_dataset(200, accounts=2000, seed=7)
    assert data != generate_dataset(200, accounts=2000, seed=8)
    accounts: list[dict[str, Any]] = data["accounts"]
    assert len(data["customers"]) == 200 and len(accounts) == 2000
    assert len({c["name"] for c in data["customers"]}) == 200
    by_id = {a["id"]: a for a in accounts}
    plans = Counter(a["service_plan"] for a in accounts)
    assert {"Select", "Basic", "Trial"} <= set(plans)
    assert Counter(a["status"] for a in accounts).keys() == {"active", "suspended", "deleted"}
    assert Counter(a["device_type"] for a in accounts).keys() == {"pc", "server"}
    subs = [a for a in accounts if a["parent_id"] is not None]
    assert subs and all(by_id[a["parent_id"]]["customer_id"] == a["customer_id"] for a in subs)
    assert all(by_id[a["parent_id"]]["parent_id"] is None for a in subs)
    parents = Counter((a["customer_id"], a["service_plan"]) for a in accounts if a["parent_id"] is None)
    assert max(parents.values()) == 1  # one parent account per plan
    assert any(len({p for c, p in parents if c == cid}) > 1 for cid, _ in parents)  # customers with several plans
    over = [a for a in accounts if a["hard_quota_mb"] is not None and a["used_mb_compressed"] > a["hard_quota_mb"]]
    assert over
    trials = [a for a in accounts if a["service_plan"].startswith("Trial") and a["parent_id"] is None]
    assert trials and all(a["hard_quota_mb"] == 512 and a["trial_expires"] for a in trials)
    assert all(a["used_mb_compressed"] <= a["used_mb_uncompressed"] for a in accounts)
    owners = {a["customer_id"] for a in accounts}
    assert len(owners) < 200  # some customers have no accounts yet


def test_the_generator_command_writes_a_data_file(tmp_path: Path) -> None:
    out = tmp_path / "portal.json"
    generate_main(["--customers", "5", "--accounts", "12", "--seed", "3", "-o", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert (len(data["customers"]), len(data["accounts"])) == (5, 12)
