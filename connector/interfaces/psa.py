"""What a PSA sink offers the engine: pushing a line exactly once, reading what the PSA holds, its invoiced periods."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from connector.core.errors import ConfigError
from mappings.lines import Line, Outcome
from mappings.truth import ContractRef, Held


@dataclass(frozen=True)
class PushResult:
    """What the PSA holds after a push. `wrote` is False when it already held exactly this line."""

    psa_ref: str
    wrote: bool
    previous_quantity: Decimal | None = None


class PushRefused(ConfigError):
    """Raised by a sink that found, just before a write, that the PSA would invoice other money than computed (the
    contract was deactivated, ended or changed since the run read it): nothing was written, and the line ends with
    `outcome`, as if the run's read had found it so."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


# Told of everything a push creates in the PSA besides the line (a rate product, a contract), as it happens: the
# caller keeps the audit trail, and an event told before a crash is not lost with the push's result.
PsaEvents = Callable[[str, dict[str, Any]], None]


class Sink(Protocol):
    """Where computed lines go (the PSA). A push of a line the PSA already holds must write nothing."""

    def push(self, line: Line, events: PsaEvents | None = None) -> PushResult: ...


@runtime_checkable
class VerifyingSink(Sink, Protocol):
    """A sink that can say what the PSA holds for the mapped contracts, in a few list reads per run.

    `snapshot` raises ConnectorError when the PSA cannot be read: the run is then not "ok", whatever it pushed.
    """

    psa_title: str

    def snapshot(self, refs: Sequence[ContractRef]) -> dict[ContractRef, Held]: ...


@runtime_checkable
class PeriodSink(VerifyingSink, Protocol):
    """A sink whose PSA keeps a quantity per billing period rather than one current figure (units per period):
    `held_in` narrows what `snapshot` found for a contract to the period [start, end] a line bills, reading the PSA
    when the run's read did not reach that period."""

    def held_in(self, held: Held, start: date, end: date) -> Held: ...


@runtime_checkable
class InvoicingSink(Sink, Protocol):
    """A sink that can say which periods the PSA has invoiced for the contracts waiting on an invoice, in one read
    per run.

    `invoiced_periods` gives, per contract in `wanted`, the first day of every period that an invoice dated from
    `first` to `last` (both included) bills for it. `wanted` holds, per contract, the first days of the periods it
    waits on: the read may stop once each is found. It raises ConnectorError when the PSA cannot be read, and
    `InvoicesCutShort` (holding what it found) when the run's request budget stopped the read.
    """

    psa_title: str

    def invoiced_periods(
        self, wanted: Mapping[ContractRef, Collection[date]], first: date, last: date
    ) -> dict[ContractRef, set[date]]: ...
