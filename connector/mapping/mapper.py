"""`connector map`: every vendor customer against the PSA's customers (mapped, matched, suggested, unmatched).

The PSA is read with a store the caller opened (`connector.operations.mapping`, or a run's): nothing here opens it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import providers
from connector.core.config import Settings
from connector.core.errors import ConfigError
from connector.core.matching import closest, exact
from connector.interfaces.usage import UsageReport
from connector.store import Store
from providers.spec import BuildContext

KINDS = ("mapped", "auto-matched", "matched", "suggested", "unmatched")


@dataclass(frozen=True)
class VendorRef:
    source: str
    name: str
    id: str | None


@dataclass(frozen=True)
class PsaRef:
    name: str
    id: int | None


@dataclass(frozen=True)
class MapItem:
    """One vendor customer and what it is (or could be) billed as in the PSA."""

    kind: str
    vendor: VendorRef
    psa: PsaRef | None = None
    score: float | None = None
    suggestions: tuple[tuple[PsaRef, float], ...] = ()

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.vendor.source,
            "vendor_customer": {"name": self.vendor.name, "id": self.vendor.id},
            "psa_customer": {"name": self.psa.name, "id": self.psa.id} if self.psa else None,
        }
        if self.score is not None:
            data["score"] = self.score
        if self.suggestions:
            data["suggestions"] = [{"name": p.name, "id": p.id, "score": s} for p, s in self.suggestions]
        return data


@dataclass
class MapResult:
    """Every vendor customer by kind; `problems` are sources that could not be read (their customers are unknown)."""

    items: list[MapItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unbilled: list[PsaRef] = field(default_factory=list)  # mapped PSA customers none of whose vendors has data
    # PSA customers with backup contracts (named by a mapped line or a template) that no vendor customer maps to.
    psa_only: list[tuple[PsaRef, tuple[str, ...]]] = field(default_factory=list)

    def of(self, kind: str) -> list[MapItem]:
        return [item for item in self.items if item.kind == kind]

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {kind.replace("-", "_"): [item.to_data() for item in self.of(kind)] for kind in KINDS}
        data["no_vendor_data"] = [{"name": p.name, "id": p.id} for p in self.unbilled]
        data["psa_only"] = [{"name": p.name, "id": p.id, "contracts": list(c)} for p, c in self.psa_only]
        data["problems"] = self.problems
        return data


def psa_customers(settings: Settings, store: Store) -> list[PsaRef]:
    """The PSA's customers, read through its provider (with the store of the run or operation that opened it)."""
    psa = providers.psa(settings)
    customers = psa.load().customers if psa is not None else None
    if psa is None or customers is None:
        raise ConfigError("no registered PSA can list its customers")
    section = psa.enabled_section(settings)
    return [PsaRef(name, id_) for id_, name in customers(section, BuildContext(settings.http, store.ledger))]


def psa_contracts(settings: Settings, store: Store) -> list[tuple[int, str, str]]:
    """The PSA's active contracts as (customer id, customer name, contract name); none when it cannot list them."""
    psa = providers.psa(settings)
    contracts = psa.load().contracts if psa is not None else None
    if psa is None or contracts is None:
        return []
    section = psa.enabled_section(settings)
    return contracts(section, BuildContext(settings.http, store.ledger))


def psa_only(
    settings: Settings, result: MapResult, contracts: Sequence[tuple[int, str, str]]
) -> list[tuple[PsaRef, tuple[str, ...]]]:
    """PSA customers holding a contract that a mapped line or a template bills (a backup contract), none of whose
    vendor customers is mapped or matched to them: billed by hand, or a vendor customer gone or renamed."""
    names = {line.contract.strip().casefold() for c in settings.customers for line in c.lines}
    names |= {line.contract.strip().casefold() for lines in settings.mapping.templates.values() for line in lines}
    taken = [i.psa for i in result.items if i.psa is not None and i.kind in ("mapped", "auto-matched", "matched")]
    taken += result.unbilled  # listed already, as mapped with no vendor data
    ids = {p.id for p in taken if p.id is not None}
    known = {p.name.casefold() for p in taken}
    found: dict[int, tuple[PsaRef, list[str]]] = {}
    for customer_id, customer, contract in contracts:
        if contract.strip().casefold() not in names or customer_id in ids or customer.casefold() in known:
            continue
        found.setdefault(customer_id, (PsaRef(customer, customer_id), []))[1].append(contract)
    return [(ref, tuple(held)) for ref, held in found.values()]


def map_customers(settings: Settings, reports: Mapping[str, UsageReport], psa: Sequence[PsaRef]) -> MapResult:
    """Classify every vendor customer: mapped by the configuration, auto-matched by exact normalised name, suggested
    (closest PSA names with a score), or unmatched. Pure: the caller fetched the reports and the PSA's customers."""
    result = MapResult()
    ignored = {(i.source, i.customer.casefold()) for i in settings.ignored_customers}
    by_name = {p.name: p for p in psa}
    found_any: set[str] = set()
    for source, report in reports.items():
        owners = {}
        for customer in settings.customers:
            ref = customer.vendor_ref(source)
            usage = report.find(ref) if ref is not None else None
            if usage is not None:
                owners[usage.vendor_customer.casefold()] = customer
                found_any.add(customer.psa_customer)
        seen: set[str] = set()
        for usage in report.customers:
            key = usage.vendor_customer.casefold()
            if key in seen or (source, key) in ignored:
                continue
            seen.add(key)
            vendor = VendorRef(source, usage.vendor_customer, usage.vendor_id)
            owner = owners.get(key)
            if owner is not None:
                known = by_name.get(owner.psa_customer) or PsaRef(owner.psa_customer, owner.psa_customer_id)
                result.items.append(MapItem("mapped", vendor, known))
            else:
                result.items.append(_match(vendor, by_name, settings.mapping.auto_match == "exact"))
    result.unbilled = [
        PsaRef(c.psa_customer, c.psa_customer_id)
        for c in settings.customers
        if c.vendors and c.psa_customer not in found_any and any(s in reports for s in c.vendors)
    ]
    return result


def _match(vendor: VendorRef, by_name: Mapping[str, PsaRef], auto: bool) -> MapItem:
    same = exact(vendor.name, list(by_name))
    if len(same) == 1:
        # With auto_match on, an exact match bills as it is: no block to write.
        return MapItem("auto-matched" if auto else "matched", vendor, by_name[same[0]], score=100.0)
    near = closest(vendor.name, list(by_name))
    if near:
        suggestions = tuple((by_name[s.name], s.score) for s in near)
        return MapItem("suggested", vendor, suggestions[0][0], score=near[0].score, suggestions=suggestions)
    return MapItem("unmatched", vendor)
