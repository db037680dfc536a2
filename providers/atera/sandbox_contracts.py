"""The sandbox Atera's contract endpoints, with Atera's rules for what a contract of each type holds and may change.

Handlers as in `providers.atera.sandbox_handlers`: (account, request, path groups) -> response or list of items.
"""

from __future__ import annotations

from typing import Any

from providers.atera.sandbox_account import AteraAccount
from providers.atera.sandbox_handlers import Reply, problem
from providers.sandbox import SandboxRequest, SandboxResponse

# How POST /contracts names rates (by id) and where the ContractDto shows them (as RateDto), per contract type.
CREATE_RATE_FIELDS: dict[str, dict[str, str]] = {
    "RetainerFlatFee": {"RateID": "Rate"},
    "Hourly": {"HourlyRateID": "PrimaryRate"},
    "BlockHours": {"HourlyRateID": "PricePerHour", "OverageRateID": "OverageRate"},
    "BlockMoney": {"ContractAmountRateID": "ContractAmount", "HourlyRateID": "PrimaryRate"},
    "RemoteMonitoring": {"PerDeviceRateID": "RatePerDevice"},
    "OnlineBackup": {"PerGBRateID": "RatePerGB"},
    "ProjectOneTimeFee": {"TotalAmountRateId": "TotalAmount"},
    "ProjectHourlyRate": {"TotalAmountRateId": "PrimaryRate"},
}
# What PUT /contracts/{id} may change in each type's sub-object; project contracts cannot be updated at all.
UPDATABLE: dict[str, frozenset[str]] = {
    "RetainerFlatFee": frozenset({"Quantity", "BillingPeriod"}),
    "BlockHours": frozenset({"BillingPeriod", "HoursIncluded", "CommitRollover"}),
    "Hourly": frozenset({"BillingPeriod"}),
    "BlockMoney": frozenset({"BillingPeriod", "CommitRollover"}),
    "RemoteMonitoring": frozenset({"CountBy", "BillingPeriod"}),
    "OnlineBackup": frozenset({"CountBy", "BillingPeriod"}),
}
HEADER_FIELDS = frozenset({"ContractName", "Default", "StartDate", "EndDate", "Active", "Taxable", "TaxId", "Notes"})
CONTRACT_HEADER = ("ContractName", "Default", "StartDate", "EndDate", "Active", "Taxable")


def list_contracts(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    contracts = list(account.contracts.values())
    if match.get("customer"):
        contracts = [c for c in contracts if c["CustomerID"] == int(match["customer"])]
    return contracts


def get_contract(account: AteraAccount, _: SandboxRequest, match: dict[str, str]) -> Reply:
    contract = account.contracts.get(int(match["id"]))
    if contract is None:
        return problem(404, "Not Found", f"contract {match['id']} does not exist")
    return SandboxResponse.of_json(contract)


def create_contract(account: AteraAccount, request: SandboxRequest, _: dict[str, str]) -> Reply:
    body = request.json() or {}
    kind = body.get("ContractType")
    customer = account.customers.get(body.get("CustomerID") or 0)
    if kind not in CREATE_RATE_FIELDS:
        return problem(400, "Bad Request", f"ContractType must be one of {', '.join(CREATE_RATE_FIELDS)}")
    if customer is None:
        return problem(400, "Bad Request", "CustomerID must name an existing customer")
    if not body.get("ContractName"):
        return problem(400, "Bad Request", "ContractName is required")
    given = body.get(f"{kind}Contract")
    if not isinstance(given, dict):
        return problem(400, "Bad Request", f"{kind}Contract is required for a {kind} contract")
    sub = _created_terms(account, kind, given)
    if isinstance(sub, SandboxResponse):
        return sub
    contract_id = account.new_id()
    account.contracts[contract_id] = {
        "CustomerID": customer["CustomerID"],
        "CustomerName": customer["CustomerName"],
        "ContractID": contract_id,
        "ContractName": body["ContractName"],
        "ContractType": kind,
        "Active": bool(body.get("Active", False)),
        "Default": bool(body.get("Default", False)),
        "Taxable": bool(body.get("Taxable", False)),
        "StartDate": body.get("StartDate"),
        "EndDate": body.get("EndDate"),
        f"{kind}Contract": sub,
    }
    return SandboxResponse.of_json({"ActionID": str(contract_id)}, 201)


def _created_terms(account: AteraAccount, kind: str, given: dict[str, Any]) -> dict[str, Any] | SandboxResponse:
    """A new contract's `<kind>Contract` object as Atera shows it: rate IDs replaced by the rates, or a 400."""
    products = account.rates["products"]
    sub: dict[str, Any] = {}
    for key, value in given.items():
        if key in CREATE_RATE_FIELDS[kind]:
            rate = products.get(value)
            if rate is None:
                return problem(400, "Bad Request", f"{key} {value} is not a product rate")
            sub[CREATE_RATE_FIELDS[kind][key]] = dict(rate)
        elif key == "AdditionalRateIDs":
            sub["AdditionalRates"] = [dict(products[r]) for r in value or [] if r in products]
        elif not key.endswith(("RateID", "RateId")):
            sub[key] = value
    return sub


def update_contract(account: AteraAccount, request: SandboxRequest, match: dict[str, str]) -> Reply:
    contract = account.contracts.get(int(match["id"]))
    if contract is None:
        return problem(404, "Not Found", f"contract {match['id']} does not exist")
    kind = contract["ContractType"]
    allowed = UPDATABLE.get(kind)
    if allowed is None:
        return problem(400, "Bad Request", f"{kind} (project) contracts cannot be updated")
    update = _update_parts(kind, request.json() or {})
    if isinstance(update, SandboxResponse):
        return update
    header, changes = update
    refused = sorted(set(changes) - allowed)
    if refused:
        rates = [k for k in refused if "Rate" in k]
        why = "rates cannot change on update" if rates else f"only {', '.join(sorted(allowed))} can change"
        return problem(400, "Bad Request", f"{kind}Contract.{', '.join(refused)}: {why}")
    # A null in an update means "leave as is", as in Atera's nullable update fields.
    for key, value in header.items():
        if value is not None and key in CONTRACT_HEADER:
            contract[key] = value
    sub = contract.setdefault(f"{kind}Contract", {})
    sub.update({k: v for k, v in changes.items() if v is not None})
    return SandboxResponse(204)


def _update_parts(kind: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | SandboxResponse:
    """An update body split into header fields and the `<kind>Contract` changes, or a 400 for anything else."""
    header: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key in HEADER_FIELDS:
            header[key] = value
        elif key == f"{kind}Contract" and isinstance(value, dict):
            changes = value
        elif key.endswith("Contract"):
            return problem(400, "Bad Request", f"{key} does not apply to a {kind} contract")
        else:
            return problem(400, "Bad Request", f"{key} cannot be updated")
    return header, changes
