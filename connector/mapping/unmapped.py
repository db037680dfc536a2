"""Vendor customers no mapping bills: never skipped in silence, each told with the closest mapped names."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from connector.core.config import Settings
from connector.core.matching import did_you_mean
from connector.interfaces.usage import UsageReport


def tell_unmapped(
    settings: Settings, reports: Mapping[str, UsageReport | str], log: logging.Logger
) -> list[dict[str, str]]:
    """Each vendor customer of a report that no mapping bills and none ignores, logged at error level on `log` (the
    run's) with the mapped name it likely is; returned as the run report lists them."""
    found_unmapped: list[dict[str, str]] = []
    ignored = {(i.source, i.customer.casefold()) for i in settings.ignored_customers}
    for name, usage in reports.items():
        if isinstance(usage, str):
            continue
        refs = [ref for c in settings.customers if (ref := c.vendor_ref(name)) is not None]
        found = {ref: usage.find(ref) for ref in refs}
        billed_names = {u.vendor_customer.casefold() for u in found.values() if u is not None}
        # A mapping that finds nothing is likely the same customer under an older or misspelt name.
        missing = [ref for ref, u in found.items() if u is None]
        for customer in usage.customers:
            key = customer.vendor_customer.casefold()
            if key in billed_names or (name, key) in ignored:
                continue
            hint = did_you_mean(customer.vendor_customer, missing)
            log.error(
                "%s customer %r is not mapped to a PSA customer%s: add a [[customers]] block with "
                "[customers.%s] customer = %r, or list it under [[ignored_customers]] (`connector map` lists "
                "every unmapped customer with its closest PSA names)",
                name,
                customer.vendor_customer,
                hint,
                name,
                customer.vendor_customer,
            )
            found_unmapped.append({"source": name, "vendor_customer": customer.vendor_customer})
    return found_unmapped
