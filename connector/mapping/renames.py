"""Vendor customers mapped by id that the vendor renamed: told once (remembered in the audit), billed by the id."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from connector.core.config import Settings
from connector.interfaces.usage import UsageReport
from connector.store import Store

log = logging.getLogger(__name__)
EVENT = "vendor_customer_renamed"


def tell_renames(
    settings: Settings, reports: Mapping[str, UsageReport | str], store: Store, *, record: bool = True
) -> None:
    """Warn about each renamed id-mapped customer the audit has not recorded under its new name; `record` (a run
    that writes) remembers it, so the next runs stay quiet until the name changes again."""
    for customer in settings.customers:
        for source, given in customer.vendors.items():
            report = reports.get(source)
            if given.id is None or given.customer == given.id or not isinstance(report, UsageReport):
                continue
            usage = report.find(given.id)
            if usage is None or usage.vendor_customer.casefold() == given.customer.casefold():
                continue
            subject = f"{source}:{given.id}"
            told = {e["details"].get("to") for e in store.runs.audit_events(subject) if e["event"] == EVENT}
            if usage.vendor_customer in told:
                continue
            log.warning(
                "%s customer %r is now named %r at %s (same id %s): billed as before; update the name in the "
                "mapping when convenient",
                source,
                given.customer,
                usage.vendor_customer,
                source,
                given.id,
            )
            if record:
                store.runs.audit(EVENT, subject, {"from": given.customer, "to": usage.vendor_customer})
