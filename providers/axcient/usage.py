"""Usage per portal customer, service plan and device class, from its accounts: pure code, no I/O."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from connector.interfaces.usage import CustomerUsage
from providers.axcient.models import Account, Customer, is_trial_plan
from providers.axcient.provider import DEVICES, PC_DEVICES, PC_GB, SERVER_DEVICES, SERVER_GB, TOTAL_GB

SOURCE = "axcient"
# How each account behind a number is stored with the observation: rows rather than objects, because the same
# accounts explain every metric and plan of the customer and the store keeps every observation.
ACCOUNT_COLUMNS = ("id", "computer", "plan", "device", "mb")
DeviceClass = Literal["pc", "server"]

# Which accounts each metric counts, and whether it counts storage or computers.
METRICS: dict[str, tuple[tuple[DeviceClass, ...], str]] = {
    PC_GB: (("pc",), "gb"),
    SERVER_GB: (("server",), "gb"),
    TOTAL_GB: (("pc", "server"), "gb"),
    PC_DEVICES: (("pc",), "devices"),
    SERVER_DEVICES: (("server",), "devices"),
    DEVICES: (("pc", "server"), "devices"),
}


@dataclass(frozen=True)
class UsageRules:
    """The configured choices that turn accounts into billable quantities."""

    storage: Literal["compressed", "uncompressed"] = "compressed"
    mb_per_gb: int = 1024
    bill_suspended: bool = False

    def gb(self, mb: Decimal) -> Decimal:
        # Kept exact (MB / 1024 always terminates in decimal): money is rounded once, on the line total.
        return mb / Decimal(self.mb_per_gb)


@dataclass(frozen=True)
class AccountUse:
    """One account as billing sees it: the plan it is billed on, its size, and why it is not billed if so."""

    account: Account
    plan: str
    mb: Decimal
    billed: bool
    reason: str | None = None
    error: str | None = None

    @property
    def over_quota(self) -> bool:
        quota = self.account.effective_quota_mb
        return quota is not None and self.mb > quota

    def row(self) -> list[Any]:
        """The account as one row of ACCOUNT_COLUMNS (compact: it is stored with every observation it explains)."""
        a = self.account
        return [a.id, a.computer_name, self.plan, a.device_type, self.mb]


@dataclass
class Totals:
    mb: dict[DeviceClass, Decimal] = field(default_factory=lambda: {"pc": Decimal(0), "server": Decimal(0)})
    devices: dict[DeviceClass, int] = field(default_factory=lambda: {"pc": 0, "server": 0})

    def add(self, use: AccountUse) -> None:
        self.mb[use.account.device_type] += use.mb
        self.devices[use.account.device_type] += 1

    def quantity(self, metric: str, rules: UsageRules) -> Decimal:
        classes, kind = METRICS[metric]
        if kind == "gb":
            return rules.gb(sum((self.mb[c] for c in classes), Decimal(0)))
        return Decimal(sum(self.devices[c] for c in classes))


@dataclass
class CustomerResult:
    """A customer's usage for the engine, plus the per-account detail the CLI shows."""

    customer: Customer
    usage: CustomerUsage
    accounts: list[AccountUse]
    totals: Totals
    plans: dict[str, Totals]

    @property
    def not_billed(self) -> list[AccountUse]:
        return [u for u in self.accounts if not u.billed]

    @property
    def over_quota(self) -> list[AccountUse]:
        return [u for u in self.accounts if u.over_quota]


def _not_billed_reason(account: Account, plan: str, rules: UsageRules) -> str | None:
    if account.status == "deleted":
        return "deleted"
    if is_trial_plan(plan):
        return f"trial plan ({plan})"
    if account.status == "suspended" and not rules.bill_suspended:
        return "suspended"
    return None


def _resolve_plan(
    account: Account,
    own: Mapping[str, Account],
    everyone: Mapping[str, Account],
    names: Mapping[str, str],
    refused: Collection[str] = (),
) -> tuple[str | None, str | None]:
    """The plan an account is billed on (its parent's for a sub-account), or the error that prevents knowing it."""
    if account.parent_id is None:
        return account.service_plan, None
    parent = own.get(account.parent_id)
    if parent is None and account.parent_id in refused:
        refusal = f"parent {account.parent_id} was refused (see account {account.parent_id})"
        return None, f"{refusal}, so the plan it bills on is unknown"
    if parent is None:
        elsewhere = everyone.get(account.parent_id)
        if elsewhere is not None:
            owner = names.get(elsewhere.customer_id, elsewhere.customer_id)
            return None, f"parent {account.parent_id} belongs to another customer ({owner}); not guessed"
        return None, f"parent {account.parent_id} does not exist among this customer's accounts"
    if parent.parent_id is not None:
        return None, f"parent {account.parent_id} is itself a sub-account (of {parent.parent_id})"
    return parent.service_plan, None


def compute_customer(
    customer: Customer,
    accounts: list[Account],
    *,
    rules: UsageRules,
    period_key: str,
    problems: list[str] | None = None,
    everyone: Mapping[str, Account] | None = None,
    names: Mapping[str, str] | None = None,
    refused: Collection[str] = (),
) -> CustomerResult:
    """Per plan and device class: GB and computers of billed accounts; sub-accounts on their parent's plan.

    `problems` (accounts that did not validate, failed listings) make the usage incomplete; `everyone` (all accounts
    by id) and `names` (customer names by id) let an orphan sub-account's error say whose its parent is, and
    `refused` (ids of accounts that did not validate) that its parent was refused rather than missing.
    """
    usage = CustomerUsage(
        source=SOURCE, vendor_customer=customer.name, period_key=period_key, vendor_id=str(customer.id)
    )
    for problem in problems or []:
        usage.fail(problem)
    own = {a.id: a for a in accounts}
    uses: list[AccountUse] = []
    totals = Totals()
    plans: dict[str, Totals] = {}
    for account in accounts:
        mb = account.used_mb(rules.storage)
        error = None
        if account.customer_id != customer.id:
            error = f"customer_id: {account.customer_id}, but listed under customer {customer.id}"
        plan, parent_error = _resolve_plan(account, own, everyone or {}, names or {}, refused)
        error = error or (f"parent_id: {parent_error}" if parent_error else None)
        if error is not None or plan is None:
            usage.fail(f"account {account.id}: {error}")
            uses.append(AccountUse(account, account.service_plan, mb, billed=False, reason="error", error=error))
            continue
        reason = _not_billed_reason(account, plan, rules)
        use = AccountUse(account, plan, mb, billed=reason is None, reason=reason)
        uses.append(use)
        plan_totals = plans.setdefault(plan, Totals())
        if use.billed:
            totals.add(use)
            plan_totals.add(use)
    for metric in METRICS:
        usage.quantities[(metric, "")] = totals.quantity(metric, rules)
        for plan, plan_totals in plans.items():
            usage.quantities[(metric, plan)] = plan_totals.quantity(metric, rules)
        usage.inputs[metric] = _explain(metric, uses, rules)
    return CustomerResult(customer, usage, uses, totals, dict(sorted(plans.items())))


def _explain(metric: str, uses: list[AccountUse], rules: UsageRules) -> dict[str, Any]:
    classes, kind = METRICS[metric]
    chosen = [u for u in uses if u.account.device_type in classes]
    counted = "computers (accounts)" if kind == "devices" else f"used_mb_{rules.storage} / {rules.mb_per_gb}"
    # A count of computers is explained by the computers, not their storage (the last column): left out, a grown
    # account does not change the explanation of a count that stayed the same, which the store keeps once a day.
    width = len(ACCOUNT_COLUMNS) - 1 if kind == "devices" else len(ACCOUNT_COLUMNS)
    return {
        "rule": f"{counted} of billed {' and '.join(classes)} accounts; sub-accounts on their parent's plan",
        "not_billed_columns": [*ACCOUNT_COLUMNS[:width], "reason"],
        "storage": rules.storage,
        "mb_per_gb": rules.mb_per_gb,
        "bill_suspended": rules.bill_suspended,
        "columns": [*ACCOUNT_COLUMNS[:width]],
        "accounts": [u.row()[:width] for u in chosen if u.billed],
        "not_billed": [[*u.row()[:width], u.error or u.reason] for u in chosen if not u.billed],
        "over_quota": {u.account.id: u.account.effective_quota_mb for u in chosen if u.over_quota},
    }
