"""A push the PSA's request budget for this run cannot afford: the line stays pending and goes out next cycle."""

from __future__ import annotations

from connector.errors import ConnectorError


class PushDeferred(ConnectorError):
    """Raised by a sink before it sends anything for a line, when the run has spent the requests it may send.

    Not a failure: a first sync of a large MSP takes several cycles under the PSA's rate limit, and each cycle picks
    up the lines still pending (the outbox makes that crash-safe). The push stage stops there and says how far it got.
    """
