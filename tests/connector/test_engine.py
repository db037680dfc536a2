"""The sync engine against fake sources and a fake PSA: exactly once, never silent, reviewable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector.core.config import Settings
from connector.core.errors import ConfigError, Status, VendorAuthError, VendorError
from connector.interfaces.psa import PsaEvents, PushResult
from connector.interfaces.usage import CustomerUsage, UsageReport
from connector.store import Store
from connector.sync.engine import SyncEngine
from connector.wiring import settings_from_data
from mappings.lines import Line, LineIdentity, LineResult, LineStatus, Outcome

NOV = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


class FakeSource:
    """Serves whatever usage the test sets; the engine records what it observes."""

    def __init__(self, name: str, store: Store, clock: Callable[[], datetime]) -> None:
        self.name = name
        self.store = store
        self.clock = clock
        self.usage: dict[str, dict[str, Decimal]] = {}
        self.incomplete: dict[str, str] = {}
        self.error: Exception | None = None
        self.extra: list[CustomerUsage] = []  # other months in the same report, listed first

    def collect(self, *, run_id: int | None = None) -> UsageReport:
        if self.error is not None:
            raise self.error
        now = self.clock()
        report = UsageReport(self.name, now, customers=list(self.extra))
        for customer, metrics in self.usage.items():
            usage = CustomerUsage(self.name, customer, now.strftime("%Y-%m"))
            for metric, quantity in metrics.items():
                usage.quantities[(metric, "")] = quantity
                usage.inputs[metric] = {"objects": [f"{customer}-{i}" for i in range(int(quantity))][:3]}
            if customer in self.incomplete:
                usage.fail(self.incomplete[customer])
            report.customers.append(usage)
        return report


class FakeSink:
    """A PSA that holds one quantity per identity and counts writes; a first write creates the line's contract."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, str, str, str], Decimal] = {}
        self.writes = 0
        self.fail_for: set[str] = set()
        self.refuse: dict[str, Exception] = {}  # customer -> what the PSA answers to any push of theirs
        self.crash_for: set[str] = set()
        self.pushed: list[Line] = []

    def push(self, line: Line, events: PsaEvents | None = None) -> PushResult:
        self.pushed.append(line)
        if line.psa_customer in self.fail_for:
            raise VendorError("atera", "HTTP 500 after 5 attempts")
        if line.psa_customer in self.refuse:
            raise self.refuse[line.psa_customer]
        previous = self.held.get(line.identity)
        if previous == line.quantity:
            return PushResult(psa_ref="contract:1", wrote=False, previous_quantity=previous)
        if previous is None and events is not None:
            events("fake.contract_created", {"contract": line.contract})
        self.held[line.identity] = line.quantity
        self.writes += 1
        if line.psa_customer in self.crash_for:
            raise RuntimeError("process killed after the PSA write")
        return PushResult(psa_ref="contract:1", wrote=True, previous_quantity=previous)


def settings(**extra: Any) -> Settings:
    # These runs are on 10 November, some with October lines in the store: with the fallback invoice day 1 (this
    # fake PSA shows no invoices) October is invoiced and November is open, whatever the default fallback day.
    return settings_from_data(
        {
            "billing": {"invoice_day": 1},
            "customers": [
                {
                    "psa_customer": "Contoso Ltd",
                    "altaro_customer": "Contoso",
                    "axcient_customer": "Contoso",
                    "lines": [
                        {"metric": "altaro.billed_users", "contract": "M365 backup", "rate": "3.50"},
                        {"metric": "axcient.server_gb", "contract": "Server backup", "rate": "0.125"},
                    ],
                },
                {
                    "psa_customer": "Fabrikam Inc",
                    "altaro_customer": "Fabrikam",
                    "lines": [{"metric": "altaro.billed_users", "contract": "M365 backup", "rate": "3.25"}],
                },
            ],
            **extra,
        }
    )


class World:
    def __init__(self, config: Settings | None = None) -> None:
        self.now = NOV
        self.store = Store.open(":memory:")
        self.altaro = FakeSource("altaro", self.store, lambda: self.now)
        self.axcient = FakeSource("axcient", self.store, lambda: self.now)
        self.sink = FakeSink()
        self.settings = config or settings()
        self.altaro.usage = {
            "Contoso": {"altaro.billed_users": Decimal(12)},
            "Fabrikam": {"altaro.billed_users": Decimal(5)},
        }
        self.axcient.usage = {"Contoso": {"axcient.server_gb": Decimal("100.3")}}

    def engine(self) -> SyncEngine:
        return SyncEngine(
            self.settings, self.store, {"altaro": self.altaro, "axcient": self.axcient}, self.sink, now=lambda: self.now
        )

    def outcome(self, report: Any, customer: str, metric: str) -> LineResult:
        return next(o for o in report.lines if o.identity.psa_customer == customer and o.identity.metric == metric)


def test_pushes_every_line_once_and_a_rerun_writes_nothing() -> None:
    world = World()
    first = world.engine().run()
    assert first.status == "ok" and first.exit_code == 0
    assert sorted((o.identity.psa_customer, o.identity.metric, o.outcome, o.line.amount) for o in first.lines) == [
        ("Contoso Ltd", "altaro.billed_users", "pushed", Decimal("42.00")),
        ("Contoso Ltd", "axcient.server_gb", "pushed", Decimal("12.54")),  # 100.3 x 0.125 = 12.5375, rounded once
        ("Fabrikam Inc", "altaro.billed_users", "pushed", Decimal("16.25")),
    ]
    assert world.sink.writes == 3
    second = world.engine().run()
    assert [o.outcome for o in second.lines] == ["unchanged"] * 3
    assert world.sink.writes == 3
    assert {line.status for line in world.store.outbox.lines()} == {"pushed"}


def test_monthly_peak_is_billed_and_a_late_rise_is_corrected() -> None:
    world = World()
    world.engine().run()
    world.now = datetime(2026, 11, 20, tzinfo=UTC)
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(9)}  # fell: the peak (12) stays billed
    assert world.outcome(world.engine().run(), "Contoso Ltd", "altaro.billed_users").outcome == "unchanged"
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(14)}  # rose: corrected to the new peak
    report = world.engine().run()
    assert world.outcome(report, "Contoso Ltd", "altaro.billed_users").outcome == "pushed"
    assert world.sink.held[("Contoso Ltd", "M365 backup", "2026-11", "altaro.billed_users")] == Decimal(14)
    history = world.store.outbox.history(("Contoso Ltd", "M365 backup", "2026-11", "altaro.billed_users"))
    assert [(h["status"], h["quantity"]) for h in history] == [
        ("pending", Decimal(12)),
        ("pushed", Decimal(12)),
        ("pending", Decimal(14)),
        ("pushed", Decimal(14)),
    ]


def test_a_failing_vendor_blocks_only_its_lines_loudly(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    world.axcient.error = VendorError("axcient", "HTTP 503 after 5 attempts")
    report = world.engine().run()
    server = world.outcome(report, "Contoso Ltd", "axcient.server_gb")
    assert server.outcome == "blocked" and "HTTP 503" in server.reason
    assert world.outcome(report, "Fabrikam Inc", "altaro.billed_users").outcome == "pushed"
    assert report.status == "incomplete" and report.exit_code == 3
    assert world.store.outbox.get(("Contoso Ltd", "Server backup", "2026-11", "axcient.server_gb")) is None
    assert any(r.levelname == "ERROR" and "HTTP 503" in r.getMessage() for r in caplog.records)


def test_incomplete_customer_usage_is_never_billed_as_less() -> None:
    world = World()
    world.altaro.incomplete["Contoso"] = "report truncated at line 812"
    report = world.engine().run()
    blocked = world.outcome(report, "Contoso Ltd", "altaro.billed_users")
    assert blocked.outcome == "blocked" and "truncated at line 812" in blocked.reason
    assert world.store.outbox.get(("Contoso Ltd", "M365 backup", "2026-11", "altaro.billed_users")) is None


def test_customer_missing_from_the_vendor_data_is_blocked_not_zero() -> None:
    world = World()
    del world.altaro.usage["Fabrikam"]
    report = world.engine().run()
    blocked = world.outcome(report, "Fabrikam Inc", "altaro.billed_users")
    assert blocked.outcome == "blocked" and "'Fabrikam' is not in the altaro data" in blocked.reason


def test_unmapped_vendor_customers_are_reported_unless_ignored() -> None:
    world = World()
    world.altaro.usage["Northwind"] = {"altaro.billed_users": Decimal(3)}
    report = world.engine().run()
    assert report.unmapped == [{"source": "altaro", "vendor_customer": "Northwind"}]
    assert report.exit_code == 3
    ignoring = World(settings(ignored_customers=[{"source": "altaro", "customer": "northwind", "reason": "ours"}]))
    ignoring.altaro.usage["Northwind"] = {"altaro.billed_users": Decimal(3)}
    assert ignoring.engine().run().unmapped == []


def test_a_surprising_change_is_held_until_approved() -> None:
    world = World()
    world.engine().run()
    world.now = datetime(2026, 12, 3, tzinfo=UTC)
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(30)}  # 12 -> 30: +150%
    held = world.engine().run()
    line = world.outcome(held, "Contoso Ltd", "altaro.billed_users")
    assert line.outcome == "held" and "+150%" in line.reason
    assert held.exit_code == 5
    assert ("Contoso Ltd", "M365 backup", "2026-12", "altaro.billed_users") not in world.sink.held
    world.store.outbox.approve(("Contoso Ltd", "M365 backup", "2026-12", "altaro.billed_users"), "new department")
    approved = world.engine().run()
    assert world.outcome(approved, "Contoso Ltd", "altaro.billed_users").outcome == "pushed"
    assert world.sink.held[("Contoso Ltd", "M365 backup", "2026-12", "altaro.billed_users")] == Decimal(30)


def test_dry_run_plans_without_writing_anything() -> None:
    world = World()
    report = world.engine().run(dry_run=True)
    assert {o.outcome for o in report.lines} == {"planned"}
    assert world.store.outbox.lines() == [] and world.sink.writes == 0
    assert report.run_id is None


def test_push_failure_is_kept_and_retried_next_run() -> None:
    world = World()
    world.sink.fail_for = {"Fabrikam Inc"}
    report = world.engine().run()
    failed = world.outcome(report, "Fabrikam Inc", "altaro.billed_users")
    assert failed.outcome == "failed" and "HTTP 500" in failed.reason
    stored = world.store.outbox.get(("Fabrikam Inc", "M365 backup", "2026-11", "altaro.billed_users"))
    assert stored is not None and stored.status == "failed" and stored.attempts == 1
    world.sink.fail_for = set()
    assert world.outcome(world.engine().run(), "Fabrikam Inc", "altaro.billed_users").outcome == "pushed"


def test_crash_after_the_psa_write_ends_with_one_correct_value() -> None:
    world = World()
    world.sink.crash_for = {"Fabrikam Inc"}
    with pytest.raises(RuntimeError):
        world.engine().run()
    # The crashed run says so in the store rather than looking as if it still ran.
    crashed = world.store.db.execute("SELECT status, summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    assert crashed[0] == "crashed" and "process killed after the PSA write" in crashed[1]
    world.sink.crash_for = set()
    rerun = world.engine().run()
    fabrikam = world.outcome(rerun, "Fabrikam Inc", "altaro.billed_users")
    assert fabrikam.outcome == "unchanged" and "already held" in fabrikam.reason
    assert world.sink.held[("Fabrikam Inc", "M365 backup", "2026-11", "altaro.billed_users")] == Decimal(5)
    assert {line.status for line in world.store.outbox.lines()} == {"pushed"}


def test_without_a_psa_pending_lines_are_a_problem_not_a_success() -> None:
    world = World()
    engine = SyncEngine(
        world.settings, world.store, {"altaro": world.altaro, "axcient": world.axcient}, None, now=lambda: world.now
    )
    report = engine.run()
    assert report.exit_code == 3 and "nothing was pushed" in report.problems[0]
    assert {line.status for line in world.store.outbox.lines()} == {"pending"}


def test_a_push_that_failed_at_the_end_of_a_period_is_retried_in_the_next_one() -> None:
    world = World()
    world.now = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    world.sink.fail_for = {"Fabrikam Inc"}
    world.engine().run()
    november = ("Fabrikam Inc", "M365 backup", "2026-11", "altaro.billed_users")
    world.sink.fail_for = set()
    world.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    # December's report still lists November, so November is covered whole (not held as partially observed).
    row = CustomerUsage("altaro", "Fabrikam", "2026-11")
    row.quantities[("altaro.billed_users", "")] = Decimal(5)
    world.altaro.extra = [row]
    report = world.engine().run()
    retried = next(o for o in report.lines if o.identity == november)
    assert retried.outcome == "pushed"
    assert world.sink.held[november] == Decimal(5)
    stored = world.store.outbox.get(november)
    assert stored is not None and stored.status == "pushed"


def test_a_line_staged_earlier_is_not_pushed_while_its_customer_is_blocked() -> None:
    world = World()
    without_psa = SyncEngine(
        world.settings, world.store, {"altaro": world.altaro, "axcient": world.axcient}, None, now=lambda: world.now
    )
    without_psa.run()  # Contoso's 12 users staged as pending, not pushed
    world.now = datetime(2026, 11, 20, tzinfo=UTC)
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(30)}
    world.altaro.incomplete["Contoso"] = "report truncated at line 812"
    report = world.engine().run()
    blocked = world.outcome(report, "Contoso Ltd", "altaro.billed_users")
    assert blocked.outcome == "blocked" and "truncated at line 812" in blocked.reason
    identity = ("Contoso Ltd", "M365 backup", "2026-11", "altaro.billed_users")
    assert identity not in world.sink.held
    stored = world.store.outbox.get(identity)
    assert stored is not None and stored.status == "pending"
    assert world.outcome(report, "Fabrikam Inc", "altaro.billed_users").outcome == "pushed"


def test_an_incomplete_month_is_not_hidden_by_a_complete_earlier_month_in_the_same_report() -> None:
    world = World()
    world.sink.fail_for = {"Contoso Ltd"}
    world.engine().run()  # Contoso's 12 users computed, push failed
    world.sink.fail_for = set()
    world.now = datetime(2026, 11, 20, tzinfo=UTC)
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(30)}
    world.altaro.incomplete["Contoso"] = "report truncated at line 812"
    # The report also carries October (Month column), complete, listed before November.
    world.altaro.extra.append(CustomerUsage("altaro", "Contoso", "2026-10", {("altaro.billed_users", ""): Decimal(10)}))
    report = world.engine().run()
    blocked = world.outcome(report, "Contoso Ltd", "altaro.billed_users")
    assert blocked.outcome == "blocked" and "truncated at line 812" in blocked.reason
    assert ("Contoso Ltd", "M365 backup", "2026-11", "altaro.billed_users") not in world.sink.held


def test_a_failed_line_from_an_older_store_without_a_push_plan_is_reported_not_crashed_on() -> None:
    world = World()
    world.store.db.execute(
        "INSERT INTO line_items (psa_customer, contract, period_key, metric, quantity, unit, rate, amount, status, "
        "inputs, created_at, updated_at) VALUES ('Fabrikam Inc', 'M365 backup', '2026-10', 'altaro.billed_users', "
        "'5', 'user', '3.25', '16.25', 'failed', '{}', '2026-10-31T00:00:00+00:00', '2026-10-31T00:00:00+00:00')"
    )
    report = world.engine().run()
    october = next(o for o in report.lines if o.identity.period_key == "2026-10")
    assert october.outcome == "failed" and "--period 2026-10" in october.reason
    assert world.outcome(report, "Fabrikam Inc", "altaro.billed_users").outcome == "pushed"
    assert report.exit_code == 3


def test_a_line_still_held_from_an_earlier_period_keeps_the_run_waiting_for_review() -> None:
    world = World()
    world.engine().run()
    world.now = datetime(2026, 12, 3, tzinfo=UTC)
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(30)}  # 12 -> 30: held
    world.engine().run()
    world.now = datetime(2027, 1, 4, tzinfo=UTC)
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(13)}  # back within bounds of the last push
    report = world.engine().run()
    december = next(o for o in report.lines if o.identity[:3] == ("Contoso Ltd", "M365 backup", "2026-12"))
    assert december.outcome == "held" and "+150%" in december.reason
    assert report.exit_code == 5


def test_an_approved_jump_is_pushed_even_when_usage_grows_a_little_before_the_next_sync() -> None:
    world = World()
    world.engine().run()  # 100.3 GB pushed for November
    world.now = datetime(2026, 12, 3, tzinfo=UTC)
    world.axcient.usage["Contoso"] = {"axcient.server_gb": Decimal("180.0")}  # +79%: held
    held = world.engine().run()
    assert world.outcome(held, "Contoso Ltd", "axcient.server_gb").outcome == "held"
    identity = ("Contoso Ltd", "Server backup", "2026-12", "axcient.server_gb")
    world.store.outbox.approve(identity, "new file server")
    world.now = datetime(2026, 12, 3, 1, tzinfo=UTC)
    world.axcient.usage["Contoso"] = {"axcient.server_gb": Decimal("180.4")}  # backups keep growing
    report = world.engine().run()
    assert world.outcome(report, "Contoso Ltd", "axcient.server_gb").outcome == "pushed"
    assert world.sink.held[identity] == Decimal("180.4")


def test_a_run_tells_what_it_is_doing_stage_by_stage() -> None:
    world = World()
    stages: list[str] = []
    engine = SyncEngine(
        world.settings,
        world.store,
        {"altaro": world.altaro, "axcient": world.axcient},
        world.sink,
        now=lambda: world.now,
        progress=stages.append,
    )
    report = engine.run()
    pushed = report.count(Outcome.PUSHED)
    assert pushed > 0
    assert stages[:2] == ["fetching usage from altaro", "fetching usage from axcient"]
    assert stages[2].startswith("computing the lines of")
    assert stages[3:] == [f"pushing line {n} of {pushed} to the PSA" for n in range(1, pushed + 1)]


def test_the_sink_gets_the_psa_s_options_and_what_it_creates_is_audited() -> None:
    world = World(
        settings(
            customers=[
                {
                    "psa_customer": "Contoso Ltd",
                    "altaro_customer": "Contoso",
                    "lines": [
                        {
                            "metric": "altaro.billed_users",
                            "contract": "M365 backup",
                            "rate": "3.50",
                            "rate_sku": "M365-USER",
                            "create_if_missing": True,
                        }
                    ],
                }
            ]
        )
    )
    world.engine().run()
    (line,) = world.sink.pushed
    assert line.psa == {"rate_sku": "M365-USER", "create_if_missing": True}
    assert line.inputs["vendor_customer"] == "Contoso" and line.inputs["observations"]["observations_considered"] == 1
    identity = ["Contoso Ltd", "M365 backup", "2026-11", "altaro.billed_users"]
    events = [(e["event"], e["details"]) for e in world.store.runs.audit_events("Contoso Ltd")]
    assert events == [
        ("fake.contract_created", {"identity": identity, "contract": "M365 backup"}),
        ("pushed", {"identity": identity, "quantity": "12", "previous_quantity": "None", "psa_ref": "contract:1"}),
    ]


def test_a_dry_run_says_what_a_real_run_then_does() -> None:
    world = World()
    world.engine().run()
    world.now = datetime(2026, 12, 3, tzinfo=UTC)
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(30)}  # held
    world.engine().run()
    world.store.outbox.discard(LineIdentity("Contoso Ltd", "M365 backup", "2026-12", "altaro.billed_users"), "no")
    world.altaro.usage["Fabrikam"] = {"altaro.billed_users": Decimal(6)}  # within bounds: pending, then pushed

    def said(report: Any) -> list[tuple[LineIdentity, Outcome, str]]:
        return [(o.identity, o.outcome, o.reason) for o in report.lines]

    dry = said(world.engine().run(dry_run=True))
    staged = said(world.engine().run(push=False))
    assert [o for _, o, _ in dry] == [Outcome.DISCARDED, Outcome.UNCHANGED, Outcome.PLANNED]
    assert [(i, Outcome.PENDING if o is Outcome.PLANNED else o, r) for i, o, r in dry] == staged
    assert world.store.outbox.get(staged[2][0]).status is LineStatus.PENDING  # type: ignore[union-attr]


def test_the_report_keeps_its_json_shape() -> None:
    world = World()
    world.axcient.error = VendorError("axcient", "HTTP 503 after 5 attempts")
    data = world.engine().run().to_data()
    assert list(data) == [
        *("run_id", "started_at", "dry_run", "finished_at", "sources", "lines", "unmapped", "problems"),
        *("abandoned", "strays", "status", "totals", "amount_pushed"),
    ]
    assert list(data["totals"]) == [
        "unchanged",
        "discarded",
        "pushed",
        "planned",
        "pending",
        "held",
        "correction",
        "edited in PSA",
        "rate differs",
        "contract inactive",
        "contract ended",
        "contract missing",
        "blocked",
        "failed",
    ]
    blocked = next(line for line in data["lines"] if line["outcome"] == "blocked")
    assert blocked == {
        "psa_customer": "Contoso Ltd",
        "contract": "Server backup",
        "period_key": "2026-11",
        "metric": "axcient.server_gb",
        "outcome": "blocked",
        "quantity": None,
        "unit": "",
        "rate": None,
        "amount": None,
        "reason": "axcient failed: axcient: HTTP 503 after 5 attempts",
        "psa_ref": None,
        "psa_quantity": None,
    }
    assert data["amount_pushed"] == Decimal("58.25") and data["totals"]["pushed"] == 2


def test_a_run_that_never_finished_is_reported_abandoned_by_the_next_one(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    killed = world.store.runs.start("sync --period 2026-11")  # its process died before it could finish the row
    report = world.engine().run()
    (abandoned,) = report.abandoned
    assert abandoned["run_id"] == killed and f"found by run {report.run_id}" in abandoned["note"]
    assert report.status == "ok"  # what the killed run left pending, this one pushed
    assert any(r.levelname == "WARNING" and f"run {killed} " in r.getMessage() for r in caplog.records)
    assert world.engine().run().abandoned == []


NO_CUSTOMER = ConfigError("Atera has no customer named 'Fabrikam Inc': check psa_customer (or set psa_customer_id)")


@pytest.mark.parametrize("refusal", [NO_CUSTOMER, VendorAuthError("atera", "HTTP 401: the API key was refused")])
def test_a_push_refused_on_configuration_fails_its_line_and_the_run_says_fix_the_configuration(
    refusal: Exception,
) -> None:
    world = World()
    world.sink.refuse = {"Fabrikam Inc": refusal}
    report = world.engine().run()
    failed = world.outcome(report, "Fabrikam Inc", "altaro.billed_users")
    assert failed.outcome == "failed" and failed.reason == str(refusal)
    assert world.outcome(report, "Contoso Ltd", "altaro.billed_users").outcome == "pushed"
    assert (report.status, report.exit_code) == (Status.INVALID, 2)
    stored = world.store.outbox.get(failed.identity)
    assert stored is not None and stored.status == "failed" and stored.last_error == str(refusal)
    # Retried on the next run, and still configuration to fix until someone fixes it.
    assert world.engine().run().exit_code == 2
    world.sink.refuse = {}
    assert world.engine().run().exit_code == 0


def test_configuration_to_fix_gives_way_to_anything_worse_and_outranks_a_held_line() -> None:
    world = World()
    world.sink.refuse = {"Fabrikam Inc": NO_CUSTOMER}
    world.sink.fail_for = {"Contoso Ltd"}  # a PSA failure as well: worse, the run is incomplete
    assert world.engine().run().status is Status.INCOMPLETE
    world.sink.fail_for = set()
    world.axcient.error = VendorError("axcient", "HTTP 503 after 5 attempts")  # a vendor down: incomplete too
    assert world.engine().run().status is Status.INCOMPLETE
    world.axcient.error = None
    world.engine().run()
    world.now = datetime(2026, 12, 3, tzinfo=UTC)
    world.altaro.usage["Contoso"] = {"altaro.billed_users": Decimal(30)}  # held for review
    report = world.engine().run()
    assert world.outcome(report, "Contoso Ltd", "altaro.billed_users").outcome == "held"
    assert report.status is Status.INVALID
