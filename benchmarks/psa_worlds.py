"""The PSAs `large_msp.py` pushes to: each one's world (a sandbox holding the MSP's customers, contracts seeded at
quantity 1), its configuration section and line options, which of its requests are list pages, and the fewest
requests its API allows for a run.

Atera: two Retainer contracts per customer. ConnectWise: one agreement per customer holding an addition per
mapped metric. Autotask: one company per customer with one Recurring Service contract holding a contract service
per mapped metric, each of 1 unit from the contract's start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from providers.atera.sandbox import DEFAULT_API_KEY as ATERA_KEY
from providers.atera.sandbox import AteraSandbox, default_data
from providers.atera.sandbox_account import retainer_contract
from providers.autotask.sandbox import DEFAULT_INTEGRATION_CODE, DEFAULT_SECRET, DEFAULT_USERNAME, AutotaskSandbox
from providers.connectwise.sandbox import DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, ConnectWiseSandbox

ATERA_PAGE = 50
CONNECTWISE_PAGE = 1000  # the connector's default page_size, ConnectWise's maximum
AUTOTASK_PAGE = 500  # Autotask's most records a query page, and most ids an `in` filter names
# Atera contract, metric, rate, Atera rate SKU, ConnectWise catalog item and Autotask service SKU (the demo's).
CONTRACTS = (
    ("M365 backup", "altaro.billed_users", 3.5, "M365-USER", "BKP-M365-USER"),
    ("Server backup", "axcient.server_gb", 0.12, "BFF-GB", "BKP-SERVER-GB"),
)
AGREEMENT = "Managed Backup"  # each ConnectWise customer's one agreement, and each Autotask company's one contract
# What every contract and addition holds before the first sync, as if typed by hand: not 0, since any rise from 0 in
# what the PSA holds is held for review (`[review]` in large_msp.py takes the change percent out of the way).
SEEDED_QUANTITY = 1
CONTRACT_START = date(2024, 1, 1)  # the Autotask contracts' start, and the seeded units' effective date


def customer_name(i: int) -> str:
    return f"PSA customer {i:05d}"


def is_mapped(name: Any) -> bool:
    return str(name or "").startswith("PSA customer")


def pages(items: int, size: int) -> int:
    return max(1, -(-items // size))


def secret(directory: Path, name: str, value: str) -> Path:
    secrets = directory / "secrets"
    secrets.mkdir(mode=0o700, exist_ok=True)
    (secrets / name).write_text(value + "\n", encoding="utf-8")
    return secrets / name


# -- Atera --------------------------------------------------------------------------------------------------------


def atera_sandbox(customers: int, latency_ms: float) -> AteraSandbox:
    """The demo account plus `customers` customers with one Retainer contract per mapped metric each, of quantity 1."""
    data = default_data()
    rates = []
    for n, (name, _, amount, sku, _) in enumerate(CONTRACTS):
        rates.append({"RateID": 900 + n, "Amount": amount, "Description": name, "SKU": sku, "Category": "Backup"})
    data["rates"]["products"].extend(rates)
    for i in range(customers):
        customer_id, name = 100_000 + i, customer_name(i)
        data["customers"].append({"CustomerID": customer_id, "CustomerName": name})
        for k, (contract, _, _, _, _) in enumerate(CONTRACTS):
            contract_id = 1_000_000 + len(CONTRACTS) * i + k
            data["contracts"].append(retainer_contract(customer_id, name, contract_id, contract, rates[k]))
            data["contracts"][-1]["RetainerFlatFeeContract"]["Quantity"] = SEEDED_QUANTITY
    return AteraSandbox(data, latency_ms=latency_ms)


def atera_section(sandbox: AteraSandbox, directory: Path) -> str:
    return f'''
[atera]
enabled = true
base_url = "{sandbox.api_url}"
api_key = {{ file = "{secret(directory, "atera", ATERA_KEY)}" }}
# The sandbox has no rate limit: the benchmark counts requests and latency, not Atera's throttle.
max_requests = 1000000
window_seconds = 1
requests_per_run = 0
'''


# A GET of one record (`.../{id}`): the sink's re-read of a contract or an addition just before it writes it.
RECORD = re.compile(r"/\d+$")


def atera_is_list(_: Any, request: Any) -> bool:
    return request.method == "GET" and not RECORD.search(request.path) and "/customvalues/" not in request.path


def atera_minimum(sandbox: AteraSandbox, requests: list[Any], pushed: int) -> int:
    """The list pages the run read, at 50 a page, plus per pushed line what it had to send: when the quantity changed,
    the read of the contract just before its write (the design reads before it writes, and Atera's PUT sends back the
    header as Atera holds it) and two writes (the Quantity, and the record, which Atera takes on its own endpoint
    only); one write (the record) when the contract held the quantity already; a line pushed before needs nothing."""
    listed = {r.path for r in requests if atera_is_list(sandbox, r)}
    sizes = {"/api/v3/customers": len(sandbox.customers), "/api/v3/contracts": len(sandbox.contracts)}
    reads = sum(pages(sizes.get(path, 0), ATERA_PAGE) for path in listed if path in sizes)
    reads += sum(1 for path in listed if path not in sizes)  # other lists (invoices): one page, they are empty
    changed = sum(1 for r in requests if r.method == "PUT" and r.path.startswith("/api/v3/contracts/"))
    return reads + 3 * changed + max(0, pushed - changed)


# -- ConnectWise --------------------------------------------------------------------------------------------------


def connectwise_sandbox(customers: int, latency_ms: float) -> ConnectWiseSandbox:
    """The demo's ConnectWise plus `customers` companies with one agreement each, holding an addition per mapped
    metric at the catalog's price (the record's custom field is the sandbox's default)."""
    sandbox = ConnectWiseSandbox(latency_ms=latency_ms)
    for i in range(customers):
        company = sandbox.add_company(customer_name(i), f"PSAcustomer{i:05d}")
        agreement = sandbox.add_agreement(company["id"], AGREEMENT)
        for _, _, amount, _, product in CONTRACTS:
            sandbox.add_addition(agreement["id"], product, SEEDED_QUANTITY, amount)
    return sandbox


def connectwise_section(sandbox: ConnectWiseSandbox, directory: Path) -> str:
    return f'''
[connectwise]
enabled = true
base_url = "{sandbox.api_url}"
company_id = "{sandbox.company_id}"
public_key = {{ file = "{secret(directory, "connectwise-public", DEFAULT_PUBLIC_KEY)}" }}
private_key = {{ file = "{secret(directory, "connectwise-private", DEFAULT_PRIVATE_KEY)}" }}
client_id = "{sandbox.client_id}"
page_size = {CONNECTWISE_PAGE}
'''


def connectwise_is_list(_: Any, request: Any) -> bool:
    return request.method == "GET" and not RECORD.search(request.path)


def connectwise_minimum(sandbox: ConnectWiseSandbox, requests: list[Any], pushed: int) -> int:
    """The pages of every company and every agreement (1,000 a page, no condition: fewer than the mapped companies'
    agreements read in conditions of at most 1,000 characters), one additions list per mapped agreement (the API
    lists additions per agreement only), one page of any other list the run read (invoices, catalog), and per pushed
    line the read of the addition just before its write (the design reads before it writes: a person may have
    changed it since the run's lists, minutes before at this size) and one PATCH (quantity and record together)."""
    mapped = [n for n, a in sandbox.agreements.items() if is_mapped(a["company"]["name"])]
    additions = re.compile(r"^/v4_6_release/apis/3\.0/finance/agreements/\d+/additions$")
    listed = {r.path for r in requests if connectwise_is_list(sandbox, r)}
    reads = pages(len(sandbox.companies), CONNECTWISE_PAGE) + pages(len(sandbox.agreements), CONNECTWISE_PAGE)
    reads += sum(pages(len(sandbox.additions[n]), CONNECTWISE_PAGE) for n in mapped)
    reads += sum(1 for path in listed if not additions.match(path) and not path.endswith(("/companies", "/agreements")))
    return reads + 2 * pushed


# -- Autotask -----------------------------------------------------------------------------------------------------


def autotask_sandbox(customers: int, latency_ms: float) -> AutotaskSandbox:
    """The demo's Autotask (whose catalogue has both services) plus `customers` companies with one Recurring Service
    contract each, billing a contract service per mapped metric at the catalogue's price, of 1 unit from the
    contract's start."""
    sandbox = AutotaskSandbox(latency_ms=latency_ms)
    catalogue = {s["sku"]: s for s in sandbox.services.values()}
    for i in range(customers):
        company = sandbox.add_company(customer_name(i))
        contract = sandbox.add_contract(company["id"], AGREEMENT, start=CONTRACT_START)
        for _, _, amount, _, sku in CONTRACTS:
            held = sandbox.add_contract_service(contract["id"], catalogue[sku]["id"], amount)
            sandbox.adjust(held["id"], SEEDED_QUANTITY, CONTRACT_START)
    return sandbox


def autotask_section(sandbox: AutotaskSandbox, directory: Path) -> str:
    return f'''
[autotask]
enabled = true
zone_lookup_url = "{sandbox.api_url}"
username = {{ file = "{secret(directory, "autotask-username", DEFAULT_USERNAME)}" }}
secret = {{ file = "{secret(directory, "autotask-secret", DEFAULT_SECRET)}" }}
integration_code = {{ file = "{secret(directory, "autotask-integration-code", DEFAULT_INTEGRATION_CODE)}" }}
page_size = {AUTOTASK_PAGE}
# The default: no push is started past 8,000 of the database's 10,000 requests an hour (the sandbox's threshold).
stop_pushes_at = 0.8
'''


# A query for one contract's services or one contract service's units: the reads around a push (before and after
# an adjustment, before adding a service), not a list page of the run.
ONE_RECORD_OPS = {"eq"}
ONE_RECORD_FIELDS = {"contractid", "contractserviceid"}


def _one_record_query(request: Any) -> bool:
    if request.method != "POST":
        return False
    try:
        filters = request.json().get("filter") or []
    except (ValueError, AttributeError):
        return False
    return any(
        isinstance(node, dict)
        and str(node.get("op", "")).lower() in ONE_RECORD_OPS
        and str(node.get("field", "")).lower() in ONE_RECORD_FIELDS
        for node in filters
    )


def autotask_is_list(sandbox: AutotaskSandbox, request: Any) -> bool:
    """A page of a list: a query (`POST .../query`, or the GET of its next page) that is not one of a push's reads;
    the threshold and zone reads count as list reads of the run (one each)."""
    return not sandbox.is_write(request) and not _one_record_query(request)


def _in_query_pages(counts: Iterable[int]) -> int:
    """Pages of the `in` queries over ids whose records number `counts` (in id order): one query per 500 ids."""
    ordered = list(counts)
    return sum(
        pages(sum(ordered[start : start + AUTOTASK_PAGE]), AUTOTASK_PAGE)
        for start in range(0, len(ordered), AUTOTASK_PAGE)
    )


def _window(today: date) -> tuple[date, date]:
    """The days whose units a run needs: from the first of last month (a period not invoiced yet) to the end of
    this one."""
    since = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    following = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    return since, following - timedelta(days=1)


def autotask_minimum(sandbox: AutotaskSandbox, requests: list[Any], pushed: int) -> int:
    """The zone lookup and the threshold read (once a run each), the pages of every company and of the catalogue
    (500 a page), the mapped companies' contracts, those contracts' services and the mapped services' units from
    the first of last month to the end of this one (`in` queries of 500 ids), plus per changed line the units read
    before its adjustment, the adjustment and the read after it."""
    companies = sorted(n for n, c in sandbox.companies.items() if is_mapped(c.get("companyName")))
    mapped = set(companies)
    contracts = sorted(n for n, c in sandbox.contracts.items() if c.get("companyID") in mapped)
    per_company = {n: 0 for n in companies}
    for n in contracts:
        per_company[sandbox.contracts[n]["companyID"]] += 1
    listed = set(contracts)
    held = [cs for cs in sandbox.contract_services.values() if cs.get("contractID") in listed]
    per_contract = {n: 0 for n in contracts}
    for cs in held:
        per_contract[cs["contractID"]] += 1
    since, until = (str(day) for day in _window(datetime.now(UTC).date()))
    units = [
        sum(1 for r in sandbox.unit_records(cs["id"]) if r["startDate"][:10] <= until and r["endDate"][:10] >= since)
        for cs in sorted(held, key=lambda cs: cs["id"])
    ]
    reads = 2 + pages(len(sandbox.companies), AUTOTASK_PAGE) + pages(len(sandbox.services), AUTOTASK_PAGE)
    reads += _in_query_pages(per_company[n] for n in companies) + _in_query_pages(per_contract[n] for n in contracts)
    reads += _in_query_pages(units)
    adjusted = sum(1 for r in requests if sandbox.is_write(r) and r.path.lower().endswith("adjustments"))
    return reads + 3 * adjusted


# -- the table ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Psa:
    """What the benchmark needs to know of a PSA: its title, its sandbox with the MSP's data (customers, latency),
    its configuration section (sandbox, directory), a mapped line's options, which of its requests are list pages
    (sandbox, request), the fewest requests its API allows for a run (sandbox, the run's requests, the lines it
    pushed), and what a new hour does to its sandbox (Autotask's hourly request count starts again)."""

    title: str
    sandbox: Callable[[int, float], Any]
    section: Callable[[Any, Path], str]
    options: Callable[[str], str]
    is_list: Callable[[Any, Any], bool]
    minimum: Callable[[Any, list[Any], int], int]
    new_hour: Callable[[Any], None] = lambda _: None


def _new_hour(sandbox: AutotaskSandbox) -> None:
    sandbox.requests_this_hour = 0


PSAS = {
    "atera": Psa("Atera", atera_sandbox, atera_section, lambda _: "", atera_is_list, atera_minimum),
    "connectwise": Psa(
        "ConnectWise",
        connectwise_sandbox,
        connectwise_section,
        lambda product: f'connectwise = {{ agreement = "{AGREEMENT}", product = "{product}" }}\n',
        connectwise_is_list,
        connectwise_minimum,
    ),
    "autotask": Psa(
        "Autotask",
        autotask_sandbox,
        autotask_section,
        lambda sku: f'autotask = {{ contract = "{AGREEMENT}", service = "{sku}" }}\n',
        autotask_is_list,
        autotask_minimum,
        _new_hour,
    ),
}


def line_text(psa: str, contract: tuple[str, str, float, str, str]) -> str:
    """A mapped line; with ConnectWise and Autotask the contract's name stays the line's own (one metric per
    contract), and the agreement (contract) and product (service) say which addition (contract service) holds it."""
    name, metric, amount, _, product = contract
    text = f'\n[[customers.lines]]\nmetric = {json.dumps(metric)}\ncontract = {json.dumps(name)}\nrate = "{amount}"\n'
    return text + PSAS[psa].options(product)
