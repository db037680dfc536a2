"""The push stage stops asking the PSA once it is down: every later line fails with the one cause, nothing is lost."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connector.core.errors import ConnectorError, VendorAuthError, VendorError
from connector.interfaces.deferral import PushDeferred
from connector.interfaces.psa import PsaEvents, PushResult
from connector.store import Store
from connector.sync.push import psa_unreachable, push_pending
from connector.sync.report import RunReport
from mappings.billing import price
from mappings.lines import Line, LineStatus, Outcome

RATE = Decimal("3.50")


def line(customer: str, quantity: int) -> Line:
    return Line(
        customer, "Backup users", "2026-11", "altaro.billed_users",
        quantity=Decimal(quantity), unit="user", rate=RATE, amount=price(Decimal(quantity), RATE),
    )  # fmt: skip


class Sink:
    """Fails each push with the next error given (None: takes it), counting the pushes it was asked for."""

    def __init__(self, *errors: ConnectorError | None) -> None:
        self.errors, self.asked = list(errors), list[str]()

    def push(self, line: Line, events: PsaEvents | None = None) -> PushResult:
        self.asked.append(line.psa_customer)
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        return PushResult(psa_ref=f"ref-{line.psa_customer}", wrote=True, previous_quantity=Decimal(0))


def staged(store: Store, *customers: str) -> None:
    for number, customer in enumerate(customers, start=1):
        store.outbox.stage(line(customer, number), None)


def report() -> RunReport:
    return RunReport(run_id=None, started_at=datetime(2026, 11, 20, tzinfo=UTC), dry_run=False)


DOWN = VendorError("atera", "GET /customers: HTTP 503 after retries where safe", status_code=503)


def test_the_first_push_the_psa_fails_as_a_whole_stops_the_rest_of_the_run(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with Store.open(":memory:") as store:
        staged(store, "Alpha", "Beta", "Gamma")
        sink, run = Sink(None, DOWN), report()
        push_pending(store, sink, run)
        assert sink.asked == ["Alpha", "Beta"]  # Gamma was not asked: Atera was down
        outcomes = {r.identity.psa_customer: (r.outcome, r.reason) for r in run.lines}
        assert outcomes["Alpha"][0] is Outcome.PUSHED
        assert outcomes["Beta"] == outcomes["Gamma"] == (Outcome.FAILED, str(DOWN))
        failed = {s.line.psa_customer: s for s in store.outbox.lines(LineStatus.FAILED)}
        assert set(failed) == {"Beta", "Gamma"} and failed["Gamma"].last_error == str(DOWN)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and str(DOWN) in errors[0].getMessage()
        # The next run pushes what waited, nothing lost and nothing twice.
        again = Sink()
        push_pending(store, again, report())
        assert again.asked == ["Beta", "Gamma"]
        assert {s.status for s in store.outbox.lines()} == {LineStatus.PUSHED}


def test_a_line_the_psa_refuses_on_its_own_does_not_stop_the_others() -> None:
    missing = VendorError("atera", "no contract 'Backup users' for Alpha", status_code=404)
    with Store.open(":memory:") as store:
        staged(store, "Alpha", "Beta")
        sink, run = Sink(missing), report()
        push_pending(store, sink, run)
        assert sink.asked == ["Alpha", "Beta"]
        assert [r.outcome for r in run.lines] == [Outcome.FAILED, Outcome.PUSHED]


def test_a_run_that_found_the_psa_down_when_reading_it_asks_it_nothing() -> None:
    with Store.open(":memory:") as store:
        staged(store, "Alpha", "Beta")
        sink, run = Sink(), report()
        run.psa_error = DOWN
        push_pending(store, sink, run)
        assert sink.asked == []
        assert [(r.outcome, r.reason) for r in run.lines] == [(Outcome.FAILED, str(DOWN))] * 2
        assert len(store.outbox.lines(LineStatus.FAILED)) == 2


def test_a_refused_key_stops_the_pushes_and_says_fix_the_configuration() -> None:
    refused = VendorAuthError("atera", "HTTP 401: the API key was refused", status_code=401)
    with Store.open(":memory:") as store:
        staged(store, "Alpha", "Beta")
        sink, run = Sink(refused), report()
        push_pending(store, sink, run)
        assert sink.asked == ["Alpha"]
        assert len(run.misconfigured) == 2


@pytest.mark.parametrize(
    ("error", "down"),
    [
        (VendorError("atera", "cannot reach the server"), True),
        (VendorError("atera", "HTTP 502", status_code=502), True),
        (VendorError("atera", "HTTP 429", status_code=429), True),
        (VendorError("atera", "HTTP 404", status_code=404), False),
        (VendorError("atera", "HTTP 422", status_code=422), False),
        (ConnectorError("something else"), False),
    ],
)
def test_which_errors_mean_the_psa_is_down(error: ConnectorError, down: bool) -> None:
    assert psa_unreachable(error) is down


def test_lines_a_spent_request_budget_defers_are_each_in_the_report_once_as_pending_for_the_next_cycle() -> None:
    budget = PushDeferred("2,000 requests sent in this run ([atera] requests_per_run)")
    with Store.open(":memory:") as store:
        # Staged earlier (approved or failed before): this run computed none of them, so the report starts empty.
        staged(store, "Alpha", "Beta", "Gamma")
        sink, run = Sink(None, budget), report()
        push_pending(store, sink, run)
        outcomes = [(r.identity.psa_customer, r.outcome) for r in run.lines]
        assert outcomes == [("Alpha", Outcome.PUSHED), ("Beta", Outcome.PENDING), ("Gamma", Outcome.PENDING)]
        assert all(r.reason.startswith("next cycle: ") for r in run.lines[1:])
        assert [s.line.psa_customer for s in store.outbox.lines(LineStatus.PENDING)] == ["Beta", "Gamma"]
