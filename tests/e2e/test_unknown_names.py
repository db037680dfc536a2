"""A line id or a customer name that names nothing exits 2 with what is there, never the store-busy code or exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import cli, sync


@pytest.mark.parametrize("command", [("approve", "999"), ("discard", "999", "--note", "typo")])
def test_an_unknown_line_id_exits_2_and_says_where_the_ids_are(
    config: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    code, _, _ = sync(capsys, config)
    assert code == 0
    code, _, err = cli(capsys, *command, "--config", str(config))
    assert code == 2, err
    assert "999" in err and "connector review" in err


@pytest.mark.parametrize("command", ["history", "explain"])
def test_a_misspelt_customer_exits_2_with_did_you_mean(
    config: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, _, _ = sync(capsys, config)
    assert code == 0
    code, out, err = cli(capsys, command, "Contosso", "--config", str(config))
    assert code == 2, (out, err)
    assert "'Contosso'" in err and "did you mean 'Contoso Ltd'" in err


def test_history_of_a_mapped_customer_is_found_in_any_case(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = sync(capsys, config)
    assert code == 0
    code, rows, err = cli(capsys, "history", "contoso ltd", "--config", str(config), "--format", "json")
    assert code == 0, err
    assert rows and {row["psa_customer"] for row in rows} == {"Contoso Ltd"}
