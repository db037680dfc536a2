"""The PSA sink: sets the units of a Recurring Service contract's service for one line's period, exactly once.

Autotask cannot set units: it only takes a create-only adjustment, a signed whole change from an effective date,
which can never be read back, changed or removed. Sent twice, it bills twice, for good. So a push never trusts its
own memory of what it sent: it reads the service's units for the line's period, and sends `target - current` only
when they differ, dated the period's first day; then it reads them again to confirm. A crash anywhere (before the
adjustment, after Autotask took it, before the store heard) ends the same way on the next run: the units are read
first, already equal to the target, and nothing is sent. The units never go past the target, because every change
sent is computed from units read just before it.

An adjustment holds from its date on. For the period under way that is what is wanted: the next period starts
from the same units. For a period that has ended (its final usage pushed after the month turned, before the PSA
invoiced it), the opposite change follows from the day after it, so the periods after it bill what they billed; a
crash between the two leaves the next period off by the change, which the next run reports as edited in Autotask for
a person to settle, never as fine.

What each adjustment moved (its id, the line, the period, the units before and after) is told to the caller's
`events`, which keep the audit trail in the store.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connector.core.errors import DataError, VendorAuthError, VendorError, VendorRefused
from connector.interfaces.deferral import PushDeferred
from connector.interfaces.psa import PsaEvents, PushRefused, PushResult
from mappings.enums import BillingPeriod
from mappings.lines import Line, Outcome
from mappings.periods import period_containing
from mappings.truth import ContractRef, Held, HeldContract, Missing, compare
from providers.autotask.client import AutotaskClient
from providers.autotask.listing import Listing
from providers.autotask.models import ContractServiceUnit
from providers.autotask.verify import ADDED_MARK, MAX_DESCRIPTION, PSA, Located, day, held, psa_ref

__all__ = ["AutotaskPushResult", "AutotaskSink"]

log = logging.getLogger(__name__)

Written = Callable[[int], None]
# Requests a changed line costs: the units read before the adjustment, the adjustment, the read that confirms it.
PUSH_COST = 3
# Requests adding a contract service costs before the push: the contract's services read again, the creation, the
# services read after it, and the new service's units read. All are afforded before the creation, so a deferral never
# leaves a service added and its units unset.
ADD_COST = 4


@dataclass(frozen=True)
class AutotaskPushResult(PushResult):
    """The engine's PushResult plus the contract, the contract service and the adjustment sent (0: none)."""

    contract_id: int = 0
    contract_service_id: int = 0
    adjustment_id: int = 0


@dataclass
class _Budget:
    """The database's hourly request threshold as read when the run started, and what the run may use of it."""

    threshold: int
    used: int
    stop_at: float
    requests_then: int

    @property
    def limit(self) -> int:
        return math.floor(self.threshold * self.stop_at)


class AutotaskSink:
    """Pushes computed lines into Autotask contract services' units. A push whose period the units already reflect
    sends nothing; a changed one costs three requests (read, adjustment, read).

    Companies, contracts, services and units are read once per sink (one sync run, see `Listing`).
    """

    psa_title = PSA

    def __init__(
        self,
        open_client: Callable[[], AutotaskClient],
        *,
        timezone: str = "UTC",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        stop_pushes_at: float = 0.8,
        after_adjustment: Written | None = None,
    ) -> None:
        # Opened now and kept until `close()`: a key that cannot be read stops the sync before any vendor is called.
        # Opening asks Autotask which zone serves the database; when Autotask cannot be reached, the run goes on
        # without it (its read of the PSA then fails, as any PSA that is down does, and is reported and alerted).
        self.timezone = timezone
        self.now = now
        self._unreachable: VendorError | None = None
        self._client: AutotaskClient | None = None
        try:
            self._client = open_client()
        except VendorError as error:
            if isinstance(error, VendorAuthError | VendorRefused):
                raise
            self._unreachable = error
        self._listing: Listing | None = None
        self.stop_pushes_at = stop_pushes_at
        self._budget: _Budget | None = None
        self._where: dict[str, Located] = {}
        # Tests hook in here to simulate a crash right after Autotask took an adjustment.
        self.after_adjustment = after_adjustment

    @property
    def client(self) -> AutotaskClient:
        if self._client is None:
            assert self._unreachable is not None
            raise self._unreachable
        return self._client

    @property
    def listing(self) -> Listing:
        if self._listing is None:
            self._listing = Listing(self.client, self.today())
        return self._listing

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def today(self) -> date:
        return self.now().astimezone(ZoneInfo(self.timezone)).date()

    # -- what Autotask holds -----------------------------------------------------------------------------------

    def snapshot(self, refs: Sequence[ContractRef]) -> dict[ContractRef, Held]:
        """What Autotask holds for every mapped line, in the month under way (`held_in` narrows each to the period
        its line bills): companies, catalogue, the mapped companies' contracts, their services and the mapped
        services' units, each list read once. The run's request budget is read first."""
        if not refs:
            return {}
        self._read_threshold()
        self.listing.read(refs)
        month = period_containing(BillingPeriod.MONTHLY, self.today())
        return {ref: self._held(self.listing.locate(ref), month.start, month.end) for ref in refs}

    def held_in(self, found: Held, start: date, end: date) -> Held:
        """What Autotask holds for a contract service in the period [start, end]."""
        if not isinstance(found, HeldContract) or found.ref not in self._where:
            return found
        return self._held(self._where[found.ref], start, end)

    def _held(self, found: Located | Missing, start: date, end: date) -> Held:
        if isinstance(found, Missing):
            return found
        service = found.contract_service
        if service is None:
            assert found.absent is not None
            return found.absent
        self._where[psa_ref(found.contract.id, service.id)] = found
        return held(found, service, self.listing.units_in(service.id, start, end), start, end)

    # -- the request budget ------------------------------------------------------------------------------------

    def _read_threshold(self) -> None:
        if self._budget is None:
            now = self.client.threshold()
            self._budget = _Budget(
                threshold=now.externalRequestThreshold or 10_000,
                used=now.currentTimeframeRequestCount or 0,
                stop_at=self.stop_pushes_at,
                requests_then=self.client.requests,
            )

    def _afford(self, requests: int) -> None:
        """PushDeferred when `requests` more would take the database past the share of its hourly threshold the
        connector may use: Autotask's threshold is shared with every integration on the database."""
        self._read_threshold()
        budget = self._budget
        assert budget is not None
        used = budget.used + self.client.requests - budget.requests_then
        if used + requests > budget.limit:
            raise PushDeferred(
                f"{PSA}'s database has taken about {used:,} requests this hour of its threshold of "
                f"{budget.threshold:,}, shared with every integration on it; [autotask] stop_pushes_at = "
                f"{budget.stop_at} stops pushes at {budget.limit:,}",
                remedy="the lines go out once the database's hour clears; if other integrations keep it near its "
                "threshold, raise [autotask] stop_pushes_at to let the connector use more of it",
            )

    # -- the push ----------------------------------------------------------------------------------------------

    def push(self, line: Line, events: PsaEvents | None = None) -> AutotaskPushResult:
        told = events or _unheard
        units = _whole(line)
        start, end = self._period(line)
        ref = ContractRef.of_line(line)
        self.listing.read([ref])
        found = self.listing.locate(ref)
        if isinstance(found, Located) and found.contract_service is None and found.target.create_if_missing:
            # Added only on positive evidence that it is absent: the run's list may be older than a service
            # someone added since, so the contract's services are read again just before the POST.
            self._afford(ADD_COST + PUSH_COST)
            self.listing.reread_services(found.contract.id)
            found = self.listing.locate(ref)
            if isinstance(found, Located) and found.contract_service is None:
                found = self._add_service(line, found, told)
        if isinstance(found, Missing) or found.contract_service is None:
            reason = found.reason if isinstance(found, Missing) else found.absent.reason if found.absent else ""
            raise PushRefused(Outcome.CONTRACT_MISSING, reason)
        return self._set(line, found, units, start, end, told)

    def _set(
        self, line: Line, found: Located, units: Decimal, start: date, end: date, told: PsaEvents
    ) -> AutotaskPushResult:
        service = found.contract_service
        assert service is not None
        listed = self.listing.units_in(service.id, start, end)
        # What the run read must bill this line as computed; then, before a write, what Autotask holds now too.
        self._refuse(held(found, service, listed, start, end), line, start, end)
        ref = psa_ref(found.contract.id, service.id)

        def result(*, wrote: bool, previous: Decimal, adjustment: int = 0) -> AutotaskPushResult:
            return AutotaskPushResult(ref, wrote, previous, found.contract.id, service.id, adjustment)

        if _current(listed) == units:
            return result(wrote=False, previous=units)
        # An ended period costs one read and one adjustment more (see `_later_units`).
        self._afford(PUSH_COST + (2 if end < self.today() else 0))
        fresh = self.listing.units_in(service.id, start, end, fresh=True)
        self._refuse(held(found, service, fresh, start, end), line, start, end, since=True)
        before = _current(fresh)
        if before == units:
            return result(wrote=False, previous=before)  # set since the run's read (a rerun after a crash, a person)
        if before != _current(listed):
            raise PushRefused(
                Outcome.EDITED,
                f"{PSA} contract {found.contract.contractName!r} ({found.contract.id}) now bills {before} units of "
                f"service {service.id} in {start} to {end}, not the {_current(listed)} this run read: someone adjusted "
                f"them in {PSA} since; nothing was sent. The next run compares them with what the connector pushed",
            )
        change = int(units - before)
        # The period's first day, or the contract's when it starts inside the period: Autotask refuses an adjustment
        # dated before the contract starts, and the contract's first period begins on its start date.
        effective = max(start, day(found.contract.startDate) or start)
        later = self._later_units(found, end)
        adjustment = self._adjust(found, line, change, effective, (before, units), told)
        if later is not None:
            # An ended period: the change holds from its date on, so the opposite change from the day after the
            # period keeps the periods after it billing what they billed (the connector may have set them already).
            self._adjust(found, line, -change, end + timedelta(days=1), (later + change, later), told)
        after = _current(self.listing.units_in(service.id, start, end, fresh=True))
        following = None if later is None else self._units_on(found, end + timedelta(days=1))
        if after != units or following != later:
            then = "" if later is None else f", and {following} from {end + timedelta(days=1)}, not {later}"
            raise DataError(
                f"{PSA} took adjustment {adjustment} ({change:+d} units from {effective}) of contract service "
                f"{service.id}, but now bills {after} units for {start} to {end}, not {units}{then}; run the sync "
                "again to read what it holds (it sends a change only when the units differ from the line's)"
            )
        return result(wrote=True, previous=before, adjustment=adjustment)

    def _later_units(self, found: Located, end: date) -> Decimal | None:
        """For a period that ended before today, the units the day after it (before the push changes them); None
        for the period under way (the change is meant to carry on), or when the contract ends with the period."""
        contract_end = day(found.contract.endDate)
        if end >= self.today() or (contract_end is not None and contract_end <= end):
            return None
        return self._units_on(found, end + timedelta(days=1))

    def _units_on(self, found: Located, when: date) -> Decimal:
        assert found.contract_service is not None
        return _current(self.listing.units_in(found.contract_service.id, when, when, fresh=True))

    def _adjust(
        self, found: Located, line: Line, change: int, effective: date, units: tuple[Decimal, Decimal], told: PsaEvents
    ) -> int:
        """One adjustment of `change` units from `effective`, told as it is taken (units before and after)."""
        service = found.contract_service
        assert service is not None
        body = {
            "contractID": found.contract.id,
            "contractServiceID": service.id,
            "serviceID": service.serviceID,
            "unitChange": change,
            "effectiveDate": effective,
        }
        adjustment = self.client.create_adjustment(found.contract.id, body)
        _tell(
            told,
            "autotask.units_adjusted",
            line,
            {
                "adjustment_id": adjustment,
                "contract_id": found.contract.id,
                "contract_service_id": service.id,
                "period": line.period_key,
                "effective": effective.isoformat(),
                "unit_change": change,
                "units_before": str(units[0]),
                "units_after": str(units[1]),
                "psa_ref": psa_ref(found.contract.id, service.id),
            },
        )
        if self.after_adjustment is not None:
            self.after_adjustment(adjustment)
        return adjustment

    def _period(self, line: Line) -> tuple[date, date]:
        if line.period_start is not None and line.period_end is not None:
            return line.period_start, line.period_end
        month = period_containing(BillingPeriod.MONTHLY, self.today())
        return month.start, month.end

    def _refuse(self, now: HeldContract, line: Line, start: date, end: date, *, since: bool = False) -> None:
        """PushRefused when Autotask would invoice other money than computed (nothing is written then)."""
        finding = compare(now, psa=PSA, period_start=start, period_end=end, rate=line.rate, pushed=None)
        if finding is not None:
            then = "; it changed since this run read it, nothing was sent" if since else "; nothing was sent"
            raise PushRefused(finding.outcome, finding.reason + then)

    # -- adding the service a mapping asks for -----------------------------------------------------------------

    def _add_service(self, line: Line, found: Located, told: PsaEvents) -> Located:
        contract, service = found.contract, found.service
        if service is None:
            raise PushRefused(Outcome.CONTRACT_MISSING, found.absent.reason if found.absent else "no service named")
        body = {
            "contractID": contract.id,
            "serviceID": service.id,
            "unitPrice": line.rate,
            "internalDescription": f"{ADDED_MARK} for {line.contract} ({line.metric})"[:MAX_DESCRIPTION],
        }
        created = self.client.create_contract_service(contract.id, body)
        _tell(
            told,
            "autotask.contract_service_created",
            line,
            {
                "contract_id": contract.id,
                "contract_service_id": created,
                "service_id": service.id,
                "unit_price": str(line.rate),
                "psa_ref": psa_ref(contract.id, created),
            },
        )
        self.listing.reread_services(contract.id)
        again = self.listing.locate(ContractRef.of_line(line))
        if not isinstance(again, Located) or again.contract_service is None:
            raise DataError(
                f"{PSA} answered the creation of contract service {created} on contract {contract.id}, but does not "
                "list it; run the sync again to read what it holds"
            )
        return again


def _whole(line: Line) -> Decimal:
    if line.quantity != line.quantity.to_integral_value():
        raise DataError(
            f"{line.psa_customer} / {line.contract} ({line.period_key}): {line.quantity} is not a whole number of "
            f"units, and {PSA} adjusts units by whole numbers only; sync again to compute the line with its rounding"
        )
    return line.quantity.to_integral_value()


def _current(records: Sequence[ContractServiceUnit]) -> Decimal:
    """The units a period bills now: its last record's (one record a period, unless changed inside it); none yet is
    0 (the service has never been adjusted)."""
    return Decimal(records[-1].units or 0) if records else Decimal(0)


def _unheard(event: str, details: dict[str, Any]) -> None:
    """No caller listens to this push's events (a test, a benchmark): the log line is all they leave."""


def _tell(events: PsaEvents, event: str, line: Line, details: dict[str, Any]) -> None:
    log.info("%s for %s / %s: %s", event, line.psa_customer, line.contract, details)
    events(event, details)
