"""End to end: `connector sync`, `review`, `approve` through the CLI against the three sandbox vendors.

The sandboxes run on 127.0.0.1 with ephemeral ports; the configuration is the demo's (secrets in files).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.operations.demo import Sandboxes
from connector.store import Store
from connector.store.ledger import PAYLOAD_COLUMN
from providers.axcient.generate import demo_dataset
from providers.sandbox import Fault

from .conftest import MONTH, cli, sync


def outcomes(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(line["psa_customer"], line["metric"]): line["outcome"] for line in report["lines"]}


def test_a_vendor_down_blocks_only_its_lines_and_nothing_is_billed_as_zero(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    sandboxes["axcient"].inject(Fault(status=503), times=50)
    code, report, err = sync(capsys, config)
    assert code == 3
    assert report["status"] == "incomplete"
    by_line = outcomes(report)
    assert by_line[("Contoso Ltd", "altaro.billed_users")] == "pushed"
    assert {o for (customer, metric), o in by_line.items() if metric.startswith("axcient")} == {"blocked"}
    assert {s["name"]: s["status"] for s in report["sources"]} == {"altaro": "ok", "axcient": "failed"}
    with Store.open(config.parent / "connector-state.db") as store:
        assert store.observations.query("axcient") == []
        assert {stored.line.metric for stored in store.outbox.lines()} == {"altaro.billed_users"}
    assert "axcient" in err and "503" in err


def test_an_unmapped_vendor_customer_fails_the_run_loudly(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    data = demo_dataset()
    data["customers"].append({"id": 9, "name": "Woodgrove Bank", "contact": {"name": "W", "email": "w@example.test"}})
    sandboxes["axcient"].load(data)
    code, report, err = sync(capsys, config, "--dry-run")
    assert code == 3
    assert report["unmapped"] == [{"source": "axcient", "vendor_customer": "Woodgrove Bank"}]
    assert "Woodgrove Bank" in err and "[[customers]]" in err
    # Everything mapped is still computed; a dry run writes nothing to Atera.
    assert set(outcomes(report).values()) == {"planned"}
    assert sandboxes["atera"].writes() == []


def test_a_big_change_is_held_until_approved_then_pushed_once(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    code, first, _ = sync(capsys, config)
    assert code == 0 and set(outcomes(first).values()) == {"pushed"}
    # Northwind's server triples its storage: more than the 50% the review allows.
    data = demo_dataset()
    for account in data["accounts"]:
        if account["computer_name"] == "NW-SRV01":
            account["used_mb_compressed"] *= 3
    sandboxes["axcient"].load(data)
    writes_before = len(sandboxes["atera"].writes())
    code, second, _ = sync(capsys, config)
    assert code == 5 and second["status"] == "held"
    assert outcomes(second)[("Northwind Traders", "axcient.total_gb")] == "held"
    assert len(sandboxes["atera"].writes()) == writes_before

    code, held, _ = cli(capsys, "review", "--config", str(config), "--format", "json")
    assert code == 0 and [h["psa_customer"] for h in held] == ["Northwind Traders"]
    assert "over review.max_change_percent" in held[0]["reason"]
    code, _, err = cli(capsys, "approve", str(held[0]["id"]), "--config", str(config))
    assert code == 0, err

    code, third, _ = sync(capsys, config)
    assert code == 0
    assert outcomes(third)[("Northwind Traders", "axcient.total_gb")] == "pushed"
    pushed = next(line for line in third["lines"] if line["metric"] == "axcient.total_gb")
    contract = next(
        c
        for c in sandboxes["atera"].contracts.values()
        if c["CustomerName"] == "Northwind Traders" and c["ContractName"] == "Online backup (per GB)"
    )
    assert Decimal(str(contract["RetainerFlatFeeContract"]["Quantity"])) == Decimal(str(pushed["quantity"]))
    code, fourth, _ = sync(capsys, config)
    assert code == 0 and set(outcomes(fourth).values()) == {"unchanged"}


def test_a_cut_report_blocks_the_altaro_lines(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    sandboxes["altaro"].serve_cut(400)  # the report ends in the middle of a row
    code, report, err = sync(capsys, config, "--dry-run")
    assert code == 3
    by_line = outcomes(report)
    assert {o for (_, metric), o in by_line.items() if metric.startswith("altaro")} == {"blocked"}
    assert {o for (_, metric), o in by_line.items() if metric.startswith("axcient")} == {"planned"}
    assert "altaro" in err


def test_a_failed_push_waits_in_review_is_retried_and_can_be_discarded(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    # A contract to create whose rate product exists at another price: verified as creatable, refused at the push.
    # (On a rate product none of Fabrikam's contracts bills: one beside such a contract is never created at all.)
    text = config.read_text().replace(
        'atera = { rate_sku = "BFF-PC-GB", create_if_missing = true }\n',
        'atera = { rate_sku = "BFF-PC-GB", create_if_missing = true }\n\n[[customers.lines]]\n'
        'metric = "axcient.pc_devices"\ncontract = "No such contract"\nrate = "4.00"\n'
        'atera = { rate_sku = "BFF-SERVER-GB", create_if_missing = true }\n',
    )
    config.write_text(text)
    code, first, _ = sync(capsys, config)
    assert code == 2 and outcomes(first)[("Fabrikam Inc", "axcient.pc_devices")] == "failed"  # configuration to fix
    code, waiting, _ = cli(capsys, "review", "--config", str(config), "--format", "json")
    (failed,) = waiting
    assert failed["status"] == "failed" and "BFF-SERVER-GB" in failed["reason"]

    code, second, _ = sync(capsys, config)
    assert code == 2 and outcomes(second)[("Fabrikam Inc", "axcient.pc_devices")] == "failed"

    code, _, err = cli(capsys, "discard", str(failed["id"]), "--config", str(config), "--note", "billed by hand")
    assert code == 0, err
    code, third, _ = sync(capsys, config)
    assert code == 0, third
    assert outcomes(third)[("Fabrikam Inc", "axcient.pc_devices")] == "discarded"
    code, waiting, _ = cli(capsys, "review", "--config", str(config), "--format", "json")
    assert waiting == []


def test_approving_while_a_sync_runs_is_refused(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    with Store.open(config.parent / "connector-state.db") as store, store.sync_lock():
        code, _, err = cli(capsys, "approve", "--all", "--config", str(config))
    assert code == 4 and "a sync is already running" in err


def test_reconcile_checks_atera_s_invoices_against_what_was_pushed(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    code, report, _ = sync(capsys, config)
    assert code == 0
    code, rows, _ = cli(capsys, "reconcile", "--period", MONTH, "--config", str(config), "--format", "json")
    assert code == 0 and {r["status"] for r in rows} == {"not invoiced yet"}

    # Someone edits a quantity in Atera after the push; then Atera's invoicing run bills the period.
    contract = next(c for c in sandboxes["atera"].contracts.values() if c["ContractName"] == "Server backup (per GB)")
    contract["RetainerFlatFeeContract"]["Quantity"] = 1
    first_day = datetime.strptime(MONTH, "%Y-%m").date()
    last_day = (first_day + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    sandboxes["atera"].invoice_retainers(first_day, last_day, last_day + timedelta(days=1))

    code, rows, err = cli(capsys, "reconcile", "--period", MONTH, "--config", str(config), "--format", "json")
    assert code == 3
    by_contract = {(r["psa_customer"], r["contract"]): r for r in rows}
    assert len(by_contract) == len(report["lines"])
    edited = by_contract[("Contoso Ltd", "Server backup (per GB)")]
    assert edited["status"] == "invoiced differently" and Decimal(str(edited["invoiced_quantity"])) == 1
    others = [r for key, r in by_contract.items() if key != ("Contoso Ltd", "Server backup (per GB)")]
    assert {r["status"] for r in others} == {"invoiced as pushed"}
    assert all(Decimal(str(r["invoiced_quantity"])) == Decimal(str(r["pushed_quantity"])) for r in others)
    assert "Server backup (per GB)" in err and "invoice" in err


def test_the_dry_run_the_push_and_reconcile_agree_on_every_line_of_the_demo(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    def money(line: dict[str, Any], *keys: str) -> tuple[Decimal, ...]:
        return tuple(Decimal(str(line[key])) for key in keys)

    code, dry, _ = sync(capsys, config, "--dry-run")
    assert code == 0
    planned = {(line["psa_customer"], line["contract"]): line for line in dry["lines"]}
    code, pushed, _ = sync(capsys, config)
    assert code == 0 and len(pushed["lines"]) == len(planned) == 7
    first_day = datetime.strptime(MONTH, "%Y-%m").date()
    last_day = (first_day + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    sandboxes["atera"].invoice_retainers(first_day, last_day, last_day + timedelta(days=1))
    code, reconciled, _ = cli(capsys, "reconcile", "--period", MONTH, "--config", str(config), "--format", "json")
    assert code == 0
    by_contract = {(row["psa_customer"], row["contract"]): row for row in reconciled}
    for line in pushed["lines"]:
        key = (line["psa_customer"], line["contract"])
        quantity, rate, amount = money(line, "quantity", "rate", "amount")
        # The figure shown before the push, the figure pushed, and the figure reconciled are one computation...
        assert money(planned[key], "quantity", "rate", "amount") == (quantity, rate, amount), key
        assert money(by_contract[key], "pushed_quantity", "pushed_amount") == (quantity, amount), key
        # ...and it is what Atera's own invoicing run makes of the pushed quantity at the contract's rate.
        assert money(by_contract[key], "invoiced_quantity", "invoiced_amount") == (quantity, amount), key
        assert amount == (quantity * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), key
    assert Decimal(str(pushed["amount_pushed"])) == sum(money(line, "amount")[0] for line in pushed["lines"])


def test_secrets_a_vendor_echoes_never_reach_the_store(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    import hashlib

    from providers.altaro.demo import demo_report
    from providers.altaro.sandbox import DEFAULT_API_KEY as ALTARO_KEY
    from providers.atera.sandbox import DEFAULT_API_KEY as ATERA_KEY
    from providers.axcient.sandbox import DEFAULT_PASSWORD as AXCIENT_PASSWORD

    # Each vendor echoes its credential in a body the connector keeps: a 200 report, a 200 list, an error.
    echo_row = f"Echo {ALTARO_KEY},{'0' * 32},365 Total Backup,{MONTH},Mailbox,{ALTARO_KEY},1.00\r\n"
    sandboxes["altaro"].set_report(demo_report(MONTH) + echo_row)
    data = demo_dataset()
    data["customers"].append({"id": 9, "name": f"Echo {AXCIENT_PASSWORD}", "contact": {"name": "E", "email": "e@x"}})
    sandboxes["axcient"].load(data)
    sandboxes["atera"].inject(Fault(status=400, body=f'{{"message": "refused key {ATERA_KEY}"}}'.encode()))
    code, first, err = sync(capsys, config)
    assert code == 3, err
    assert {"source": "altaro", "vendor_customer": "Echo ***"} in first["unmapped"]
    # Again within the Altaro link's 5 minutes: answered from the stored (masked) report, which still bills.
    sandboxes["axcient"].inject(Fault(status=500, body=f'{{"error": "down for {AXCIENT_PASSWORD}"}}'.encode()), 9)
    code, second, err = sync(capsys, config)
    assert code == 3, err
    assert {s["name"]: s["status"] for s in second["sources"]}["altaro"] == "cached"
    assert outcomes(second)[("Contoso Ltd", "altaro.billed_users")] in {"pushed", "unchanged"}

    store_files = sorted(config.parent.glob("connector-state.db*"))
    assert len(store_files) >= 2  # the database and its lock, with any WAL beside them
    for key in (ALTARO_KEY, AXCIENT_PASSWORD, ATERA_KEY):
        for file in store_files:
            assert key.encode() not in file.read_bytes(), (key, file.name)
    with Store.open(config.parent / "connector-state.db") as store:
        (fetch,) = store.db.execute(
            f"SELECT {PAYLOAD_COLUMN}, payload_hash FROM fetches WHERE {PAYLOAD_COLUMN} IS NOT NULL"
        ).fetchall()
    assert b"Echo ***" in fetch[0] and hashlib.sha256(fetch[0]).hexdigest() == fetch[1]


def _contract_id(sandboxes: Sandboxes, customer: str, contract: str) -> int:
    return next(
        int(c["ContractID"])
        for c in sandboxes["atera"].contracts.values()
        if c["CustomerName"] == customer and c["ContractName"] == contract
    )


@pytest.mark.parametrize(
    "case",
    [
        "no such customer",
        "no such contract id",
        "another customer's contract",
    ],
)
def test_a_psa_mapping_atera_refuses_is_configuration_to_fix_exit_2(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, case: str
) -> None:
    fabrikam_users = (
        '[[customers.lines]]\nmetric = "altaro.billed_users"\ncontract = "Microsoft 365 backup (per user)"\n'
    )
    text = config.read_text()
    assert text.count('psa_customer = "Fabrikam Inc"') == 1 and fabrikam_users in text
    if case == "no such customer":
        text = text.replace('psa_customer = "Fabrikam Inc"', 'psa_customer = "Fabrikam Incorporated"')
        says = "Atera has no customer named 'Fabrikam Incorporated'"
    else:
        other = _contract_id(sandboxes, "Contoso Ltd", "Server backup (per GB)")
        contract_id = 987654 if case == "no such contract id" else other
        at = text.index(fabrikam_users, text.index('psa_customer = "Fabrikam Inc"'))
        text = text[:at] + fabrikam_users + f"contract_id = {contract_id}\n" + text[at + len(fabrikam_users) :]
        says = "987654" if case == "no such contract id" else f"(contract/{other}) belongs to 'Contoso Ltd'"
    config.write_text(text)
    code, report, err = sync(capsys, config)
    assert code == 2, (report["status"], err)
    assert report["status"] == "invalid"
    # Found when the run reads Atera, before anything is staged: named, with what to fix.
    failed = [line for line in report["lines"] if line["outcome"] == "contract missing"]
    assert {line["psa_customer"] for line in failed} <= {"Fabrikam Inc", "Fabrikam Incorporated"} and failed
    assert all(says in line["reason"] for line in failed if line["metric"] == "altaro.billed_users"), failed
    assert says in " ".join(err.split())  # the log wraps long lines
    # Every other customer's lines were pushed: one mapping to fix stops only its own lines.
    assert {o for (customer, _), o in outcomes(report).items() if not customer.startswith("Fabrikam")} == {"pushed"}


@pytest.mark.parametrize("period", ["november", "2026-13", "2026-11-31..2026-12-01"])
def test_a_period_key_that_names_no_period_is_refused_before_any_vendor_is_called(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, period: str
) -> None:
    code, _, err = cli(capsys, "sync", "--config", str(config), "--period", period)
    assert code == 2, err
    assert "--period" in err and repr(period) in err
    assert sandboxes["altaro"].requests == [] and sandboxes["axcient"].requests == []


def test_the_review_ceiling_is_the_line_s_own_unit(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes
) -> None:
    # Devices have a low ceiling (5,000 by default): a count over it is held even though GB may go far higher.
    config.write_text(config.read_text() + "\n[review]\nmax_quantity = { device = 2 }\n")
    code, report, _ = sync(capsys, config)
    assert code == 5
    held = {(line["psa_customer"], line["metric"]) for line in report["lines"] if line["outcome"] == "held"}
    assert held == {("Contoso Ltd", "axcient.pc_devices")}
