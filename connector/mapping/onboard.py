"""`connector map --create-customers`: unmatched vendor customers onboarded in the PSA, recorded in the audit.

Which vendor customers (the unmatched ones chosen, and any whose onboarding a crash interrupted), what each needs
(the customer named as the vendor names it, its main contact from the vendor's contact fields, the contracts the
`[mapping.templates]` lines name), the PSA's plan of what it lacks, and the creates. An `onboard_started` audit
record is written before the first create of a customer and `onboard_completed` after its last: a vendor customer
with a start and no completion is taken up again by the next run (already matched by then, since its PSA customer
exists), and the PSA's read-before-create makes that rerun create only what is still missing.

Creating is exclusive, as a sync is: it holds the store's lock (a second onboarding, or a sync, is refused while it
runs), and once it holds it asks the PSA again, so what another run created since the plan was shown is found, not
created twice. The plan is shown without the lock: a question waiting for its answer blocks no sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import providers
from connector.core.config import Settings
from connector.core.errors import ConfigError
from connector.core.matching import normalise
from connector.mapping.mapper import MapItem, MapResult
from connector.store import Store
from mappings.customer import LineMapping
from providers.onboarding import ContractWanted, Created, CustomerPlan, NewCustomer, Onboarder, VendorContact
from providers.spec import BuildContext

STARTED = "onboard_started"
COMPLETED = "onboard_completed"
ACTIVITY = "onboarding (connector map --create-customers)"


@dataclass
class Onboarding:
    """The plans shown to the user, and the PSA side that will carry them out."""

    plans: list[CustomerPlan]
    onboarder: Onboarder
    wanted: list[NewCustomer] = field(default_factory=list)
    created: list[Created] = field(default_factory=list)
    # Once the lock is taken: what the PSA holds that the plan shown had to create, and plans that no longer hold.
    found: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def ready(self) -> list[CustomerPlan]:
        return [p for p in self.plans if p.creates and not p.problems]

    @property
    def changed(self) -> bool:
        """Whether the PSA holds new customers since the vendor customers were matched."""
        return bool(self.created or self.found)

    @property
    def problems(self) -> list[str]:
        return [f"{p.customer.name}: {problem}" for p in self.plans for problem in p.problems]

    def to_data(self) -> dict[str, Any]:
        return {
            "plans": [p.to_data() for p in self.plans],
            "found_since_plan": list(self.found),
            "created": [
                {"customer_id": c.customer_id, "items": [{"kind": k, "name": n, "id": i} for k, n, i in c.made]}
                for c in self.created
            ],
        }


def _key(source: str, name: str, vendor_id: str | None) -> tuple[str, str]:
    return source, (vendor_id or name).casefold()


def unfinished(store: Store) -> dict[tuple[str, str], str]:
    """Vendor customers whose onboarding started and never completed, and the PSA customer it was for."""
    open_: dict[tuple[str, str], str] = {}
    for event in store.runs.audit_events():
        if event["event"] not in (STARTED, COMPLETED):
            continue
        for source, name, vendor_id in event["details"].get("vendors", []):
            if event["event"] == STARTED:
                open_[_key(source, name, vendor_id)] = event["subject"]
            else:
                open_.pop(_key(source, name, vendor_id), None)
    return open_


def candidates(result: MapResult, chosen: Sequence[str], resumed: dict[tuple[str, str], str]) -> list[MapItem]:
    """The vendor customers to onboard: those `chosen` by name or id (unmatched, or suggested), else every unmatched
    one; and every vendor customer whose onboarding was interrupted."""
    wanted = {name.casefold() for name in chosen}
    picked = []
    for item in result.items:
        vendor = item.vendor
        if _key(vendor.source, vendor.name, vendor.id) in resumed:
            picked.append(item)
        elif wanted and item.kind in ("unmatched", "suggested") and {vendor.name.casefold(), vendor.id} & wanted:
            # Named explicitly: a suggestion the user knows to be another company is onboarded too.
            picked.append(item)
        elif not wanted and item.kind == "unmatched":
            picked.append(item)
    named = {n for item in picked for n in (item.vendor.name.casefold(), item.vendor.id)}
    if missing := wanted - named:
        kinds = {i.vendor.name.casefold(): i.kind for i in result.items}
        name = sorted(missing)[0]
        why = f"it is {kinds[name]}, not unmatched nor suggested" if name in kinds else "no vendor customer has it"
        raise ConfigError(f"--customer {name}: {why}")
    return picked


def new_customers(
    items: Sequence[MapItem],
    settings: Settings,
    contacts: dict[tuple[str, str], VendorContact],
    resumed: dict[tuple[str, str], str],
    now: datetime,
) -> list[NewCustomer]:
    """One new PSA customer per normalised name (the same customer at two vendors is one customer), named as the
    first vendor names it (or as its interrupted onboarding named it), with its sources' template contracts."""
    groups: dict[str, tuple[str, list[MapItem]]] = {}  # by normalised name: the name its first item gives, its items
    for item in items:
        name = resumed.get(_key(item.vendor.source, item.vendor.name, item.vendor.id)) or item.vendor.name
        groups.setdefault(normalise(name) or name, (name, []))[1].append(item)
    found = []
    for name, group in groups.values():
        sources = list(dict.fromkeys(i.vendor.source for i in group))
        contact = next(
            (c for i in group if (c := contacts.get(_key(i.vendor.source, i.vendor.name, i.vendor.id))) and c.email),
            None,
        )
        lines = settings.mapping.lines_for(sources, name)
        found.append(
            NewCustomer(
                name=name,
                vendors=tuple((i.vendor.source, i.vendor.name, i.vendor.id) for i in group),
                contact=contact,
                contracts=tuple(_contract(line, settings, now) for line in lines),
            )
        )
    return found


def _contract(line: LineMapping, settings: Settings, now: datetime) -> ContractWanted:
    # The sync asks the same function which period a line with nothing staged bills: the contract starts with it.
    first = settings.billing.calendar().start_period(line.billing_period, now, line.start_date)
    return ContractWanted(
        name=line.contract,
        metric=line.metric,
        rate=line.rate,
        billing_period=line.billing_period.value,
        start=line.start_date or first.start,
        first_period=first.key,
        options=dict(line.psa.get(providers.psa_name(settings), {})),
    )


def vendor_contacts(settings: Settings, sources: set[str], store: Store) -> dict[tuple[str, str], VendorContact]:
    """The contact of every customer of these sources that can tell one, by (source, id or name)."""
    found: dict[tuple[str, str], VendorContact] = {}
    for provider in providers.sources():
        contacts = provider.load().contacts if provider.name in sources and settings.enabled(provider.name) else None
        if contacts is None:
            continue
        for contact in contacts(provider.section(settings), BuildContext(settings.http, store.ledger)):
            found[_key(contact.source, contact.vendor_name, contact.vendor_id)] = contact
            found.setdefault(_key(contact.source, contact.vendor_name, None), contact)
    return found


def plan(settings: Settings, result: MapResult, chosen: Sequence[str], store: Store) -> Onboarding:
    """What onboarding the chosen vendor customers would create; nothing is written."""
    psa = providers.psa(settings)
    make = psa.load().onboarder if psa is not None else None
    if psa is None or make is None:
        raise ConfigError("no registered PSA can create customers")
    section = psa.enabled_section(settings)
    resumed = unfinished(store)
    items = candidates(result, chosen, resumed)
    contacts = vendor_contacts(settings, {i.vendor.source for i in items}, store) if items else {}
    wanted = new_customers(items, settings, contacts, resumed, datetime.now(UTC))
    onboarder = make(section, BuildContext(settings.http, store.ledger))
    return Onboarding(onboarder.plan(wanted) if wanted else [], onboarder, wanted)


def recheck(onboarding: Onboarding) -> None:
    """Plan again from what the PSA holds now (under the lock): what another run made since the plan was shown is
    found and said, not made again; a customer that now needs something the plan did not show creates nothing."""
    if not onboarding.wanted:
        return
    fresh = onboarding.onboarder.plan(onboarding.wanted)
    plans = []
    for shown, now in zip(onboarding.plans, fresh, strict=True):
        before = {(step.kind, step.name) for step in shown.creates}
        after = {(step.kind, step.name) for step in now.creates}
        if gone := sorted(before - after):
            what = ", ".join(f"{kind} {name!r}" for kind, name in gone)
            onboarding.found.append(f"{now.customer.name}: found in the PSA since the plan was shown: {what}")
        if more := sorted(after - before):
            what = ", ".join(f"{kind} {name!r}" for kind, name in more)
            problem = f"the PSA changed since the plan was shown ({what} is now missing): run again to see the plan"
            now = CustomerPlan(now.customer, now.steps, (*now.problems, problem), now.notes)
            onboarding.stale.append(f"{now.customer.name}: {problem}")
        plans.append(now)
    onboarding.plans = plans


def execute(onboarding: Onboarding, store: Store) -> list[Created]:
    """Create what the ready plans show, each customer between a start and a completion record in the audit; under
    the store's lock, from what the PSA holds once it is taken."""
    if not onboarding.ready:
        return _create(onboarding, store)  # nothing for the PSA: at most an interrupted onboarding's completion
    with store.sync_lock(ACTIVITY):
        recheck(onboarding)
        return _create(onboarding, store)


def _create(onboarding: Onboarding, store: Store) -> list[Created]:
    interrupted = unfinished(store)
    for customer_plan in onboarding.plans:
        customer = customer_plan.customer
        vendors = [list(v) for v in customer.vendors]
        if customer_plan.problems:
            continue
        if not customer_plan.creates:
            if any(_key(*v) in interrupted for v in customer.vendors):
                # Stopped after its last create: everything is there, so its onboarding is complete.
                store.runs.audit(COMPLETED, customer.name, {"vendors": vendors, "customer_id": None})
            continue
        store.runs.audit(STARTED, customer.name, {"vendors": vendors, "plan": customer_plan.to_data()["create"]})

        def told(event: str, details: dict[str, Any], subject: str = customer.name) -> None:
            store.runs.audit(event, subject, details)

        created = onboarding.onboarder.create(customer_plan, told)
        store.runs.audit(COMPLETED, customer.name, {"vendors": vendors, "customer_id": created.customer_id})
        onboarding.created.append(created)
    return onboarding.created
