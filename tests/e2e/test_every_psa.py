"""End to end against every registered PSA (issue 22): the same behaviours through the real command line, in this
process, with the demo's sandboxes (the vendors and one PSA) on ephemeral 127.0.0.1 ports at the frozen clock.

Sync and re-sync, a quantity typed by hand in the PSA (review, approve, discard), explain, month end (the PSA's own
invoicing run, reconcile, the next month), export, map and onboarding, status and alerts. What differs between the
PSAs (how a person types a quantity, how the PSA invoices, how a line is read back) lives in `psa_worlds`; every
figure asserted is the connector's own report compared with what the PSA then holds or invoiced."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import providers
from connector.operations.demo import Sandboxes, running_sandboxes, write_config
from mappings.billing import price
from providers.altaro.demo import demo_report
from tests.clock import MONTH
from tests.conftest import WallClock

from .conftest import cli, sync
from .psa_worlds import DRIVERS, REFUSED, PsaDriver, closed_url, next_month, period_days, webhook

PSAS = [provider.name for provider in providers.psas()]

# The lines the tests type over by hand: two customers' storage lines, each the only line of its kind.
SERVER = ("Contoso Ltd", "axcient.server_gb")
ONLINE = ("Northwind Traders", "axcient.total_gb")


@dataclass(frozen=True)
class World:
    """The demo's sandboxes pushing into one PSA, the demo's configuration, and that PSA's driver."""

    psa: str
    sandboxes: Sandboxes
    config: Path
    driver: PsaDriver

    @property
    def sandbox(self) -> Any:
        return self.sandboxes[self.psa]

    def writes(self) -> int:
        return self.sandboxes.psa_writes()

    def held(self, line: dict[str, Any]) -> Decimal:
        """What the PSA holds on the line's contract now."""
        return self.driver.quantity(self.sandbox, line)


@pytest.fixture(params=PSAS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    psa: str = request.param
    assert psa in DRIVERS, f"{psa} is a registered PSA with no driver in tests/e2e/psa_worlds.py"
    with running_sandboxes(tmp_path, MONTH, psa) as sandboxes:
        config = write_config(tmp_path, sandboxes)
        # Retries should not make the tests wait.
        config.write_text(config.read_text().replace("backoff_initial_seconds = 0.2", "backoff_initial_seconds = 0"))
        yield World(psa, sandboxes, config, DRIVERS[psa])


def by_line(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(line["psa_customer"], line["metric"]): line for line in report["lines"]}


def line_of(line: dict[str, Any]) -> tuple[str, str]:
    """A line's PSA customer and contract, as review, reconcile and export rows name it."""
    return line["psa_customer"], line["contract"]


def outcomes(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {key: line["outcome"] for key, line in by_line(report).items()}


def first_sync(capsys: pytest.CaptureFixture[str], world: World) -> dict[str, Any]:
    code, report, err = sync(capsys, world.config)
    assert code == 0, err
    assert report["lines"] and set(outcomes(report).values()) == {"pushed"}, report["lines"]
    return report


def far_from(quantity: Any) -> Decimal:
    """A figure a person could type that no review would take for the computed one."""
    return Decimal(str(quantity)) * 10 + 7


def review(capsys: pytest.CaptureFixture[str], world: World) -> list[dict[str, Any]]:
    code, waiting, err = cli(capsys, "review", "--config", str(world.config), "--format", "json")
    assert code == 0 and isinstance(waiting, list), err
    return waiting


def reconcile(capsys: pytest.CaptureFixture[str], world: World, period: str) -> tuple[int, list[dict[str, Any]]]:
    code, rows, err = cli(capsys, "reconcile", "--period", period, "--config", str(world.config), "--format", "json")
    assert isinstance(rows, list), err
    return code, rows


def test_a_sync_pushes_every_line_and_a_second_sync_writes_nothing(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    report = first_sync(capsys, world)
    assert report["status"] == "ok" and not report["unmapped"] and not report["problems"]
    assert {line["period_key"] for line in report["lines"]} == {MONTH}
    for line in report["lines"]:
        # The PSA holds the figure pushed, priced once at the line's rate.
        assert world.held(line) == Decimal(line["quantity"]), line
        assert Decimal(line["amount"]) == price(Decimal(line["quantity"]), Decimal(line["rate"])), line
    assert Decimal(report["amount_pushed"]) == sum(Decimal(line["amount"]) for line in report["lines"])

    writes = world.writes()
    code, again, err = sync(capsys, world.config)
    assert code == 0, err
    assert world.writes() == writes  # nothing written twice
    assert set(outcomes(again).values()) == {"unchanged"}
    assert {key: line["quantity"] for key, line in by_line(again).items()} == {
        key: line["quantity"] for key, line in by_line(report).items()
    }


def test_a_quantity_typed_in_the_psa_is_held_listed_for_review_and_pushed_once_approved(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    line = by_line(first_sync(capsys, world))[SERVER]
    typed = far_from(line["quantity"])
    world.driver.type_quantity(world.sandbox, line, typed)
    writes = world.writes()

    code, report, err = sync(capsys, world.config)
    assert code == 5 and report["status"] == "held", err
    edited = by_line(report)[SERVER]
    assert edited["outcome"] == "edited in PSA" and str(typed) in edited["reason"], edited
    assert {o for key, o in outcomes(report).items() if key != SERVER} == {"unchanged"}
    assert world.writes() == writes and world.held(line) == typed  # the PSA's figure is left alone

    (waiting,) = review(capsys, world)
    assert (waiting["psa_customer"], waiting["contract"], waiting["period"]) == (*line_of(line), MONTH)
    code, _, err = cli(capsys, "approve", str(waiting["id"]), "--config", str(world.config))
    assert code == 0, err
    assert world.writes() == writes  # approving writes nothing: the next sync does

    code, report, err = sync(capsys, world.config)
    assert code == 0, err
    assert by_line(report)[SERVER]["outcome"] == "pushed"
    assert world.held(line) == Decimal(line["quantity"])  # the connector's figure again
    assert world.writes() > writes and review(capsys, world) == []
    code, report, err = sync(capsys, world.config)
    assert code == 0 and set(outcomes(report).values()) == {"unchanged"}, err


def test_a_held_line_discarded_with_a_note_is_never_pushed(capsys: pytest.CaptureFixture[str], world: World) -> None:
    line = by_line(first_sync(capsys, world))[ONLINE]
    typed = far_from(line["quantity"])
    world.driver.type_quantity(world.sandbox, line, typed)
    code, report, err = sync(capsys, world.config)
    assert code == 5 and by_line(report)[ONLINE]["outcome"] == "edited in PSA", err
    (waiting,) = review(capsys, world)
    assert line_of(waiting) == line_of(line)

    code, _, err = cli(
        capsys, "discard", str(waiting["id"]), "--config", str(world.config), "--note", "agreed by phone"
    )
    assert code == 0, err
    writes = world.writes()
    for _ in range(2):  # and it stays discarded
        code, report, err = sync(capsys, world.config)
        assert code == 0, err
        assert by_line(report)[ONLINE]["outcome"] == "discarded"
        assert {o for key, o in outcomes(report).items() if key != ONLINE} == {"unchanged"}
        assert world.writes() == writes and world.held(line) == typed
    assert review(capsys, world) == []
    code, history, err = cli(capsys, "history", "--config", str(world.config), "--format", "json")
    assert code == 0, err
    assert "agreed by phone" in str(history)


def test_explain_shows_each_line_of_a_customer_as_pushed_with_its_inputs(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    report = first_sync(capsys, world)
    contoso = [line for line in report["lines"] if line["psa_customer"] == "Contoso Ltd"]
    code, out, err = cli(capsys, "explain", "Contoso Ltd", "--config", str(world.config))
    assert code == 0 and isinstance(out, str), err
    text = " ".join(out.split())
    assert "What explains it" in text and "History" in text
    for line in contoso:
        assert f"Contoso Ltd / {line['contract']} / {MONTH}" in text, line
        figures = f"{line['quantity']} {line['unit']} x {line['rate']} = {line['amount']} (pushed)"
        assert figures in text, (figures, text)

    code, items, err = cli(capsys, "explain", "Contoso Ltd", "--config", str(world.config), "--format", "json")
    assert code == 0, err
    assert {(i["contract"], i["quantity"]) for i in items} == {(x["contract"], x["quantity"]) for x in contoso}
    assert all(i["history"][-1]["status"] == "pushed" for i in items), [i["history"] for i in items]
    assert all(i["inputs"] for i in items)


def test_after_the_psa_s_invoicing_run_reconcile_reads_every_line_invoiced_as_pushed(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    report = first_sync(capsys, world)
    code, rows = reconcile(capsys, world, MONTH)
    assert code == 0 and {row["status"] for row in rows} == {"not invoiced yet"}

    world.driver.invoice(world.sandbox, MONTH)
    code, rows = reconcile(capsys, world, MONTH)
    assert code == 0, rows
    assert {row["status"] for row in rows} == {"invoiced as pushed"}
    assert sorted(line_of(row) for row in rows) == sorted(line_of(line) for line in report["lines"])
    pushed = {line_of(line): line for line in report["lines"]}
    for row in rows:
        quantity = Decimal(pushed[line_of(row)]["quantity"])
        assert Decimal(str(row["pushed_quantity"])) == Decimal(str(row["invoiced_quantity"])) == quantity, row


def test_a_quantity_typed_before_the_invoicing_run_is_a_difference_reconcile_names(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    line = by_line(first_sync(capsys, world))[SERVER]
    typed = far_from(line["quantity"])
    world.driver.type_quantity(world.sandbox, line, typed)
    world.driver.invoice(world.sandbox, MONTH)

    code, rows = reconcile(capsys, world, MONTH)
    assert code == 3, rows
    (edited,) = [row for row in rows if line_of(row) == line_of(line)]
    assert edited["status"] == "invoiced differently", edited
    assert Decimal(str(edited["invoiced_quantity"])) == typed
    assert Decimal(str(edited["pushed_quantity"])) == Decimal(line["quantity"])
    # Another customer's invoice is not touched by the edit.
    assert {row["status"] for row in rows if row["psa_customer"] != line["psa_customer"]} == {"invoiced as pushed"}


def at_noon(wall_clock: WallClock, day: date) -> None:
    """The frozen clock moved to noon (UTC) of `day`; the Altaro link's 5 minutes are over by then."""
    assert wall_clock.coordinates is not None
    wall_clock.coordinates.move_to(datetime.combine(day, time(12), UTC))


def test_the_period_stays_open_until_the_psa_invoices_it_then_the_next_month_moves_every_line_on(
    capsys: pytest.CaptureFixture[str], world: World, wall_clock: WallClock
) -> None:
    # Polled every day of the period (a period seen on fewer days is held as partial once it ends).
    first, last = period_days(MONTH)
    for day in range(last.day):
        at_noon(wall_clock, first + timedelta(days=day))
        world.sandboxes["altaro"].reset_window()
        code, report, err = sync(capsys, world.config)
        assert code == 0, err
    assert {(line["period_key"], line["outcome"]) for line in report["lines"]} == {(MONTH, "unchanged")}

    # The first day of the next month, before the PSA invoiced the period: it stays open, nothing moves on.
    following = next_month(MONTH)
    at_noon(wall_clock, last + timedelta(days=1))
    world.sandboxes["altaro"].reset_window()
    writes = world.writes()
    code, waiting, err = sync(capsys, world.config)
    assert code == 0, err
    assert {(line["period_key"], line["outcome"]) for line in waiting["lines"]} == {(MONTH, "unchanged")}
    assert world.writes() == writes

    # The PSA's invoicing run; the next day every line moves on to the next month (the Altaro report now lists it,
    # Axcient's snapshot is today's), onto the same contracts.
    world.driver.invoice(world.sandbox, MONTH)
    at_noon(wall_clock, last + timedelta(days=2))
    world.sandboxes["altaro"].set_report(demo_report(following))
    world.sandboxes["altaro"].reset_window()
    code, moved, err = sync(capsys, world.config)
    assert code == 0, err
    outcome = world.driver.next_period_outcome
    assert {(line["period_key"], line["outcome"]) for line in moved["lines"]} == {(following, outcome)}
    assert sorted(line_of(line) for line in moved["lines"]) == sorted(line_of(line) for line in report["lines"])
    assert (world.writes() > writes) == (outcome == "pushed")
    for line in moved["lines"]:
        assert world.held(line) == Decimal(line["quantity"]), line

    # The invoiced period still reads as invoiced as pushed: moving on rewrote no invoice.
    code, rows = reconcile(capsys, world, MONTH)
    assert code == 0 and {row["status"] for row in rows} == {"invoiced as pushed"}, rows


def test_export_of_the_period_lists_every_line_in_csv_and_html(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path
) -> None:
    report = first_sync(capsys, world)
    code, text, err = cli(capsys, "export", "--config", str(world.config), "--period", MONTH)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(str(text))))
    pushed = {(line["psa_customer"], line["contract"], line["metric"]): line for line in report["lines"]}
    assert {(row["psa_customer"], row["contract"], row["metric"]) for row in rows} == set(pushed)
    for row in rows:
        line = pushed[(row["psa_customer"], row["contract"], row["metric"])]
        assert (row["quantity"], row["rate"], row["amount"]) == (line["quantity"], line["rate"], line["amount"])
        assert row["outcome"] == "pushed" and row["period"] == MONTH

    page = tmp_path / "export.html"
    code, _, err = cli(
        capsys, "export", "--config", str(world.config), "--period", MONTH, "-f", "html", "-o", str(page)
    )
    assert code == 0, err
    body = page.read_text()
    for line in report["lines"]:
        assert html.escape(line["psa_customer"]) in body and html.escape(line["contract"]) in body, line


ONBOARDED = "Tailspin Toys"


def onboarding_config(world: World) -> None:
    """Tailspin Toys, the portal's prospect the demo ignores, signs up: its trial moves to a paid plan, the demo
    stops ignoring it, and a template names its online backup line on this PSA."""
    portal = world.sandboxes["axcient"]
    (tailspin,) = [c["id"] for c in portal.customers if c["name"] == ONBOARDED]
    paid = {"service_plan": "Select", "trial_expires": None, "hard_quota_mb": None}
    accounts = [{**a, **paid} if a["customer_id"] == tailspin else a for a in portal.accounts]
    portal.load({"customers": portal.customers, "accounts": accounts})
    text = world.config.read_text()
    ignored = (
        '[[ignored_customers]]\nsource = "axcient"\ncustomer = "Tailspin Toys"\nreason = "a prospect on a trial plan"\n'
    )
    assert ignored in text
    template = (
        '\n[[mapping.templates.axcient]]\nmetric = "axcient.total_gb"\ncontract = "Online backup (per GB)"\n'
        f'rate = "0.10"\n{world.driver.template_options}\n'
    )
    world.config.write_text(text.replace(ignored, "") + template)


def test_map_matches_every_vendor_customer_the_demo_maps(capsys: pytest.CaptureFixture[str], world: World) -> None:
    code, found, err = cli(capsys, "map", "-c", str(world.config), "--format", "json")
    assert code == 0, err
    assert found["unmatched"] == [] and found["psa_only"] == []
    assert world.writes() == 0  # listing writes nothing


def test_a_new_vendor_customer_onboarded_by_map_is_billed_by_the_next_sync(
    capsys: pytest.CaptureFixture[str], world: World, tmp_path: Path
) -> None:
    onboarding_config(world)
    code, found, err = cli(capsys, "map", "-c", str(world.config), "--format", "json")
    assert code == 0, err
    assert [item["vendor_customer"]["name"] for item in found["unmatched"]] == [ONBOARDED]

    written = tmp_path / "mappings.toml"
    args = ("--create-customers", "--customer", ONBOARDED, "--yes", "--write", str(written), "--format", "json")
    code, done, err = cli(capsys, "map", "-c", str(world.config), *args)
    assert code == 0, err
    (plan,) = done["onboarding"]["plans"]
    assert plan["psa_customer"] == ONBOARDED and ("customer", ONBOARDED) in {
        (step["kind"], step["name"]) for step in plan["create"]
    }
    assert f'psa_customer = "{ONBOARDED}"' in written.read_text()
    world.config.write_text(world.config.read_text() + '\n[mappings]\nfile = "mappings.toml"\n')

    code, again, err = cli(capsys, "map", "-c", str(world.config), "--format", "json")
    assert code == 0 and again["unmatched"] == [], err
    code, report, err = sync(capsys, world.config)
    assert code == 0, err
    (line,) = [line for line in report["lines"] if line["psa_customer"] == ONBOARDED]
    assert (line["contract"], line["outcome"], line["period_key"]) == ("Online backup (per GB)", "pushed", MONTH)
    assert Decimal(line["quantity"]) > 0 and world.held(line) == Decimal(line["quantity"])
    assert set(outcomes(report).values()) == {"pushed"} and not report["unmapped"]


def test_status_says_what_waits_for_a_person(capsys: pytest.CaptureFixture[str], world: World) -> None:
    line = by_line(first_sync(capsys, world))[SERVER]
    code, status, err = cli(capsys, "status", "--config", str(world.config), "--format", "json")
    assert code == 0 and status["status"] == "ok" and status["attention"] == [], err
    assert status["waiting"] == {"held": 0, "failed": 0, "corrections": 0, "unmapped": []}
    assert [run["status"] for run in status["runs"]] == ["ok"]

    world.driver.type_quantity(world.sandbox, line, far_from(line["quantity"]))
    sync(capsys, world.config)
    code, status, err = cli(capsys, "status", "--config", str(world.config), "--format", "json")
    assert code == 5 and status["waiting"]["held"] == 1, err
    assert any("held for review" in note for note in status["attention"]), status["attention"]


def test_a_psa_that_does_not_answer_is_alerted_once_and_its_recovery_told(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    with webhook() as hook:
        reachable = world.config.read_text() + f'\n[alerts]\nurls = ["{hook.url}"]\n'
        world.config.write_text(reachable)
        first_sync(capsys, world)
        assert hook.messages == []  # nothing to tell

        psa_url = world.sandboxes.parts[world.psa].url
        assert reachable.count(psa_url) == 1
        world.config.write_text(reachable.replace(psa_url, closed_url()))
        for _ in range(2):  # the same condition twice: told once
            world.sandboxes["altaro"].reset_window()
            code, report, err = sync(capsys, world.config)
            assert code != 0 and report["status"] != "ok", err
        (alert,) = hook.messages
        assert "new to look at" in alert["title"], alert
        code, status, err = cli(capsys, "status", "--config", str(world.config), "--format", "json")
        assert code == 3 and status["status"] == "incomplete", err

        world.config.write_text(reachable)
        world.sandboxes["altaro"].reset_window()
        code, report, err = sync(capsys, world.config)
        assert code == 0, err
        assert [m["title"] for m in hook.messages] == [alert["title"], "backup-billing connector: recovered"]
        code, status, err = cli(capsys, "status", "--config", str(world.config), "--format", "json")
        assert code == 0 and status["status"] == "ok", err


def test_a_write_the_psa_refuses_fails_only_its_line_is_alerted_and_pushed_by_a_later_sync(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    with webhook() as hook:
        world.config.write_text(world.config.read_text() + f'\n[alerts]\nurls = ["{hook.url}"]\n')
        world.driver.refuse_next_update(world.sandbox)
        code, report, err = sync(capsys, world.config)
        assert code != 0, err
        (failed,) = [line for line in report["lines"] if line["outcome"] == "failed"]
        assert {line["outcome"] for line in report["lines"] if line is not failed} == {"pushed"}
        assert failed["psa_ref"] is None  # nothing of it reached the PSA
        (alert,) = hook.messages
        assert "new to look at" in alert["title"] and f"sync run {report['run_id']} incomplete" in alert["message"]
        # The alert names the line and the PSA's reason, not only the run.
        name = f"failed: {failed['psa_customer']}/{failed['contract']}/{failed['period_key']}"
        assert name in alert["message"] and REFUSED in alert["message"], alert["message"]
        (waiting,) = review(capsys, world)
        assert (waiting["status"], line_of(waiting)) == ("failed", line_of(failed))
        code, status, err = cli(capsys, "status", "--config", str(world.config), "--format", "json")
        assert code == 3 and status["waiting"]["failed"] == 1, err

        world.sandboxes["altaro"].reset_window()
        code, report, err = sync(capsys, world.config)
        assert code == 0, err
        retried = by_line(report)[(failed["psa_customer"], failed["metric"])]
        assert retried["outcome"] == "pushed" and world.held(retried) == Decimal(failed["quantity"])
        assert [m["title"] for m in hook.messages] == [alert["title"], "backup-billing connector: recovered"]
        assert review(capsys, world) == []


def test_the_demo_s_hand_edit_leaves_a_line_for_review(capsys: pytest.CaptureFixture[str], world: World) -> None:
    # What `connector demo --keep-running` does after its three steps, so the console has a line to review.
    code, first, err = sync(capsys, world.config)
    assert code == 0, err
    edit = world.sandboxes.parts[world.psa].hand_edit
    assert edit is not None
    done = edit()
    code, report, err = sync(capsys, world.config)
    assert code == 5, err
    (held,) = [line for line in report["lines"] if line["outcome"] != "unchanged"]
    assert held["outcome"] == "edited in PSA" and held["psa_customer"] in done, (held, done)
    pushed = by_line(first)[(held["psa_customer"], held["metric"])]
    assert world.held(pushed) == Decimal(900)
