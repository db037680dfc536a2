"""Data sets for the sandbox portal: a small hand-made demo portal, and realistic generated portals of any size."""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MB_PER_GB = 1024
TRIAL_QUOTA_MB = 512

# Plans a customer's first parent account is on, with how often; trial prospects are their own kind of customer.
MAIN_PLANS: list[tuple[str, float]] = [
    ("Select", 0.55),
    ("Basic", 0.24),
    ("ShadowProtect BDR", 0.06),
    ("ShadowProtect Standalone", 0.04),
    ("Multitenant Network Server", 0.03),
    ("Trial", 0.08),
]
# A second or third plan: mostly the other everyday plan, sometimes a trial of something new.
EXTRA_PLANS: list[tuple[str, float]] = [
    ("Basic", 0.35),
    ("Select", 0.35),
    ("Trial (Basic)", 0.1),
    ("Trial (ShadowProtect)", 0.1),
    ("Trial (Multitenant Network Server)", 0.1),
]
SERVER_HEAVY = {"ShadowProtect BDR", "ShadowProtect Standalone", "Multitenant Network Server", "Trial (ShadowProtect)"}

_FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kira", "Liam", "Maya"]
_LAST = ["Adams", "Brook", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Khan", "Lopez"]
_WORDS = [
    *("Alpine", "Blue", "Cedar", "Delta", "Eagle", "Falcon", "Granite", "Harbor", "Iron", "Juniper", "Keystone"),
    *("Lakeside", "Maple", "Northern", "Oak", "Pioneer", "Quarry", "River", "Summit", "Tidewater", "Union"),
    *("Valley", "Willow", "Yellowstone", "Zenith", "Coastal", "Prairie", "Redwood", "Silver", "Copper"),
]
_TRADES = [
    *("Dental", "Law", "Accounting", "Logistics", "Engineering", "Veterinary", "Realty", "Design", "Clinic"),
    *("Builders", "Insurance", "Marketing", "Architects", "Pharmacy", "Bakery", "Motors", "Consulting"),
]
_SUFFIXES = ["LLC", "Inc", "Ltd", "Group", "Partners", "& Co", "GmbH", "PLC"]


def demo_dataset() -> dict[str, Any]:
    """A small portal for the demo, named like the demo's Atera customers, with one of each case worth seeing."""

    def account(
        account_id: int, customer: int, plan: str, computer: str, device: str, mb: int, **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": account_id,
            "username": f"{computer.lower()}-{account_id}",
            "customer_id": customer,
            "parent_id": extra.pop("parent", None),
            "service_plan": plan,
            "computer_name": computer,
            "device_type": device,
            "used_mb_compressed": mb,
            "used_mb_uncompressed": extra.pop("uncompressed", mb * 2),
            "hard_quota_mb": extra.pop("hard", None),
            "user_quota_mb": extra.pop("user", None),
            "trial_expires": extra.pop("trial_expires", None),
            "status": extra.pop("status", "active"),
        }

    customers = [
        {"id": 1, "name": "Contoso", "contact": {"name": "Ada Adams", "email": "it@contoso.example"}},
        {"id": 2, "name": "Fabrikam Inc", "contact": {"name": "Ben Brook", "email": "admin@fabrikam.example"}},
        {"id": 3, "name": "Northwind Traders", "contact": {"name": "Chloe Chen", "email": "ops@northwind.example"}},
        {"id": 4, "name": "Tailspin Toys", "contact": {"name": "Dev Diaz", "email": "dev@tailspin.example"}},
    ]
    accounts = [
        # Contoso: Select servers and PCs, a Basic parent with a sub-account, a suspended PC, one PC over quota.
        account(1001, 1, "Select", "CONTOSO-FS01", "server", 409_600, hard=1_048_576),
        account(1002, 1, "Select", "CONTOSO-SQL01", "server", 204_800, parent=1001),
        account(1003, 1, "Select", "CONTOSO-PC01", "pc", 20_480, parent=1001, user=10_240),
        account(1004, 1, "Select", "CONTOSO-PC02", "pc", 30_720, parent=1001, status="suspended"),
        account(1005, 1, "Basic", "CONTOSO-LT01", "pc", 15_360),
        account(1006, 1, "Basic", "CONTOSO-LT02", "pc", 10_240, parent=1005),
        # Fabrikam: Basic PCs, one deleted; a trial of ShadowProtect on a server.
        account(2001, 2, "Basic", "FAB-PC01", "pc", 25_600),
        account(2002, 2, "Basic", "FAB-PC02", "pc", 5_120, parent=2001, status="deleted"),
        account(2003, 2, "Trial (ShadowProtect)", "FAB-SRV01", "server", 400, hard=512, trial_expires="2026-12-15"),
        # Northwind: one server on Select and its PCs as sub-accounts.
        account(3001, 3, "Select", "NW-SRV01", "server", 307_200),
        account(3002, 3, "Select", "NW-PC01", "pc", 40_960, parent=3001),
        account(3003, 3, "Select", "NW-PC02", "pc", 35_840, parent=3001),
        # Tailspin: a prospect, on trial only.
        account(4001, 4, "Trial", "TAILSPIN-PC01", "pc", 300, hard=TRIAL_QUOTA_MB, trial_expires="2026-12-01"),
    ]
    return {"customers": customers, "accounts": accounts}


def _company(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = f"{rng.choice(_WORDS)} {rng.choice(_TRADES)} {rng.choice(_SUFFIXES)}"
        if name not in taken:
            taken.add(name)
            return name
        if len(taken) > len(_WORDS) * len(_TRADES) * len(_SUFFIXES) // 2:
            # Past half the name space, collisions are the norm: number the names instead of retrying forever.
            name = f"{name} {len(taken) + 1}"
            taken.add(name)
            return name


def _allocate(rng: random.Random, customers: int, accounts: int) -> list[int]:
    weights = [0.0 if rng.random() < 0.03 else rng.lognormvariate(0.0, 0.8) for _ in range(customers)]
    if not any(weights):
        weights = [1.0] * customers
    scale = accounts / sum(weights)
    counts = [int(w * scale) for w in weights]
    positive = [i for i, w in enumerate(weights) if w > 0]
    for _ in range(accounts - sum(counts)):
        counts[rng.choice(positive)] += 1
    return counts


def _pick(rng: random.Random, plans: list[tuple[str, float]], taken: list[str]) -> str:
    names, weights = zip(*[(p, w) for p, w in plans if p not in taken], strict=True)
    chosen: str = rng.choices(names, weights)[0]
    return chosen


def _plans(rng: random.Random, n: int) -> list[str]:
    chosen = [_pick(rng, MAIN_PLANS, [])]
    if n >= 2 and rng.random() < 0.3:
        chosen.append(_pick(rng, EXTRA_PLANS, chosen))
    if n >= 3 and rng.random() < 0.08:
        chosen.append(_pick(rng, EXTRA_PLANS, chosen))
    return chosen


def _computer(rng: random.Random, device: str, serial: int) -> str:
    if device == "server":
        role = rng.choice(["FS", "SQL", "DC", "APP", "EXCH", "RDS", "BKP"])
        return f"SRV-{role}{serial:02d}"
    kind = rng.choice(["DESKTOP", "LAPTOP", "WS"])
    return f"{kind}-{rng.randrange(16**7):07X}"


def _customer(rng: random.Random, customer_id: int, taken: set[str]) -> tuple[dict[str, Any], str]:
    """A customer with a company name not `taken` yet and a contact; and the mail domain its usernames share."""
    name = _company(rng, taken)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    domain = "".join(ch for ch in name.lower().split(" ")[0] if ch.isalnum()) + f"{customer_id}.example"
    contact = {"name": f"{first} {last}", "email": f"it@{domain}"}
    return {"id": customer_id, "name": name, "contact": contact}, domain


def _group_sizes(rng: random.Random, plans: int, accounts: int) -> list[int]:
    """How many of a customer's `accounts` sit under each of its `plans` parent accounts (at least one each)."""
    sizes = [1] * plans
    for _ in range(accounts - plans):
        # The first plan is the customer's main one: it holds most of the computers.
        sizes[0 if rng.random() < 0.75 else rng.randrange(plans)] += 1
    return sizes


def _usage_mb(rng: random.Random, device: str, trial: bool) -> tuple[int, int]:
    """Space an account uses, (compressed, uncompressed) in MB: trials are small, servers hold ten times PCs."""
    if trial:
        uncompressed = rng.randint(50, 1200)
    else:
        typical_gb = 350 if device == "server" else 35
        uncompressed = max(1, round(rng.lognormvariate(0, 0.9) * typical_gb * MB_PER_GB))
    return max(1, round(uncompressed * rng.uniform(0.4, 0.85))), uncompressed


def _quotas_mb(rng: random.Random, compressed: int, trial: bool) -> tuple[int | None, int | None]:
    """(hard, user) quotas in MB: the trial quota, or now and then an MSP-set cap, sometimes already exceeded."""
    hard = TRIAL_QUOTA_MB if trial else None
    user = None
    if not trial and rng.random() < 0.12:  # the portal reports a cap exceeded, billing flags it
        hard = round(compressed * rng.uniform(0.8, 3.0))
    if rng.random() < 0.08:
        user = round(compressed * rng.uniform(0.7, 2.5))
    return hard, user


def _account(
    rng: random.Random,
    account_id: int,
    parent_id: int | None,
    plan: str,
    serial: int,
    *,
    owner: tuple[int, str],
    today: date,
) -> dict[str, Any]:
    """One account under `plan`; `owner` is (customer ID, domain). A sub-account now and then has its own plan."""
    customer_id, domain = owner
    trial = plan.lower().startswith("trial")
    device = "server" if rng.random() < (0.7 if plan in SERVER_HEAVY else 0.18) else "pc"
    computer = _computer(rng, device, serial)
    compressed, uncompressed = _usage_mb(rng, device, trial)
    hard, user = _quotas_mb(rng, compressed, trial)
    roll = rng.random()
    status = "deleted" if roll < 0.04 else "suspended" if roll < 0.09 else "active"
    own_plan = plan
    if parent_id is not None and rng.random() < 0.02:
        own_plan = rng.choice([p for p in ("Select", "Basic") if p != plan])
    return {
        "id": account_id,
        "username": f"{domain.split('.')[0]}-{computer.lower()}",
        "customer_id": customer_id,
        "parent_id": parent_id,
        "service_plan": own_plan,
        "computer_name": computer,
        "device_type": device,
        "used_mb_compressed": compressed,
        "used_mb_uncompressed": uncompressed,
        "hard_quota_mb": hard,
        "user_quota_mb": user,
        "trial_expires": (today + timedelta(days=rng.randint(-10, 30))).isoformat() if trial else None,
        "status": status,
    }


def _customer_accounts(
    rng: random.Random, count: int, ids: Iterator[int], *, owner: tuple[int, str], today: date
) -> list[dict[str, Any]]:
    """A customer's `count` accounts: per plan, a parent account and the sub-accounts under it."""
    plans = _plans(rng, count)
    accounts: list[dict[str, Any]] = []
    for plan, size in zip(plans, _group_sizes(rng, len(plans), count), strict=True):
        parent_id: int | None = None
        for _ in range(size):
            account_id = next(ids)
            account = _account(rng, account_id, parent_id, plan, len(accounts) + 1, owner=owner, today=today)
            accounts.append(account)
            if parent_id is None:
                parent_id = account_id
    return accounts


def generate_dataset(
    customers: int = 50, *, accounts: int | None = None, seed: int = 0, today: date | None = None
) -> dict[str, Any]:
    """A portal of `customers` customers and `accounts` accounts (default about ten per customer), reproducibly.

    Customers have one parent account per plan (Select, Basic, ShadowProtect, trial plans...) and sub-accounts under
    it, PCs and servers; some accounts are suspended or deleted, some have quotas and a few are over them, trial
    accounts have the 512 MB quota and an expiry date, and a few sub-accounts carry a plan other than their
    parent's (the parent's is the one billed).
    """
    rng = random.Random(seed)
    today = today or date(2026, 11, 15)
    total = accounts if accounts is not None else customers * 10
    counts = _allocate(rng, customers, total) if customers else []
    taken: set[str] = set()
    ids = itertools.count(100_001)
    out_customers: list[dict[str, Any]] = []
    out_accounts: list[dict[str, Any]] = []
    for customer_id, count in enumerate(counts, start=1):
        customer, domain = _customer(rng, customer_id, taken)
        out_customers.append(customer)
        if count:
            out_accounts += _customer_accounts(rng, count, ids, owner=(customer_id, domain), today=today)
    return {"customers": out_customers, "accounts": out_accounts}


def main(argv: list[str] | None = None) -> None:
    """`python -m providers.axcient.generate --customers 2000 --accounts 20000 -o portal.json`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--accounts", type=int, help="total accounts (default ten per customer)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = json.dumps(generate_dataset(args.customers, accounts=args.accounts, seed=args.seed), indent=1)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
