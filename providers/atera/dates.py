"""Atera's timestamps as days of the MSP's billing zone, the only days a period is ever compared with."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def day_in(moment: datetime, zone: str) -> date:
    """The day of `zone` (`[billing] timezone`) that an Atera timestamp falls on.

    One with an offset is an instant: `2026-10-31T23:00:00Z` is 1 November in Berlin, and taking its UTC date would
    tie it to October. One without is a wall-clock time in the Atera account's zone, which the connector takes to be
    the MSP's own (the connector sends dates the same way): its date is the day as written.
    """
    if moment.utcoffset() is None:
        return moment.date()
    return moment.astimezone(ZoneInfo(zone)).date()
