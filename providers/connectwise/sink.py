"""The PSA sink: sets an agreement addition's quantity for one computed line, reading before any write.

The record (which line, period and quantity the connector set) lives in a custom field of the addition, which
ConnectWise returns with the addition: the run's listing tells whether the addition holds the line already, with no
read per line, and one PATCH sets the quantity and the record together (two `replace` operations in one request),
so ConnectWise never holds one without the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from connector.core.errors import ConfigError, DataError, VendorError
from connector.interfaces.psa import PsaEvents, PushRefused, PushResult
from mappings.lines import Line, LineIdentity, Outcome
from mappings.truth import ContractRef, Held, HeldContract, Missing, compare
from providers.connectwise import conditions as cond
from providers.connectwise.client import ConnectWiseClient
from providers.connectwise.dates import midnight
from providers.connectwise.listing import Listing
from providers.connectwise.models import Addition, CustomFieldValue
from providers.connectwise.requests import new_addition, quantity_patch, refuse_unsendable, same_number
from providers.connectwise.verify import PSA, Located, held, held_of, psa_ref
from providers.record import is_later, parse_record, record_text

__all__ = ["ConnectWisePushResult", "ConnectWiseSink"]

log = logging.getLogger(__name__)

AdditionWritten = Callable[[int], None]
Recorded = tuple[LineIdentity, Decimal]


@dataclass(frozen=True)
class ConnectWisePushResult(PushResult):
    """The engine's PushResult plus the agreement and addition that hold the line."""

    agreement_id: int = 0
    addition_id: int = 0

    @classmethod
    def of(cls, agreement_id: int, addition_id: int, *, wrote: bool, previous: Decimal | None) -> ConnectWisePushResult:
        return cls(psa_ref(agreement_id, addition_id), wrote, previous, agreement_id, addition_id)


class ConnectWiseSink:
    """Pushes computed lines into ConnectWise agreement additions. A push the addition already reflects writes
    nothing; a changed one costs one read (the addition, just before the write) and one PATCH.

    Companies, agreements and additions are read once per sink (one sync run, see `Listing`); a push finds its
    addition there, kept current with the sink's own writes. What a push creates (an addition, with
    `create_if_missing`) is told to the caller's `events`, which keeps the audit trail.
    """

    psa_title = PSA

    def __init__(
        self,
        open_client: Callable[[], ConnectWiseClient],
        *,
        custom_field: str,
        timezone: str = "UTC",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        after_addition_write: AdditionWritten | None = None,
    ) -> None:
        # Opened now and kept until `close()`: a key that cannot be read stops the sync before any vendor is called.
        self.client = open_client()
        self.listing = Listing(self.client)
        self.custom_field = custom_field
        # The MSP's billing zone: ConnectWise's dates are read as its days before any comparison with a period.
        self.timezone = timezone
        self.now = now
        # Tests hook in here to simulate a crash right after ConnectWise took a write.
        self.after_addition_write = after_addition_write

    def close(self) -> None:
        self.client.close()

    def today(self) -> date:
        return self.now().astimezone(ZoneInfo(self.timezone)).date()

    def snapshot(self, refs: Sequence[ContractRef]) -> dict[ContractRef, Held]:
        """What ConnectWise holds for every mapped line: the companies, the mapped companies' agreements and each
        mapped agreement's additions, each list read once (see `Listing`). The pushes that follow use them."""
        if not refs:
            return {}
        self.listing.read(refs)
        return {ref: held_of(self.listing.locate(ref), self.timezone, self.today()) for ref in refs}

    # -- the push ----------------------------------------------------------------------------------------------

    def push(self, line: Line, events: PsaEvents | None = None) -> ConnectWisePushResult:
        told = events or _unheard
        refuse_unsendable(line)
        ref = ContractRef.of_line(line)
        self.listing.read([ref])
        found = self.listing.locate(ref)
        if isinstance(found, Located) and found.addition is None and found.target.create_if_missing:
            # Created only on positive evidence that it is absent: the run's listing may be older than an addition
            # someone made since, so the agreement's additions are read again just before the POST.
            self.listing.reread_additions(found.agreement.id)
            found = self.listing.locate(ref)
            if isinstance(found, Located) and found.addition is None:
                return self._create(line, found, told)
        if isinstance(found, Missing) or found.addition is None:
            reason = found.reason if isinstance(found, Missing) else found.absent.reason if found.absent else ""
            raise PushRefused(Outcome.CONTRACT_MISSING, reason)
        return self._set(line, found, found.addition)

    def _set(self, line: Line, found: Located, listed: Addition) -> ConnectWisePushResult:
        agreement = found.agreement
        result = partial(ConnectWisePushResult.of, agreement.id, listed.id)
        # What the run read must bill this line as computed; then, before a write, what ConnectWise holds now too.
        self._refuse(held(found.company, agreement, listed, self.timezone, self.today()), line)
        recorded = self._recorded(listed, found, line)
        holds = listed.quantity is not None and same_number(listed.quantity, line.quantity)
        if holds and recorded == (line.identity, line.quantity):
            return result(wrote=False, previous=listed.quantity)
        current = self._reread(found, listed)
        now_held = held(found.company, agreement, current, self.timezone, self.today())
        self._refuse(now_held, line, since=True)
        self._refuse_edit(current, listed, line, found)
        recorded = self._recorded(current, found, line)
        holds = now_held.quantity is not None and same_number(now_held.quantity, line.quantity)
        if holds and recorded == (line.identity, line.quantity):
            return result(wrote=False, previous=current.quantity)  # set since the listing (a rerun, a person)
        if recorded is not None and recorded[0] == line.identity and current.quantity != recorded[1]:
            log.warning(
                "ConnectWise addition %s of agreement %r holds %s, not the %s the connector set for %s: someone "
                "changed it in ConnectWise; setting it to %s",
                current.id,
                agreement.name,
                current.quantity,
                recorded[1],
                line.period_key,
                line.quantity,
            )
        fields = self._fields_with_record(current, found, record_text(line))
        written = self.client.patch_addition(agreement.id, current.id, quantity_patch(line.quantity, fields))
        self._confirm(written, line, found)
        self.listing.put(agreement.id, written)
        self._written(current.id)
        return result(wrote=True, previous=current.quantity)

    def _reread(self, found: Located, listed: Addition) -> Addition:
        """The addition as ConnectWise holds it just before a write, into the run's listing."""
        try:
            current = self.client.addition(found.agreement.id, listed.id)
        except VendorError as error:
            if error.status_code != 404:
                raise
            raise PushRefused(
                Outcome.CONTRACT_MISSING,
                f"{PSA} addition {listed.id} of agreement {found.agreement.name!r} ({found.agreement.id}) is gone "
                "since this run read it; nothing was sent: map the line to the addition that replaces it",
            ) from error
        self.listing.put(found.agreement.id, current)
        return current

    def _refuse(self, now: HeldContract, line: Line, *, since: bool = False) -> None:
        """PushRefused when ConnectWise would invoice other money than computed (nothing is written then)."""
        start = line.period_start or self.today()
        end = line.period_end or start
        finding = compare(now, psa=PSA, period_start=start, period_end=end, rate=line.rate, pushed=None)
        if finding is not None:
            then = "; it changed since this run read it, nothing was sent" if since else "; nothing was sent"
            raise PushRefused(finding.outcome, finding.reason + then)

    def _refuse_edit(self, current: Addition, listed: Addition, line: Line, found: Located) -> None:
        """PushRefused when someone changed the quantity since the run read it (to another figure than the line's):
        the run's comparison never saw that figure, so a person decides, as for any edit in ConnectWise."""
        now, then = current.quantity, listed.quantity
        if now is None or then is None or same_number(now, then) or same_number(now, line.quantity):
            return
        raise PushRefused(
            Outcome.EDITED,
            f"{PSA} addition {current.id} of agreement {found.agreement.name!r} ({found.agreement.id}) now holds "
            f"{now}, not the {then} this run read: someone changed it in {PSA} since; nothing was sent. The next run "
            "compares it with what the connector pushed",
        )

    def _confirm(self, written: Addition, line: Line, found: Located) -> None:
        # ConnectWise answers a PATCH with the addition as it now holds it: it must hold what was sent.
        record = self._field(written, found).value
        if written.quantity is None or not same_number(written.quantity, line.quantity) or record != record_text(line):
            raise DataError(
                f"{PSA} answered the PATCH of addition {written.id} with quantity {written.quantity} and record "
                f"{record!r}, not what was sent ({line.quantity}); run the sync again to read what it holds"
            )

    # -- the record --------------------------------------------------------------------------------------------

    def _field(self, addition: Addition, found: Located) -> CustomFieldValue:
        field = addition.custom_field(self.custom_field)
        if field is None or field.id is None:
            raise ConfigError(
                f"{PSA} addition {addition.id} of agreement {found.agreement.name!r} ({found.agreement.id}) has no "
                f"custom field {self.custom_field!r}, where the connector records which line and period its quantity "
                "is for: create a Text custom field with that caption for Agreement Additions in ConnectWise (Setup "
                "Tables > Custom Fields), or set [connectwise] custom_field to the caption of yours"
            )
        return field

    def _recorded(self, addition: Addition, found: Located, line: Line) -> Recorded | None:
        """What the addition's record names (None: no record, or text the connector did not write), once it is
        checked not to rule the line out."""
        value = self._field(addition, found).value
        recorded = parse_record(value if isinstance(value, str) else None)
        if recorded is not None:
            _check_record(recorded, addition, found, line)
        return recorded

    def _fields_with_record(self, addition: Addition, found: Located, text: str) -> list[dict[str, Any]]:
        """Every custom field of the addition as read, the record's value replaced: ConnectWise takes a custom
        fields PATCH as the whole list, so one left out could be cleared."""
        ours = self._field(addition, found).id
        return [
            {**f.model_dump(exclude_none=True, exclude={"value"}), "value": text if f.id == ours else f.value}
            for f in addition.customFields
        ]

    def _written(self, addition_id: int) -> None:
        if self.after_addition_write is not None:
            self.after_addition_write(addition_id)

    # -- adding the addition a mapping asks for ----------------------------------------------------------------

    def _create(self, line: Line, found: Located, events: PsaEvents) -> ConnectWisePushResult:
        target, agreement = found.target, found.agreement
        assert target.product is not None
        item = next(iter(self.client.catalog(cond.equals("identifier", target.product))), None)
        if item is None or item.inactiveFlag:
            why = "has no product" if item is None else "holds only an inactive product"
            raise ConfigError(
                f"{PSA}'s product catalog {why} {target.product!r}: create_if_missing adds an addition of a catalog "
                f"product; fix product in [customers.lines.connectwise] or create it in {PSA}"
            )
        effective = midnight(line.period_start or self.today(), self.timezone)
        field_id = self.listing.field_id(self.custom_field)
        fields = [{"id": field_id, "value": record_text(line)}] if field_id is not None else None
        created = self.client.create_addition(
            agreement.id, new_addition(item.identifier, line.quantity, line.rate, effective, fields)
        )
        details = {
            "agreement_id": agreement.id,
            "addition_id": created.id,
            "product": item.identifier,
            "quantity": str(line.quantity),
            "unit_price": str(line.rate),
            "psa_ref": psa_ref(agreement.id, created.id),
        }
        log.info("connectwise.addition_created for %s / %s: %s", line.psa_customer, line.contract, details)
        events("connectwise.addition_created", details)
        self.listing.put(agreement.id, created)
        self._written(created.id)
        if field_id is None:
            # No addition of the run showed the field's id: the record follows in the one PATCH of a push.
            recorded = self._set(line, found, created)
            return replace(recorded, wrote=True, previous_quantity=None)
        return ConnectWisePushResult.of(agreement.id, created.id, wrote=True, previous=None)


def _check_record(recorded: Recorded, addition: Addition, found: Located, line: Line) -> None:
    """Refuse a line the addition's record rules out (an older period, a second metric on one addition)."""
    held_line, _ = recorded
    what = f"{PSA} addition {addition.id} of agreement {found.agreement.name!r}"
    if is_later(held_line.period_key, than=line.period_key):
        raise DataError(
            f"{what} already holds the quantity of period {held_line.period_key}; refusing to overwrite it with the "
            f"older period {line.period_key}"
        )
    if held_line.period_key == line.period_key and held_line.metric != line.metric:
        raise ConfigError(
            f"{what} already carries {held_line.metric} for {line.period_key}; one addition's quantity can carry one "
            f"metric, so map {line.metric} to its own addition"
        )


def _unheard(event: str, details: dict[str, Any]) -> None:
    """No caller listens to this push's events (a test, a benchmark): the log line is all they leave."""
