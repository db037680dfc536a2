"""What each command calls: the operations open the store themselves (the CLI only parses and prints), the store
answers for what only it may run (a health read, the alerts told), and errors are classified by their type."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector import operations
from connector.core.errors import (
    ConfigError,
    ConnectorError,
    DataError,
    ParameterError,
    RateLimitedError,
    Status,
    StoreError,
    VendorAuthError,
    VendorError,
    exit_code_for,
)
from connector.interfaces.psa import PushRefused
from connector.store import Store
from connector.sync import corrections
from connector.sync.push import misconfigured
from connector.wiring import settings_from_data
from mappings.billing import price
from mappings.lines import Line, Outcome, StoredLine


def line(contract: str = "Backup users", quantity: str = "8") -> Line:
    q, rate = Decimal(quantity), Decimal("3.50")
    identity = ("Contoso Ltd", contract, "2026-11", "altaro.billed_users")
    return Line(*identity, quantity=q, unit="user", rate=rate, amount=price(q, rate), inputs={"why": "test"})


def settings_at(path: Path) -> Any:
    return settings_from_data(
        {
            "store": {"path": str(path)},
            "customers": [
                {
                    "psa_customer": "Contoso Ltd",
                    "altaro": {"customer": "Contoso"},
                    "lines": [{"metric": "altaro.billed_users", "contract": "Backup users", "rate": "3.50"}],
                }
            ],
        }
    )


def staged(path: Path, *lines: tuple[Line, str | None]) -> list[StoredLine]:
    with Store.open(path) as store:
        return [store.outbox.stage(item, held) for item, held in lines]


def test_review_approve_discard_and_explain_open_the_store_themselves(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    held, other = staged(path, (line("Held"), "changed +60%"), (line("Other"), "dropped to zero"))
    settings = settings_at(path)
    assert [row["id"] for row in operations.waiting(settings)] == [held.id, other.id]
    (approved,) = operations.approve_lines(settings, [held.id], "checked")
    (discarded,) = operations.discard_lines(settings, [other.id], "billed by hand")
    assert (approved.id, discarded.id) == (held.id, other.id)
    assert operations.waiting(settings) == []
    assert {item["contract"] for item in operations.explain_customer(settings, "contoso ltd")} == {"Held", "Other"}
    with pytest.raises(ParameterError, match="no customer 'Nobody'"):
        operations.explain_customer(settings, "Nobody")


def test_review_lists_the_corrections_after_the_lines_for_a_person(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        stored = store.outbox.stage(line(), None)
        store.outbox.mark_pushed(stored.identity, "contract/1")
        pushed = store.outbox.get(stored.identity)
        assert pushed is not None
        result = corrections.correct(store, pushed, line(quantity="10"), dry_run=False)
        assert result is not None and result.outcome is Outcome.CORRECTION
        expected = operations.correction_rows(store)
    (row,) = operations.waiting(settings_at(path))
    assert row == expected[0]
    assert (row["status"], row["pushed_before"], row["quantity"]) == ("correction", Decimal(8), Decimal(10))


def test_history_refuses_an_unknown_customer_and_lists_a_known_one(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    staged(path, (line(), None))
    settings = settings_at(path)
    assert [row["psa_customer"] for row in operations.history(settings, "CONTOSO LTD")] == ["Contoso Ltd"]
    with pytest.raises(ParameterError, match="no customer 'Fabrikam'"):
        operations.history(settings, "Fabrikam")


def test_export_refuses_a_store_not_created_yet_and_creates_none(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with pytest.raises(ConfigError, match=r"no state store at .*state\.db: run `connector sync` first"):
        operations.export_period(settings_at(path), "2026-11", "csv")
    assert not path.exists()


def test_export_gives_the_data_and_its_text(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    staged(path, (line(), None))
    data, text = operations.export_period(settings_at(path), "2026-11", "csv")
    assert len(data.lines) == 1 and text.startswith("psa_customer,contract,period")
    data, html = operations.export_period(settings_at(path), "2026-11", "html")
    assert "<html" in html.lower() and len(data.customers) == 1


def test_the_store_says_whether_it_is_usable(tmp_path: Path) -> None:
    with Store.open(tmp_path / "state.db") as store:
        store.check_usable()
        store.database.execute("DROP TABLE runs")
        with pytest.raises(Exception, match="runs"):
            store.check_usable()


def test_the_alerts_told_are_kept_by_the_store() -> None:
    with Store.open(":memory:") as store:
        assert store.alerts.told() == {}
        store.alerts.save({"run": "sync failed"})
        store.alerts.save({"run": "sync failed", "line:a": "held: a"})
        assert store.alerts.told() == {"line:a": "held: a", "run": "sync failed"}


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("bad"),
        ParameterError("bad", param="x"),
        VendorAuthError("atera", "401"),
        PushRefused(Outcome.CONTRACT_INACTIVE, "the contract is inactive"),
        VendorError("atera", "503", status_code=503),
        RateLimitedError("altaro", "later"),
        DataError("truncated"),
        StoreError("full"),
        ConnectorError("other"),
    ],
)
def test_misconfigured_is_exactly_what_the_exit_table_ends_with_2(error: ConnectorError) -> None:
    assert misconfigured(error) is (exit_code_for(error) == exit_code_for(Status.INVALID))
