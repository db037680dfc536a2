"""ConnectWise's timestamps as days of the MSP's billing zone, and days sent to ConnectWise as instants.

ConnectWise writes every date-time in UTC (`2026-11-01T04:00:00Z`). A field its screens take as a date (an
agreement's start and end, an addition's effective and cancelled dates) comes back as midnight UTC of that date
(`2026-12-01T00:00:00Z`): read in New York it would be 30 November, a day before what the person typed. So a
timestamp at exactly midnight UTC is the date it names; any other is an instant, and its day is the day in the
MSP's zone, as the periods it is compared with are.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def as_utc(moment: datetime) -> datetime:
    """A ConnectWise timestamp in UTC; one without an offset is UTC already (ConnectWise writes no other)."""
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)


def day_in(moment: datetime, zone: str) -> date:
    """The day of `zone` (`[billing] timezone`) a ConnectWise timestamp means (see the module's notes)."""
    moment = as_utc(moment)
    if moment.time() == time():
        return moment.date()
    return moment.astimezone(ZoneInfo(zone)).date()


def midnight(day: date, zone: str) -> datetime:
    """The instant `day` begins in `zone`, in UTC: how the connector sends ConnectWise a day of a period."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def wire_moment(moment: datetime) -> str:
    """A date-time as ConnectWise writes them: UTC, to the second, with a Z."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
