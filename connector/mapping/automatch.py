"""`[mapping] auto_match = "exact"`: exact-name matches become ordinary mappings (template lines) as a run starts."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping

from connector.core.config import Settings
from connector.interfaces.usage import UsageReport
from connector.mapping import mapper
from connector.store import Store
from mappings.customer import CustomerMapping, VendorCustomer

log = logging.getLogger(__name__)


def _unblocked(items: Iterable[mapper.MapItem], settings: Settings) -> Iterator[tuple[mapper.MapItem, mapper.PsaRef]]:
    """The auto-matched vendor customers and their PSA customer, unless that customer has a block of its own (whose
    author chose its lines)."""
    taken = {c.psa_customer.casefold() for c in settings.customers}
    for item in items:
        if item.kind == "auto-matched" and item.psa is not None and item.psa.name.casefold() not in taken:
            yield item, item.psa


def auto_mappings(items: list[mapper.MapItem], settings: Settings) -> list[CustomerMapping]:
    """One mapping per PSA customer that vendor customers auto-match, billing its sources' template lines."""
    grouped: dict[mapper.PsaRef, dict[str, VendorCustomer]] = {}
    for item, psa in _unblocked(items, settings):
        grouped.setdefault(psa, {})[item.vendor.source] = VendorCustomer(customer=item.vendor.name, id=item.vendor.id)
    return [
        CustomerMapping(
            psa_customer=psa.name,
            psa_customer_id=psa.id,
            vendors=vendors,
            lines=settings.mapping.lines_for(list(vendors), psa.name),
        )
        for psa, vendors in grouped.items()
    ]


def resolve(settings: Settings, reports: Mapping[str, UsageReport | str], store: Store) -> Settings:
    """The settings with auto-matched customers added as mappings; unchanged unless auto_match is on. Reads the
    PSA's customer list (one paged read) only then."""
    if settings.mapping.auto_match != "exact":
        return settings
    usable = {name: report for name, report in reports.items() if isinstance(report, UsageReport)}
    try:
        psa = mapper.psa_customers(settings, store)
    except Exception as error:  # the PSA unreadable: hand-written blocks still bill, the rest stay unmapped (loud)
        log.error("auto_match: cannot read the PSA's customers (%s); exact-name matches are unmapped this run", error)
        return settings
    added = auto_mappings(mapper.map_customers(settings, usable, psa).items, settings)
    for mapping in added:
        log.info("auto-matched %s by exact name", mapping.psa_customer)
    return settings.model_copy(update={"customers": [*settings.customers, *added]})


def billed_by_auto_match(
    settings: Settings, reports: Mapping[str, UsageReport], psa: list[mapper.PsaRef]
) -> list[mapper.MapItem]:
    """The vendor customers a run bills by `auto_match` (no block of their own), for `check` to list."""
    return [item for item, _ in _unblocked(mapper.map_customers(settings, reports, psa).items, settings)]
