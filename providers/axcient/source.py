"""The Axcient usage source the engine polls: fetch customers and accounts, compute usage per customer."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from connector.core.errors import ConnectorError, DataError, VendorError
from connector.interfaces.usage import UsageReport
from providers.axcient.client import AxcientClient, Invalid, Listing
from providers.axcient.models import Account, Customer
from providers.axcient.settings import AxcientSettings
from providers.axcient.usage import SOURCE, CustomerResult, UsageRules, compute_customer

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """What the portal said in one collection, before any billing rule is applied."""

    customers: list[Customer] = field(default_factory=list)
    accounts: dict[str, list[Account]] = field(default_factory=dict)
    customer_problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    problems: list[str] = field(default_factory=list)
    # Ids of accounts that did not validate: their sub-accounts point at that error, not at a missing parent.
    refused: set[str] = field(default_factory=set)


@dataclass
class Collection:
    """The engine's report and, per customer, the account-level detail behind it (for the CLI)."""

    report: UsageReport
    results: list[CustomerResult]


def _fatal(error: ConnectorError) -> bool:
    """Whether a customer's list failed on the portal as a whole (then the run stops) rather than on that customer:
    a DataError, or a plain 4xx on one customer's list (gone, refused for that id), spoils that customer only."""
    if isinstance(error, DataError):
        return False
    return not (type(error) is VendorError and error.status_code is not None and 400 <= error.status_code < 500)


class AxcientSource:
    """Usage per portal customer; a client-wide failure raises, so the engine never sees zeros for it."""

    name = SOURCE

    def __init__(
        self,
        settings: AxcientSettings,
        open_client: Callable[[], AxcientClient],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timezone: str = "UTC",
    ) -> None:
        self.settings = settings
        # A factory, not a client: the engine builds every enabled source up front, and reading the password (a
        # missing environment variable) should fail this source's collection, not the set-up.
        self._open_client = open_client
        self._now = now
        # The portal keeps no history and keys no month: a snapshot belongs to the MSP's month, whose midnight
        # (`[billing] timezone`) ends a billing period, not to UTC's.
        self._zone = ZoneInfo(timezone)
        self.rules = UsageRules(
            storage=settings.storage, mb_per_gb=settings.mb_per_gb, bill_suspended=settings.bill_suspended
        )

    def collect(self, *, run_id: int | None = None) -> UsageReport:
        return self.collect_details(run_id=run_id).report

    def collect_details(self, *, run_id: int | None = None) -> Collection:
        """Fetch and compute; raises a ConnectorError when the portal as a whole could not be read."""
        client = self._open_client()
        try:
            snapshot = self.fetch(client)
        finally:
            client.close()
        observed_at = self._now()
        collection = self.compute(snapshot, observed_at)
        report = collection.report
        log.info(
            "axcient: %d customers, %d accounts, %s",
            len(snapshot.customers),
            sum(len(a) for a in snapshot.accounts.values()),
            "complete" if report.complete else "INCOMPLETE",
        )
        return collection

    def fetch(self, client: AxcientClient) -> Snapshot:
        snapshot = Snapshot()
        customers = client.customers()
        snapshot.customers = customers.items
        # A customer record we cannot read has no name to attach its usage to: the whole report is unusable.
        snapshot.problems.extend(f"{i.describe()} (cannot be attributed to a customer)" for i in customers.invalid)
        known = {c.id for c in customers.items}
        if self.settings.list_all_accounts:
            listing = client.accounts(None)
            for account in listing.items:
                if account.customer_id in known:
                    snapshot.accounts.setdefault(account.customer_id, []).append(account)
                else:
                    snapshot.problems.append(
                        f"account {account.id}: customer_id: {account.customer_id} is not a listed customer"
                    )
            self._attribute(snapshot, listing.invalid, known)
            return snapshot
        ids = [customer.id for customer in customers.items]
        for customer_id, listed in client.accounts_of(ids, concurrency=self.settings.concurrency, fatal=_fatal):
            if isinstance(listed, Listing):
                snapshot.accounts[customer_id] = listed.items
                self._attribute(snapshot, listed.invalid, known, listed_under=customer_id)
            elif _fatal(listed):
                raise listed
            else:
                snapshot.customer_problems[customer_id].append(f"accounts list: {listed}")
        return snapshot

    @staticmethod
    def _attribute(
        snapshot: Snapshot, invalid: list[Invalid], known: set[str], listed_under: str | None = None
    ) -> None:
        for item in invalid:
            snapshot.refused.add(item.id)
            owner = listed_under or item.customer_id
            if owner is not None and owner in known:
                snapshot.customer_problems[owner].append(item.describe())
            else:
                snapshot.problems.append(f"{item.describe()} (cannot be attributed to a customer)")

    def compute(self, snapshot: Snapshot, observed_at: datetime) -> Collection:
        report = UsageReport(source=SOURCE, observed_at=observed_at, problems=list(snapshot.problems))
        period_key = observed_at.astimezone(self._zone).strftime("%Y-%m")
        everyone = {a.id: a for accounts in snapshot.accounts.values() for a in accounts}
        names = {c.id: c.name for c in snapshot.customers}
        by_name: dict[str, list[Customer]] = defaultdict(list)
        for customer in snapshot.customers:
            by_name[customer.name.casefold()].append(customer)
        results = []
        for customer in sorted(snapshot.customers, key=lambda c: (c.name.casefold(), c.id)):
            problems = list(snapshot.customer_problems.get(customer.id, []))
            namesakes = [c.id for c in by_name[customer.name.casefold()] if c.id != customer.id]
            if namesakes:
                # Mappings name portal customers by name: two of the same name cannot be told apart safely.
                problems.append(f"customer name {customer.name!r} is shared with customer {', '.join(namesakes)}")
            result = compute_customer(
                customer,
                snapshot.accounts.get(customer.id, []),
                rules=self.rules,
                period_key=period_key,
                problems=problems,
                everyone=everyone,
                names=names,
                refused=snapshot.refused,
            )
            results.append(result)
            report.customers.append(result.usage)
        return Collection(report, results)
