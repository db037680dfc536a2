"""What the PSA's request budget for a run cannot afford: a push (the line stays pending and goes out next cycle), or
the rest of the invoice listing (the run uses what it read and says what it did not)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from connector.core.errors import ConnectorError
from mappings.truth import ContractRef


class PushDeferred(ConnectorError):
    """Raised by a sink before it sends anything for a line, when the run has spent the requests it may send.

    Not a failure: a first sync of a large MSP takes several cycles under the PSA's rate limit, and each cycle picks
    up the lines still pending (the outbox makes that crash-safe). The push stage stops there and says how far it got.
    `remedy` says what to change should no push fit in a run, cycle after cycle.
    """

    def __init__(
        self, message: str, remedy: str = "the run's reads spent it: raise that budget so a run reaches its pushes"
    ) -> None:
        super().__init__(message)
        self.remedy = remedy


class InvoicesCutShort(ConnectorError):
    """Raised by an invoicing sink whose read of the invoices stopped at its share of the run's request budget,
    so that the pushes keep theirs. `found` is what the invoices read show (a period seen invoiced is invoiced); a
    contract whose invoice was not among them keeps its ended period, and the run says so."""

    def __init__(self, message: str, found: Mapping[ContractRef, set[date]]) -> None:
        super().__init__(message)
        self.found = dict(found)
