"""End to end: `connector export` after syncs against the sandboxes, as CSV and as HTML a headless Chromium renders."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import stat
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connector.operations.demo import Sandboxes
from connector.store import Store
from connector.wiring import load_settings
from mappings.billing import price
from mappings.lines import Line
from mappings.measure import Observation
from providers.sandbox import Fault
from tests.e2e.conftest import MONTH, cli, sync

HOSTILE = '<img src=x onerror="document.title=1">&amp; "Evil" Ltd'
FORMULA = '=HYPERLINK("http://attacker.invalid","click")'
CHROMIUM = next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


def _export(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code, out, err = cli(capsys, "export", "--config", str(config), "--period", MONTH, *args)
    return code, str(out), err


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _months_before(count: int) -> list[str]:
    year, month = int(MONTH[:4]), int(MONTH[5:])
    keys = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        keys.append(f"{year:04d}-{month:02d}")
    return keys


def _add_hostile_customer(config: Path) -> None:
    """A line and three months of observations whose names a vendor could have sent: markup and a formula."""
    with Store.open(load_settings(config).store.path) as store:
        rate, quantity = Decimal("3.50"), Decimal(7)
        store.outbox.stage(
            Line(
                HOSTILE, FORMULA, MONTH, "altaro.billed_users", quantity=quantity, unit="user", rate=rate,
                amount=price(quantity, rate),
                inputs={"source": "altaro", "vendor_customer": HOSTILE, "product": "all", "rule": "<b>peak</b>"},
            ),
            None,
        )  # fmt: skip
        store.observations.record(
            [
                Observation(
                    source="altaro",
                    vendor_customer=HOSTILE,
                    metric="altaro.billed_users",
                    period_key=month,
                    quantity=Decimal(value),
                    unit="user",
                    observed_at=datetime(int(month[:4]), int(month[5:]), 15, tzinfo=UTC),
                    complete=True,
                    inputs={},
                )
                for month, value in zip([*_months_before(3), MONTH], (4, 5, 6, 7), strict=True)
            ]
        )


def test_csv_lists_every_line_with_the_amount_price_gives(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, report, err = sync(capsys, config)
    assert code == 0, err
    code, text, err = _export(capsys, config)
    assert code == 0, err
    rows = _rows(text)
    pushed = {(o["psa_customer"], o["contract"], o["metric"]): o for o in report["lines"] if o["outcome"] == "pushed"}
    assert pushed and {(r["psa_customer"], r["contract"], r["metric"]) for r in rows} == set(pushed)
    for row in rows:
        line = pushed[(row["psa_customer"], row["contract"], row["metric"])]
        assert (row["quantity"], row["rate"], row["amount"]) == (line["quantity"], line["rate"], line["amount"])
        assert Decimal(row["amount"]) == price(Decimal(row["quantity"]), Decimal(row["rate"]))
        assert row["outcome"] == "pushed" and row["why"].startswith("in the PSA")
        assert row["period"] == MONTH and row["source"] in ("altaro", "axcient") and row["vendor_customer"]
    customers = [row["psa_customer"] for row in rows]
    assert customers == sorted(customers, key=str.casefold)  # grouped per customer


def test_a_line_the_psa_did_not_take_says_why_in_the_export(
    capsys: pytest.CaptureFixture[str], config: Path, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    sandboxes["atera"].inject(Fault(status=503), times=500)
    code, _, _ = sync(capsys, config)
    assert code != 0
    out = tmp_path / "november.csv"
    code, _, err = _export(capsys, config, "--output", str(out))
    assert code == 0 and str(out) in err.replace("\n", "")
    rows = _rows(out.read_text(encoding="utf-8"))
    assert rows and {row["outcome"] for row in rows} == {"failed"}
    assert all("HTTP 503" in row["why"] and "next sync" in row["why"] for row in rows)


def test_csv_never_hands_a_spreadsheet_a_formula(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    sync(capsys, config)
    _add_hostile_customer(config)
    code, text, err = _export(capsys, config, "--format", "csv")
    assert code == 0, err
    row = next(r for r in _rows(text) if r["psa_customer"] == HOSTILE)
    assert row["contract"] == "'" + FORMULA and row["amount"] == "24.50"


def test_html_is_self_contained_and_escapes_what_vendors_send(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    sync(capsys, config)
    _add_hostile_customer(config)
    page = tmp_path / "export.html"
    code, _, err = _export(capsys, config, "--format", "html", "--output", str(page))
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert "<img" not in html and "<b>" not in html and "&lt;img src=x onerror=" in html
    assert not re.search(r"<script|<link|src=\"|https?://(?!attacker\.invalid)", html)
    assert "Content-Security-Policy" in html
    assert html.count('<section class="customer"') == 4 and html.count("<svg") >= 8


def _render(page: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
            "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium)")
def test_headless_chromium_renders_the_html_export(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    _, report, _ = sync(capsys, config)
    _add_hostile_customer(config)
    page = tmp_path / "export.html"
    code, _, err = _export(capsys, config, "--format", "html", "--output", str(page))
    assert code == 0, err
    dom = _render(page, tmp_path / "chromium-profile")
    for customer in {o["psa_customer"] for o in report["lines"]}:
        assert f'data-customer="{customer}"' in dom
    assert "<title>Backup billing, " in dom  # the hostile name's onerror never ran (it would set the title to 1)
    assert "&lt;img src=x" in dom and "<img" not in dom
    # Customers are sorted by name, so the hostile one ('<…') is the first section and its chart the first chart.
    hostile = dom[dom.index('<section class="customer"') :]
    assert "&lt;img src=x onerror" in hostile[: hostile.index("<svg")]
    chart = hostile[hostile.index("<svg") : hostile.index("</svg>")]
    assert chart.count('class="bar"') == 4 and chart.count("no data") == 2  # 4 months observed of the 6 shown
    for value in ("4", "5", "6", "7"):
        assert f">{value}</text>" in chart


def test_export_says_what_to_fix(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    code, _, err = _export(capsys, config)
    assert code == 2 and "no state store" in err and "connector sync" in err
    sync(capsys, config)
    code, _, err = cli(capsys, "export", "--config", str(config), "--period", "1999-01")
    assert code == 2 and f"periods in the store: {MONTH}" in err
    code, _, err = cli(capsys, "export", "--config", str(config), "--period", "november")
    assert code == 2 and "unrecognised period key" in err


@pytest.mark.parametrize("output_format", ["csv", "html"])
def test_output_replaces_a_symbolic_link_and_is_owner_only(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path, output_format: str
) -> None:
    _add_hostile_customer(config)  # a line in the store: no sync needed
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / f"export.{output_format}"
    link.symlink_to(target)
    code, _, err = _export(capsys, config, "--format", output_format, "--output", str(link))
    assert code == 0, err
    assert target.read_text(encoding="utf-8") == "keep me"
    assert not link.is_symlink() and "Evil" in link.read_text(encoding="utf-8")
    assert stat.S_IMODE(link.stat().st_mode) == 0o600


def test_output_in_a_missing_directory_says_which_file(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    _add_hostile_customer(config)
    missing = tmp_path / "no-such-dir" / "export.csv"
    code, _, err = _export(capsys, config, "--output", str(missing))
    assert code == 2 and f"--output {missing}: cannot write" in err and "Traceback" not in err


def test_the_run_report_file_replaces_a_symbolic_link_and_is_owner_only(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    code, report, err = sync(capsys, config, "--report", str(link))
    assert code == 0, err
    assert target.read_text(encoding="utf-8") == "keep me"
    assert not link.is_symlink() and json.loads(link.read_text(encoding="utf-8"))["status"] == report["status"]
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
