"""The run's one read of Autotask: units from the first of last month to the end of this one, read once; a period
outside that window read when a line asks for it, and only then."""

from __future__ import annotations

from datetime import timedelta

from mappings.truth import ContractRef
from providers.autotask.listing import Listing, window_start
from providers.autotask.sandbox import AutotaskSandbox
from providers.autotask.verify import Located
from tests.clock import FROZEN_AT

from .support import MONTH, client, line
from .swagger_check import SwaggerContract


def units_queries(sandbox: AutotaskSandbox) -> int:
    return sum(1 for r in sandbox.requests if "ContractServiceUnits" in r.path)


def test_the_runs_read_stops_at_the_month_under_way_and_a_later_period_is_read_when_asked(
    at_sandbox: AutotaskSandbox, at_contract: SwaggerContract
) -> None:
    today = FROZEN_AT.date()
    listing = Listing(client(at_sandbox, at_contract), today)
    ref = ContractRef.of_line(line())
    listing.read([ref])
    found = listing.locate(ref)
    assert isinstance(found, Located) and found.contract_service is not None
    service = found.contract_service.id
    kept = listing.units[service].values()
    # Nothing before last month's first day, nothing after this month's last.
    assert kept and all(r.endDate is not None and r.endDate.date() >= window_start(today) for r in kept)
    assert all(r.startDate is not None and r.startDate.date() <= MONTH.end for r in kept)
    read = units_queries(at_sandbox)
    assert listing.units_in(service, MONTH.start, MONTH.end) and units_queries(at_sandbox) == read  # from the run's
    following = MONTH.end + timedelta(days=1)
    later = listing.units_in(service, following, following + timedelta(days=27))
    assert later and units_queries(at_sandbox) == read + 1  # read when asked
