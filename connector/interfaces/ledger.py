"""What a vendor source with a call-rate rule needs of the fetch ledger: reserve a call, record its end, reread it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class FetchRecord:
    """One row of the fetch ledger."""

    id: int
    source: str
    target: str
    requested_at: datetime
    outcome: str
    status_code: int | None
    content_type: str | None
    payload_hash: str | None
    payload: bytes | None
    error: str | None
    finished_at: datetime | None = None

    @property
    def last_contact(self) -> datetime:
        """When the vendor last heard from us for this call: retries inside one call may end well after it began."""
        return max(self.requested_at, self.finished_at or self.requested_at)


@dataclass(frozen=True)
class FetchReserved:
    """The caller may call the vendor now; it must report the outcome with `ledger.complete(fetch_id, ...)`."""

    fetch_id: int
    previous: FetchRecord | None


@dataclass(frozen=True)
class FetchTooSoon:
    """A call was made within the window: the caller must not call again before `next_allowed_at`."""

    last: FetchRecord
    next_allowed_at: datetime


class FetchLedger(Protocol):
    """What a source with a call-rate rule needs of the fetch ledger: reserve a call, record its end, reread a payload.

    Narrower than the store on purpose: such a source can keep a vendor's limit without reaching observations,
    the outbox or the audit trail. The store's `Ledger` is the implementation; tests may pass their own.
    """

    def reserve(
        self,
        source: str,
        target: str,
        min_interval: timedelta,
        *,
        now: datetime | None = None,
        run_id: int | None = None,
    ) -> FetchReserved | FetchTooSoon: ...

    def complete(
        self,
        fetch_id: int,
        outcome: str,
        *,
        status_code: int | None = None,
        content_type: str | None = None,
        payload: bytes | None = None,
        error: str | None = None,
        now: datetime | None = None,
        keep_payloads: int | None = None,
    ) -> str | None: ...

    def last(self, source: str, target: str) -> FetchRecord | None: ...

    def last_good(self, source: str, target: str) -> FetchRecord | None: ...
