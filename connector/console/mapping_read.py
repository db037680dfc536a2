"""What the Mapping page classifies, and when it was read: the vendor customers as the store recorded them (no vendor
called), or as a live read of the vendors found them a few minutes ago at most; and the PSA's customers and
contracts, read once and kept a few minutes in the console (`Console.sources`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from connector import operations
from connector.core.config import Settings
from connector.interfaces.usage import CustomerUsage, UsageReport
from connector.mapping.mapper import MapResult, PsaRef

log = logging.getLogger(__name__)

LIVE_SECONDS = 300  # a live read of the vendors (a refresh, or a choice's) is shown and used this long
PSA_SECONDS = 300  # the PSA's customers and contracts, read for the page, are kept this long
PsaLists = tuple[list[PsaRef], list[tuple[int, str, str]]]


@dataclass(frozen=True)
class Read:
    """The vendor customer lists the page classifies, when they were read, and whether live (else as recorded)."""

    reports: dict[str, UsageReport]
    problems: list[str]
    at: datetime | None
    live: bool


def _slim(report: UsageReport) -> UsageReport:
    """What `classify` reads of a report (each customer's name, id and period), kept without the usage behind it."""
    customers = [
        CustomerUsage(c.source, c.vendor_customer, c.period_key, vendor_id=c.vendor_id) for c in report.customers
    ]
    return UsageReport(report.source, report.observed_at, customers, problems=list(report.problems))


class Sources:
    """What the console read of the vendors and the PSA, kept for a few minutes: the last live read of the vendors,
    and the PSA's lists. `clock` is monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._live: tuple[float, Read] | None = None
        self._psa: tuple[float, datetime, PsaLists] | None = None
        self._refreshing: threading.Thread | None = None

    def live(self) -> Read | None:
        """The last live read of the vendors, if it is recent."""
        with self._lock:
            if self._live is not None and self._clock() - self._live[0] < LIVE_SECONDS:
                return self._live[1]
            return None

    def psa(self, settings: Settings) -> tuple[PsaLists, datetime]:
        """The PSA's customers and contracts, and when they were read: read now the first time; after that the lists
        kept are shown at once, and when they are older than a few minutes they are read again in the background
        for the next page (the page says when they were read), so no page waits for the PSA but the first."""
        with self._lock:
            kept = self._psa
            stale = kept is not None and self._clock() - kept[0] >= PSA_SECONDS
            if stale and self._refreshing is None:
                self._refreshing = threading.Thread(target=self._refresh, args=(settings,), daemon=True)
                self._refreshing.start()
        if kept is not None:
            return kept[2], kept[1]
        lists = operations.psa_lists(settings)
        return lists, self.keep_psa(lists)

    def _refresh(self, settings: Settings) -> None:
        try:
            self.keep_psa(operations.psa_lists(settings))
        except Exception as error:  # a background read: what failed is logged, the page keeps the older lists
            log.warning("could not read the PSA's customers and contracts for the Mapping page: %s", error)
        finally:
            with self._lock:
                self._refreshing = None

    def keep_psa(self, lists: PsaLists) -> datetime:
        at = datetime.now(UTC)
        with self._lock:
            self._psa = (self._clock(), at, lists)
        return at

    def read_live(self, settings: Settings) -> Read:
        """`connector map`'s reads: every enabled vendor's customers (recorded as observations, as the command
        records them) and the PSA's lists; kept for the page and the choices."""
        reports, problems = operations.vendor_reports(settings)
        read = Read({name: _slim(report) for name, report in reports.items()}, problems, datetime.now(UTC), live=True)
        self.keep_psa(operations.psa_lists(settings))
        with self._lock:
            self._live = (self._clock(), read)
        return read

    def forget(self) -> None:
        """The PSA changed (a customer onboarded): read it again next time."""
        with self._lock:
            self._live = self._psa = None


def recorded(settings: Settings) -> Read:
    reports, problems = operations.recorded_reports(settings)
    at = max((report.observed_at for report in reports.values()), default=None)
    return Read(reports, problems, at, live=False)


def shown(sources: Sources, settings: Settings) -> tuple[MapResult, Read, datetime]:
    """What the page shows: the recent live read if there is one, else the vendor customers as recorded, against
    the PSA's lists (kept a few minutes); and when the PSA was read. No vendor is called."""
    read = sources.live() or recorded(settings)
    psa, psa_at = sources.psa(settings)
    return operations.classify(settings, read.reports, read.problems, psa), read, psa_at


def current(sources: Sources, settings: Settings) -> MapResult:
    """What a choice acts on: the vendors and the PSA as read live (the recent live read, else read now)."""
    read = sources.live() or sources.read_live(settings)
    psa, _ = sources.psa(settings)
    return operations.classify(settings, read.reports, read.problems, psa)


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "never"
