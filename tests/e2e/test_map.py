"""End to end: `connector map` against the sandbox vendors and Atera: matches, `--write`, ids across renames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.cli import main
from connector.operations.demo import Sandboxes, write_config


@pytest.fixture
def config(tmp_path: Path, sandboxes: Sandboxes) -> Path:
    return write_config(tmp_path, sandboxes)


@pytest.fixture
def bare_config(config: Path) -> Path:
    """The demo's configuration without a single customer mapping: what a new MSP starts from."""
    config.write_text(config.read_text().split("[[customers]]")[0])
    return config


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith("{") else out), err


def names(items: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    return {(i["source"], i["vendor_customer"]["name"], (i["psa_customer"] or {}).get("name")) for i in items}


def test_map_shows_the_demo_mappings_as_mapped(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, data, _ = cli(capsys, "map", "--config", str(config), "--format", "json")
    assert code == 0
    assert set(data) >= {"mapped", "matched", "suggested", "unmatched"}
    assert ("axcient", "Contoso", "Contoso Ltd") in names(data["mapped"])
    assert all(i["psa_customer"]["id"] is not None for i in data["mapped"])


def test_map_matches_normalised_names_without_mappings(capsys: pytest.CaptureFixture[str], bare_config: Path) -> None:
    code, data, _ = cli(capsys, "map", "--config", str(bare_config), "--format", "json")
    assert code == 0
    assert data["mapped"] == []
    # "Contoso" at the portal is "Contoso Ltd" in Atera: the legal suffix does not tell customers apart.
    assert ("axcient", "Contoso", "Contoso Ltd") in names(data["matched"])
    assert ("altaro", "Fabrikam", "Fabrikam Inc") in names(data["matched"])
    assert {i["vendor_customer"]["id"] for i in data["matched"] if i["source"] == "axcient"} == {"1", "2", "3"}


def test_map_suggests_the_closest_name_for_a_misspelling(
    capsys: pytest.CaptureFixture[str], bare_config: Path, sandboxes: Sandboxes
) -> None:
    portal = sandboxes["axcient"]
    portal.customers = [{**c, "name": "Northwnd Tradrs"} if c["id"] == 3 else c for c in portal.customers]
    code, data, _ = cli(capsys, "map", "--config", str(bare_config), "--format", "json")
    assert code == 0
    [suggested] = [i for i in data["suggested"] if i["source"] == "axcient"]
    assert suggested["vendor_customer"] == {"name": "Northwnd Tradrs", "id": "3"}
    assert suggested["suggestions"][0]["name"] == "Northwind Traders"


def test_written_mappings_load_through_the_include(
    capsys: pytest.CaptureFixture[str], bare_config: Path, tmp_path: Path
) -> None:
    written = tmp_path / "mappings.toml"
    code, _, _ = cli(capsys, "map", "--config", str(bare_config), "--write", str(written))
    assert code == 0
    assert "# axcient: exact name match" in written.read_text()
    main_before = bare_config.read_text()
    bare_config.write_text(main_before + '\n[mappings]\nfile = "mappings.toml"\n')
    code, summary, err = cli(capsys, "check", "--config", str(bare_config), "--json")
    assert code == 0, err
    assert summary["customers"] == 3


def test_writing_over_the_main_configuration_is_refused(capsys: pytest.CaptureFixture[str], bare_config: Path) -> None:
    before = bare_config.read_text()
    code, _, err = cli(capsys, "map", "--config", str(bare_config), "--write", str(bare_config))
    assert code == 2
    assert "main configuration" in err
    assert bare_config.read_text() == before


def test_an_id_mapped_customer_renamed_at_the_portal_stays_billed(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture
) -> None:
    text = config.read_text().replace(
        'axcient = { customer = "Contoso" }', 'axcient = { customer = "Contoso", id = "1" }'
    )
    config.write_text(text)
    portal = sandboxes["axcient"]
    portal.customers = [{**c, "name": "Contoso Holdings"} if c["id"] == 1 else c for c in portal.customers]
    _, report, err = cli(capsys, "sync", "--config", str(config), "--dry-run", "--format", "json")
    contoso = [r for r in report["lines"] if r["psa_customer"] == "Contoso Ltd" and r["metric"].startswith("axcient")]
    assert contoso and all(r["outcome"] != "blocked" for r in contoso), err
    assert "now named 'Contoso Holdings'" in caplog.text


def test_a_renamed_customer_mapped_by_name_gets_a_did_you_mean(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture
) -> None:
    portal = sandboxes["axcient"]
    portal.customers = [{**c, "name": "Northwind Traders Ltd"} if c["id"] == 3 else c for c in portal.customers]
    cli(capsys, "sync", "--config", str(config), "--dry-run", "--format", "json")
    assert "did you mean 'Northwind Traders Ltd' (id 3)?" in caplog.text
    assert "'Northwind Traders Ltd' is not mapped to a PSA customer (did you mean 'Northwind Traders'?)" in caplog.text


TEMPLATES = """
[[mapping.templates.altaro]]
metric = "altaro.billed_users"
contract = "Microsoft 365 backup (per user)"
rate = "3.50"
atera = { rate_sku = "M365-BACKUP-USER", create_if_missing = true }
"""


def _lines(report: dict[str, Any], customer: str) -> list[tuple[str, str, Any, Any]]:
    return sorted(
        (r["metric"], r["contract"], r["quantity"], r["rate"])
        for r in report["lines"]
        if r["psa_customer"] == customer and r["metric"].startswith("altaro")
    )


def test_written_blocks_carry_template_lines_and_ignores_and_bill_like_hand_written_ones(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    _, by_hand, _ = cli(capsys, "sync", "--config", str(config), "--dry-run", "--format", "json")
    bare = tmp_path / "bare.toml"
    bare.write_text(config.read_text().split("[[customers]]")[0] + TEMPLATES)
    written = tmp_path / "mappings.toml"
    args = ("--ignore", "Tailspin Toys", "--ignore", "Example MSP (internal)")
    code, _, err = cli(capsys, "map", "--config", str(bare), "--write", str(written), *args)
    assert code == 0, err
    text = written.read_text()
    assert "[[ignored_customers]]" in text and '"Tailspin Toys"' in text
    assert 'rate = "3.50"' in text and "atera = { rate_sku = " in text
    bare.write_text(bare.read_text() + '\n[mappings]\nfile = "mappings.toml"\n')
    code, _, err = cli(capsys, "check", "--config", str(bare), "--json")
    assert code == 0, err
    _, from_map, err = cli(capsys, "sync", "--config", str(bare), "--dry-run", "--format", "json")
    assert _lines(from_map, "Contoso Ltd") == _lines(by_hand, "Contoso Ltd") != []
    assert "Tailspin Toys" not in err


def test_ignore_names_a_customer_that_exists(capsys: pytest.CaptureFixture[str], bare_config: Path) -> None:
    code, _, err = cli(capsys, "map", "--config", str(bare_config), "--write", "x.toml", "--ignore", "Nobody")
    assert code == 2
    assert "--ignore nobody" in err


def test_auto_match_exact_bills_exact_names_without_a_block(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    _, by_hand, _ = cli(capsys, "sync", "--config", str(config), "--dry-run", "--format", "json")
    auto = tmp_path / "auto.toml"
    head = config.read_text().split("[[customers]]")[0]
    auto.write_text(head + TEMPLATES.replace("\n[[mapping", '\n[mapping]\nauto_match = "exact"\n\n[[mapping', 1))
    code, data, err = cli(capsys, "map", "--config", str(auto), "--format", "json")
    assert code == 0, err
    assert ("altaro", "Contoso Ltd", "Contoso Ltd") in names(data["auto_matched"])
    assert data["matched"] == []
    _, report, err = cli(capsys, "sync", "--config", str(auto), "--dry-run", "--format", "json")
    assert _lines(report, "Contoso Ltd") == _lines(by_hand, "Contoso Ltd") != []
    assert not [u for u in report["unmapped"] if "Contoso" in str(u)], report["unmapped"]


def test_in_a_terminal_each_suggestion_is_asked(
    capsys: pytest.CaptureFixture[str],
    bare_config: Path,
    sandboxes: Sandboxes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    portal = sandboxes["axcient"]
    portal.customers = [{**c, "name": "Northwnd Tradrs"} if c["id"] == 3 else c for c in portal.customers]
    asked: list[str] = []

    def answer(text: str, **_: object) -> str:
        asked.append(text)
        return "1"

    monkeypatch.setattr("connector.cli.map._in_terminal", lambda: True)
    monkeypatch.setattr("typer.prompt", answer)
    written = tmp_path / "mappings.toml"
    code, _, err = cli(capsys, "map", "--config", str(bare_config), "--write", str(written))
    assert code == 0, err
    assert any("Northwnd Tradrs (id 3): 1) Northwind Traders" in text for text in asked)
    assert "# axcient: suggestion accepted (score" in written.read_text()
    assert 'axcient = { customer = "Northwnd Tradrs", id = "3" }' in written.read_text()


def test_outside_a_terminal_suggestions_wait_for_accept(
    capsys: pytest.CaptureFixture[str], bare_config: Path, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    portal = sandboxes["axcient"]
    portal.customers = [{**c, "name": "Northwnd Tradrs"} if c["id"] == 3 else c for c in portal.customers]
    written = tmp_path / "mappings.toml"
    cli(capsys, "map", "--config", str(bare_config), "--write", str(written))
    assert "Northwnd" not in written.read_text()
    accepted = tmp_path / "accepted.toml"
    cli(capsys, "map", "--config", str(bare_config), "--write", str(accepted), "--accept", "suggested")
    assert "Northwnd" in accepted.read_text()
    # Into the first file, the suggestion's PSA customer has its block already: added by hand, never a second block.
    _, _, err = cli(capsys, "map", "--config", str(bare_config), "--write", str(written), "--accept", "suggested")
    assert "matches 'Northwind Traders', which a [[customers]] block in" in err
    assert "Northwnd" not in written.read_text()


def test_a_rename_is_told_once(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, caplog: pytest.LogCaptureFixture
) -> None:
    text = config.read_text().replace(
        'axcient = { customer = "Contoso" }', 'axcient = { customer = "Contoso", id = "1" }'
    )
    config.write_text(text)
    portal = sandboxes["axcient"]
    portal.customers = [{**c, "name": "Contoso Holdings"} if c["id"] == 1 else c for c in portal.customers]
    cli(capsys, "sync", "--config", str(config), "--format", "json")
    assert caplog.text.count("now named 'Contoso Holdings'") == 1
    caplog.clear()
    cli(capsys, "sync", "--config", str(config), "--format", "json")
    assert "now named" not in caplog.text


def test_check_lists_the_customers_auto_match_bills(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    auto = tmp_path / "auto.toml"
    head = config.read_text().split("[[customers]]")[0]
    auto.write_text(head + TEMPLATES.replace("\n[[mapping", '\n[mapping]\nauto_match = "exact"\n\n[[mapping', 1))
    code, out, err = cli(capsys, "check", "--config", str(auto))
    assert code == 0, err
    assert "connector check --online" in out
    code, summary, err = cli(capsys, "check", "--config", str(auto), "--online", "--format", "json")
    assert code == 0, err
    assert ("altaro", "Contoso Ltd", "Contoso Ltd") in names(summary["auto_matched"])
    assert ("axcient", "Contoso", "Contoso Ltd") in names(summary["auto_matched"])
    code, out, err = cli(capsys, "check", "--config", str(auto), "--online")
    assert code == 0, err
    assert "Billed by auto_match" in out and "Northwind Traders" in out
    # A customer with its own block is billed by the block, not listed as auto-matched.
    block = '\n[[customers]]\npsa_customer = "Contoso Ltd"\naltaro = { customer = "Contoso Ltd" }\n'
    auto.write_text(auto.read_text() + block)
    code, summary, err = cli(capsys, "check", "--config", str(auto), "--online", "--format", "json")
    assert code == 0, err
    listed = {psa for _, _, psa in names(summary["auto_matched"])}
    assert "Contoso Ltd" not in listed and "Fabrikam Inc" in listed
    # auto_match off: nothing is billed without a block, and check says nothing of it.
    code, summary, _ = cli(capsys, "check", "--config", str(config), "--format", "json")
    assert "auto_matched" not in summary
