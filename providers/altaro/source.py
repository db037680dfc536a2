"""The Altaro usage source the engine polls: fetch every link under the 5-minute rule, count usage per customer.

The 5-minute rule is kept through the store's fetch ledger (seen through the narrow `FetchLedger`), so it holds
across restarts and across processes that share the store: a link is called only when the ledger grants it;
otherwise the last stored report answers (`when_too_soon = "cached"`) or the source waits until the link may be
called (`"wait"`).
A link that fails, or returns a report that is truncated or lacks a column, is a source-wide problem: none of the
source's usage is billable in that run, and its customers' observations are stored as incomplete. A key that cannot
be read is none of these: it is configuration (ConfigError), raised before any link is reserved or called.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connector.core.errors import ConnectorError, DataError, RateLimitedError
from connector.interfaces.ledger import FetchLedger, FetchReserved, FetchTooSoon
from connector.interfaces.usage import CustomerUsage, UsageReport
from providers.altaro.client import VENDOR, AltaroClient
from providers.altaro.parser import read_payload
from providers.altaro.provider import BACKUP_GB, BILLED_USERS, link_key_name
from providers.altaro.rules import SAMPLE_SIZE, BillingRules, CustomerCount, ReportTally
from providers.altaro.settings import AltaroLink, AltaroSettings

log = logging.getLogger(__name__)

MAX_WAITS = 3  # another process may take the slot we waited for; then answer from the stored report


def link_target(link: AltaroLink) -> str:
    """The fetch-ledger key of a link: a digest of its whole URL (stable across renames, reveals nothing)."""
    return "link-" + hashlib.sha256(str(link.url).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LinkPayload:
    """A link's report body, fresh from the vendor or from the ledger."""

    body: bytes
    content_type: str | None
    fetch_id: int
    fetched_at: datetime
    from_cache: bool
    status_code: int | None = None


class AltaroSource:
    """Usage source for the Altaro / Hornetsecurity report links (`[altaro]`)."""

    name = "altaro"

    def __init__(
        self,
        settings: AltaroSettings,
        ledger: FetchLedger,
        open_client: Callable[[], AltaroClient],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        # A factory, not a client: a client is opened per collection and closed after it.
        self._open_client = open_client
        self._now = now
        # Only for `when_too_soon = "wait"`; the HTTP boundary's retry waits are the client's own.
        self._sleep = sleep
        self.rules = BillingRules.from_settings(settings)

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.settings.min_interval_seconds)

    # -- the ledger and the wire -------------------------------------------------------------------------------

    def fetch(self, index: int, link: AltaroLink, client: AltaroClient, *, run_id: int | None = None) -> LinkPayload:
        """The link's report: called when the ledger allows it, else from the last stored report (or after waiting).

        A fresh call is left 'started' in the ledger; the caller completes it once the body has been checked.
        """
        # Read before the reservation: a ConfigError here leaves nothing 'started' in the ledger.
        key = link.api_key.secret(link_key_name(index))
        outcome = self._reserve(link, run_id)
        if not isinstance(outcome, FetchReserved):
            return self._stored(link, outcome)
        previous = outcome.previous
        started = self._now()
        within = previous is not None and started - previous.last_contact < self.interval
        try:
            response = client.fetch(
                link.name,
                str(link.url),
                key,
                called_within_window=within,
                window_seconds=self.settings.min_interval_seconds,
            )
        except Exception as error:
            ours = isinstance(error, ConnectorError)
            self.ledger.complete(
                outcome.fetch_id,
                "error",
                status_code=getattr(error, "status_code", None) if ours else None,
                error=str(error) if ours else f"{type(error).__name__}: {error}",
                now=self._now(),
            )
            raise
        log.info("altaro link %s: %d bytes (HTTP %d)", link.name, len(response.body), response.status_code)
        return LinkPayload(response.body, response.content_type, outcome.fetch_id, started, False, response.status_code)

    def _reserve(self, link: AltaroLink, run_id: int | None) -> FetchReserved | FetchTooSoon:
        """The ledger's answer for the link, after waiting out the window when so configured."""
        target = link_target(link)
        outcome = self.ledger.reserve(VENDOR, target, self.interval, now=self._now(), run_id=run_id)
        waits = 0
        while not isinstance(outcome, FetchReserved) and self.settings.when_too_soon == "wait" and waits < MAX_WAITS:
            delay = (outcome.next_allowed_at - self._now()).total_seconds()
            log.info(
                "altaro link %s: called %s; waiting %.0fs as configured", link.name, outcome.last.requested_at, delay
            )
            if delay > 0:
                self._sleep(delay)
            waits += 1
            outcome = self.ledger.reserve(VENDOR, target, self.interval, now=self._now(), run_id=run_id)
        return outcome

    def _stored(self, link: AltaroLink, too_soon: FetchTooSoon) -> LinkPayload:
        """The link's last good report, when it may not be called now; without one, the call budget is the error."""
        good = self.ledger.last_good(VENDOR, link_target(link))
        if good is None or good.payload is None:
            raise RateLimitedError(
                VENDOR,
                f"link {link.name!r} was called at {too_soon.last.requested_at:%Y-%m-%d %H:%M:%S} UTC "
                f"({too_soon.last.outcome}) and may not be called again before "
                f"{too_soon.next_allowed_at:%H:%M:%S} UTC; no stored report to answer from",
            )
        log.info(
            "altaro link %s: answering from the report stored at %s (next call allowed at %s)",
            link.name,
            good.requested_at,
            too_soon.next_allowed_at,
        )
        return LinkPayload(good.payload, good.content_type, good.id, good.requested_at, True, good.status_code)

    # -- collect -----------------------------------------------------------------------------------------------

    def collect(self, *, run_id: int | None = None) -> UsageReport:
        """Fetch every link and count users and size per customer and month."""
        report = UsageReport(source=self.name, observed_at=self._now())
        if not self.settings.links:
            report.problems.append("no [[altaro.links]] configured")
            return report
        for index, link in enumerate(self.settings.links):
            link.api_key.secret(link_key_name(index))  # every key, before the first link is reserved
        tally = ReportTally(self.rules)
        fetched: list[LinkPayload] = []
        client = self._open_client()
        try:
            for index, link in enumerate(self.settings.links):
                try:
                    payload = self.fetch(index, link, client, run_id=run_id)
                except ConnectorError as error:
                    # The client's error already names the vendor and the link (with its address): said once.
                    log.error("%s", error)
                    report.problems.append(str(error))
                    continue
                linked = self._count(link, payload, report, tally)
                if linked is not None:
                    tally.merge(linked)
                    fetched.append(payload)
        finally:
            client.close()
        report.fetch_ids = [p.fetch_id for p in fetched]
        report.from_cache = any(p.from_cache for p in fetched)
        report.replayed = bool(fetched) and all(p.from_cache for p in fetched)
        if report.replayed:
            # The data is as old as the stored report; stamp it so, not with the time it was re-read.
            report.observed_at = min(p.fetched_at for p in fetched)
        default_period = report.observed_at.strftime("%Y-%m")
        for count in tally.customers(default_period):
            # The calls a count came from are the report's (`fetch_ids`) and each observation's poll, not the
            # explanation's: a per-call value there would make every day's explanation new, stored again.
            report.customers.append(customer_usage(self.name, count, self.rules))
        if report.problems:
            for usage in report.customers:
                usage.fail("the altaro report is incomplete this run: " + "; ".join(report.problems))
        return report

    def _count(
        self, link: AltaroLink, payload: LinkPayload, report: UsageReport, before: ReportTally
    ) -> ReportTally | None:
        """Parse and count one link's report (rows the links `before` it counted are duplicates); a bad body is
        recorded in the ledger and as a problem."""
        where = f"altaro link {link.name!r}"
        try:
            rows = read_payload(
                payload.body,
                self.settings.columns,
                self.settings.distinct_key_column,
                content_type=payload.content_type,
                declared=link.format,
                where=where,
            )
            counted = ReportTally(self.rules, seen_before=before.rows_seen).add(rows)
        except DataError as error:
            log.error("%s", error)
            report.problems.append(str(error))
            self._record(payload, "invalid", str(error))
            return None
        except Exception as error:
            # A bug, still loud; but the call is over: record it with its body rather than leave it 'started'.
            self._record(payload, "invalid", f"{type(error).__name__}: {error}")
            raise
        self._record(payload, "ok")
        return counted

    def _record(self, payload: LinkPayload, outcome: str, error: str | None = None) -> None:
        """Complete a fresh call's ledger entry with the body it returned (a stored report is recorded already)."""
        if payload.from_cache:
            return
        self.ledger.complete(
            payload.fetch_id,
            outcome,
            status_code=payload.status_code,
            content_type=payload.content_type,
            payload=payload.body,
            error=error,
            now=self._now(),
            keep_payloads=self.settings.keep_reports,
        )


def users_explanation(count: CustomerCount, rules: BillingRules) -> dict[str, Any]:
    """Why a customer is billed this many users: the rule, the objects counted (capped) and what was left out."""
    return {
        "rule": "distinct object names (ignoring case and spaces) among rows of a billed user type",
        "billed_user_types": list(rules.type_names),
        "customer_id": count.customer_id or None,
        "spellings": count.spellings,  # of the customer's name in the report: one customer whatever the case
        "rows": count.rows,
        "duplicate_rows_ignored": count.duplicates,  # identical to a row counted before (in any link)
        "counted": count.billed_users,
        "objects": count.sample,
        "objects_not_listed": max(0, count.billed_users - len(count.sample)),
        "objects_listed_at_most": SAMPLE_SIZE,
        "by_product": count.users_by_product,
        "excluded": count.exclusion_summary(),
    }


def customer_usage(source: str, count: CustomerCount, rules: BillingRules) -> CustomerUsage:
    """One customer's quantities and their explanations, from its count."""
    usage = CustomerUsage(
        source=source,
        vendor_customer=count.customer,
        period_key=count.period_key,
        vendor_id=count.customer_id or None,
    )
    usage.quantities[(BILLED_USERS, "")] = Decimal(count.billed_users)
    for product, users in count.users_by_product.items():
        if product:
            usage.quantities[(BILLED_USERS, product)] = Decimal(users)
    usage.inputs[BILLED_USERS] = users_explanation(count, rules)
    size = count.backup_gb
    if size is not None and count.size_by_product is not None:
        usage.quantities[(BACKUP_GB, "")] = size
        for product, gb in sorted(count.size_by_product.items()):
            if product:
                usage.quantities[(BACKUP_GB, product)] = gb
        usage.inputs[BACKUP_GB] = {
            "rule": "sum of the backed-up size column over the customer's rows, excluded objects left out",
            "rows": count.rows,
            "duplicate_rows_ignored": count.duplicates,
            "gb_by_product": {p or "(none)": str(v) for p, v in sorted(count.size_by_product.items())},
        }
    for problem in count.problems:
        usage.fail(problem)
    return usage
