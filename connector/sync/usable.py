"""Whether a customer's usage at a source may be billed for a period: the source answered, its report is whole, it
lists the customer, and none of the customer's vendor periods inside the billing period is incomplete."""

from __future__ import annotations

from collections.abc import Mapping

from connector.core.matching import did_you_mean
from connector.interfaces.usage import CustomerUsage, UsageReport
from mappings.customer import CustomerMapping
from mappings.measure import vendor_period_overlaps
from mappings.periods import Period


class Blocked(Exception):
    """This line cannot be billed this run; the message says why and what to do."""


def usable_usage(
    customer: CustomerMapping, source: str, period: Period, reports: Mapping[str, UsageReport | str]
) -> CustomerUsage:
    """The customer's usage at `source`, only if nothing behind it failed for the period."""
    usage_report = reports.get(source)
    if usage_report is None or isinstance(usage_report, str):
        raise Blocked(usage_report or f"no source {source}")
    if usage_report.problems:
        raise Blocked(f"{source} report unusable: {'; '.join(usage_report.problems)}")
    ref = customer.vendor_ref(source)
    assert ref is not None  # the configuration refuses a line whose source names no customer
    usage = usage_report.find(ref)
    if usage is None:
        names = [c.vendor_customer for c in usage_report.customers]
        ids = {c.vendor_customer: c.vendor_id for c in usage_report.customers if c.vendor_id}
        raise Blocked(
            f"{source} customer {ref!r} is not in the {source} data{did_you_mean(ref, names, ids=ids)}; check "
            f"[customers.{source}] customer for {customer.psa_customer!r}"
        )
    # Found by its id under another name, the vendor renamed it: billing follows the id (told in tell_renames).
    vendor_name = usage.vendor_customer
    # Every vendor period of the customer that falls in the billing period, not just the first one listed.
    spoiled = [
        u
        for u in usage_report.customer_periods(vendor_name)
        if not u.complete and (u is usage or vendor_period_overlaps(u.period_key, period))
    ]
    if spoiled:
        problems = "; ".join(p for u in spoiled for p in u.problems)
        raise Blocked(f"{source} usage for {vendor_name!r} is incomplete: {problems}")
    return usage
