"""The operations as plain functions: state transitions with their audit, the reads behind review and explain,
reconcile's window and prices, a usage fetch that records what it saw, and the configuration check."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import providers
from connector import operations
from connector.core.config import Settings
from connector.core.errors import ConfigError, ConnectorError, ParameterError, Status, StoreBusyError
from connector.interfaces.usage import UsageReport, UsageSource
from connector.store import Store
from connector.wiring import settings_from_data
from mappings.billing import price
from mappings.lines import Line, LineStatus, StoredLine
from providers.spec import BuildContext, Reconciled

from ..fakevendor.provider import PROVIDER as SEATS

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def line(contract: str = "Backup users", quantity: str = "8", period: str = "2026-11", **fields: Any) -> Line:
    q, rate = Decimal(quantity), Decimal("3.50")
    start, end = NOVEMBER if period == "2026-11" else (None, None)
    values: dict[str, Any] = {"period_start": start, "period_end": end, "inputs": {"why": "test"}, **fields}
    identity = ("Contoso Ltd", contract, period, "altaro.billed_users")
    return Line(*identity, quantity=q, unit="user", rate=rate, amount=price(q, rate), **values)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.db") as opened:
        yield opened


def stage(store: Store, staged: Line, *, held: str | None = None, failed: str | None = None) -> StoredLine:
    stored = store.outbox.stage(staged, held)
    if failed is not None:
        store.outbox.mark_failed(stored.identity, failed)
    return store.outbox.get(stored.identity) or stored


def push(store: Store, staged: Line) -> StoredLine:
    stored = stage(store, staged)
    store.outbox.mark_pushed(stored.identity, "contract/1")
    return store.outbox.get(stored.identity) or stored


# -- review, approve, discard -------------------------------------------------------------------------------------


def test_review_lists_held_and_failed_lines_with_why(store: Store) -> None:
    held = stage(store, line("Held"), held="changed +60%")
    failed = stage(store, line("Failed"), failed="no such contract")
    stage(store, line("Pending"))
    push(store, line("Pushed"))
    rows = operations.review(store)
    assert [(r["id"], r["status"], r["reason"]) for r in rows] == [
        (held.id, LineStatus.HELD, "changed +60%"),
        (failed.id, LineStatus.FAILED, "no such contract"),
    ]
    assert set(rows[0]) == {
        *("id", "status", "psa_customer", "contract", "period", "metric"),
        *("quantity", "pushed_before", "amount", "reason"),
        *("unit", "rate", "psa_quantity", "psa_amount", "pushed_at", "pushed_amount", "change"),
    }


def test_approve_makes_held_lines_pending_and_audits_each(store: Store) -> None:
    first = stage(store, line("A"), held="rose from 0 to 8")
    stage(store, line("B"), held="rose from 0 to 8")
    (approved,) = operations.approve(store, [first.id], "checked the invoice")
    assert approved.status is LineStatus.PENDING and approved.id == first.id
    (event,) = store.runs.audit_events("Contoso Ltd")
    assert event["event"] == "approved"
    assert event["details"] == {"identity": list(first.identity), "note": "checked the invoice"}
    assert [h["note"] for h in store.outbox.history(first.identity)][-1] == "approved: checked the invoice"


def test_approve_all_takes_every_held_line(store: Store) -> None:
    held = [stage(store, line(name), held="changed") for name in ("A", "B")]
    stage(store, line("C"))
    approved = operations.approve(store, "all", "ok")
    assert [a.id for a in approved] == [h.id for h in held]
    assert not store.outbox.lines(LineStatus.HELD)


def test_approve_needs_ids_and_refuses_what_is_not_held(store: Store) -> None:
    pending = stage(store, line("Pending"))
    with pytest.raises(ConnectorError, match="name the line ids"):
        operations.approve(store, "all", "nothing is held")
    with pytest.raises(ParameterError, match=rf"no line {pending.id}, 99 is held \(those that are: none\)"):
        operations.approve(store, [pending.id, 99], "no")
    assert store.runs.audit_events() == []


def test_approve_with_the_quantities_shown_refuses_the_whole_set_when_one_differs(store: Store) -> None:
    first = stage(store, line("A"), held="changed")
    second = stage(store, line("B"), held="changed")
    shown = {first.id: Decimal(8), second.id: Decimal(8)}
    stage(store, line("B", quantity="9"), held="changed again")  # a sync re-staged it after it was shown
    with pytest.raises(operations.ChangedSinceShown, match=rf"line\(s\) {second.id} changed") as refused:
        operations.approve(store, [first.id, second.id], "as shown", expected=shown)
    assert refused.value.ids == [second.id]
    assert {x.id for x in store.outbox.lines(LineStatus.HELD)} == {first.id, second.id}
    assert store.runs.audit_events() == []
    shown[second.id] = Decimal("9.0")  # the same quantity, however the page wrote it
    approved = operations.approve(store, [first.id, second.id], "as shown", expected=shown)
    assert [x.id for x in approved] == [first.id, second.id] and not store.outbox.lines(LineStatus.HELD)


def test_approve_waits_for_no_sync(store: Store, tmp_path: Path) -> None:
    held = stage(store, line(), held="changed")
    with Store.open(tmp_path / "state.db") as syncing, syncing.sync_lock(), pytest.raises(StoreBusyError):
        operations.approve(store, [held.id], "during a sync")
    assert store.outbox.lines(LineStatus.HELD)


def test_discard_takes_open_lines_only_and_audits_each(store: Store) -> None:
    failed = stage(store, line("Failed"), failed="refused")
    pushed = push(store, line("Pushed"))
    with pytest.raises(
        ParameterError,
        match=rf"no line {pushed.id} is pending, held, failed or a correction \(those that are: {failed.id}\)",
    ):
        operations.discard(store, [failed.id, pushed.id], "billed by hand")
    assert store.runs.audit_events() == []
    (discarded,) = operations.discard(store, [failed.id], "billed by hand")
    assert discarded.status is LineStatus.DISCARDED
    assert [e["event"] for e in store.runs.audit_events()] == ["discarded"]


# -- explain ------------------------------------------------------------------------------------------------------


def test_explain_finds_a_customer_in_any_case_with_inputs_and_history(store: Store) -> None:
    pushed = push(store, line())
    stage(store, line(period="2026-10"))
    (item,) = operations.explain(store, "CONTOSO LTD", "2026-11")
    assert (item["id"], item["status"], item["psa_ref"], item["inputs"]) == (
        pushed.id,
        LineStatus.PUSHED,
        "contract/1",
        {"why": "test"},
    )
    assert [h["status"] for h in item["history"]] == ["pending", "pushed"]
    assert len(operations.explain(store, "contoso ltd")) == 2


def test_explain_without_lines_names_the_mapped_customers(store: Store) -> None:
    with pytest.raises(ConnectorError, match=r"no line items for 'A' in 2026-11; mapped customers: A, B$"):
        operations.explain(store, "A", "2026-11", mapped=["B", "A", "B"])
    # The CLI passes the mapping as a generator: still every name, not "none".
    with pytest.raises(ConnectorError, match=r"no line items for 'A'; mapped customers: A, B$"):
        operations.explain(store, "A", mapped=(name for name in ["B", "A"]))
    with pytest.raises(ParameterError, match=r"no customer 'Nobody' in the mapping or the store$"):
        operations.explain(store, "Nobody")
    with pytest.raises(ParameterError, match=r"no customer 'Contosso' .* \(did you mean 'Contoso Ltd'\?\)"):
        operations.explain(store, "Contosso", mapped=["Contoso Ltd", "Fabrikam Inc"])


# -- reconcile ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Invoiced:
    stored: StoredLine
    status: str
    invoiced_quantity: Decimal | None = None
    invoiced_amount: Decimal | None = None
    invoice_numbers: tuple[int, ...] = ()
    reason: str = ""

    @property
    def mismatch(self) -> bool:
        return self.status == "invoiced differently"


class FakeInvoices:
    """A PSA's reconcile hook: remembers what it was asked, invoices every line at `quantity`."""

    def __init__(self, quantity: str) -> None:
        self.quantity = Decimal(quantity)
        self.asked: list[tuple[list[int], date, date]] = []

    def __call__(
        self, section: Any, context: BuildContext, lines: list[StoredLine], start: date, end: date
    ) -> Sequence[Reconciled]:
        self.asked.append(([s.id for s in lines], start, end))
        return [
            Invoiced(
                s,
                "invoiced as pushed" if s.line.quantity == self.quantity else "invoiced differently",
                self.quantity,
                price(self.quantity, s.line.rate),
                (5001,),
            )
            for s in lines
        ]


def psa_settings(store: Store, *, enabled: bool = True) -> Settings:
    return settings_from_data({"store": {"path": str(store.path)}, "atera": {"enabled": enabled}})


@pytest.fixture
def invoices(monkeypatch: pytest.MonkeyPatch) -> FakeInvoices:
    fake = FakeInvoices("8")
    psa = providers.psa()
    assert psa is not None
    monkeypatch.setitem(
        providers.REGISTRY,
        psa.name,
        dataclasses.replace(psa, factories=dataclasses.replace(psa.load(), reconcile=fake)),
    )
    return fake


def test_reconcile_reads_the_period_s_invoices_and_prices_what_was_pushed(store: Store, invoices: FakeInvoices) -> None:
    # A quantity whose amount only the one money function rounds right: 8.125 x 3.50 = 28.4375 -> 28.44.
    pushed = push(store, line(quantity="8.125"))
    push(store, line(period="2026-10"))
    stage(store, line("Not pushed yet"))
    result = operations.reconcile(psa_settings(store), store, "2026-11", grace_days=10)
    assert invoices.asked == [([pushed.id], date(2026, 11, 1), date(2026, 12, 10))]
    assert (result.psa, result.start, result.end, result.status) == ("Atera", *invoices.asked[0][1:], Status.DIFFERS)
    (row,) = result.rows()
    assert row == {
        "id": pushed.id,
        "psa_customer": "Contoso Ltd",
        "contract": "Backup users",
        "period": "2026-11",
        "pushed_quantity": Decimal("8.125"),
        "pushed_amount": Decimal("28.44"),
        "invoiced_quantity": Decimal(8),
        "invoiced_amount": Decimal("28.00"),
        "invoices": [5001],
        "status": "invoiced differently",
        "why": "",
    }
    assert result.differences() == [
        "Contoso Ltd / Backup users / 2026-11: pushed 8.125, Atera invoiced 8 (invoice 5001)"
    ]


def test_reconcile_as_pushed_is_ok_and_an_undated_line_starts_today(store: Store, invoices: FakeInvoices) -> None:
    push(store, line(period="2026-Q4"))
    result = operations.reconcile(psa_settings(store), store, "2026-Q4", today=date(2027, 1, 5))
    assert (result.start, result.end, result.status, result.differences()) == (
        date(2027, 1, 5),
        date(2027, 2, 19),
        Status.OK,
        [],
    )


def test_reconcile_needs_pushed_lines_then_an_enabled_psa(store: Store, invoices: FakeInvoices) -> None:
    with pytest.raises(ConnectorError, match="no pushed lines for period '2026-11'"):
        operations.reconcile(psa_settings(store, enabled=False), store, "2026-11")
    push(store, line())
    with pytest.raises(ConfigError, match=r"^\[atera\] enabled = false: enable it \(with base_url and api_key\)"):
        operations.reconcile(psa_settings(store, enabled=False), store, "2026-11")
    assert invoices.asked == []


# -- fetch_usage --------------------------------------------------------------------------------------------------


@pytest.fixture
def seats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(providers.REGISTRY, SEATS.name, SEATS)


def seats_settings(tmp_path: Path, *, enabled: bool = True) -> Settings:
    return settings_from_data(
        {"store": {"path": str(tmp_path / "state.db")}, "seats": {"enabled": enabled, "seats": {"Acme": 7}}}
    )


def test_fetch_usage_builds_the_source_through_the_registry_and_records_it(seats: None, tmp_path: Path) -> None:
    report = operations.fetch_usage(seats_settings(tmp_path), "seats")
    assert [(c.vendor_customer, c.quantities) for c in report.customers] == [
        ("Acme", {("seats.licensed", ""): Decimal(7)})
    ]
    with Store.open(tmp_path / "state.db") as store:
        (seen,) = store.observations.query("seats")
    assert (seen.vendor_customer, seen.metric, seen.quantity, seen.unit) == (
        "Acme",
        "seats.licensed",
        Decimal(7),
        "user",
    )


def test_fetch_usage_hands_back_what_collect_returns(seats: None, tmp_path: Path) -> None:
    def collect(source: UsageSource) -> tuple[UsageReport, str]:
        report = source.collect()
        return report, f"{len(report.customers)} customer(s) from {source.name}"

    assert operations.fetch_usage(seats_settings(tmp_path), "seats", collect) == "1 customer(s) from seats"
    with Store.open(tmp_path / "state.db") as store:
        assert len(store.observations.query("seats")) == 1


def test_fetch_usage_refuses_a_disabled_or_unknown_source(seats: None, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^\[seats\] enabled = false: enable it$"):
        operations.fetch_usage(seats_settings(tmp_path, enabled=False), "seats")
    with pytest.raises(ConfigError, match="'atera' is not a registered usage source"):
        operations.fetch_usage(seats_settings(tmp_path), "atera")
    assert not (tmp_path / "state.db").exists()


# -- check --------------------------------------------------------------------------------------------------------


def test_check_warns_of_lines_whose_source_is_off_and_only_strict_fails(tmp_path: Path) -> None:
    settings = settings_from_data(
        {
            "customers": [
                {
                    "psa_customer": "Contoso Ltd",
                    "altaro": {"customer": "Contoso"},
                    "lines": [{"metric": "altaro.billed_users", "contract": "Backup users", "rate": "3.50"}],
                }
            ]
        }
    )
    summary = operations.check(settings, tmp_path / "connector.toml")
    assert summary.warnings == ["customers 'Contoso Ltd': altaro.billed_users needs [altaro] enabled = true"]
    assert (summary.status(strict=False), summary.status(strict=True)) == (Status.OK, Status.INVALID)
    data = summary.to_data()
    assert (data["customers"], data["lines"], data["sources"]["altaro"]["enabled"]) == (1, 1, False)
    assert summary.vendors == [p.name for p in providers.sources()]


def test_check_says_what_a_part_that_is_off_would_bill_and_how_to_turn_it_on() -> None:
    summary = operations.check(settings_from_data({"altaro": {"enabled": False}}), Path("connector.toml"))
    enabled, detail = summary.sources["altaro"]
    assert not enabled
    assert detail.startswith("off: " + providers.REGISTRY["altaro"].summary)
    assert "[altaro] enabled = true" in detail
