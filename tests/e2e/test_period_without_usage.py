"""A `--period` nothing was observed or pushed for says so per source, never "OK, 0 lines" (issue 20 row 20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import MONTH, sync


def test_a_past_period_the_store_knows_nothing_of_is_incomplete_and_names_each_source(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, err = sync(capsys, config)
    assert code == 0, err
    year = int(MONTH[:4]) - 1
    code, report, err = sync(capsys, config, "--period", f"{year}-01")
    assert code == 3, err
    assert report["status"] == "incomplete" and report["lines"], report
    reasons = {line["metric"].split(".")[0]: line["reason"] for line in report["lines"]}
    assert set(reasons) == {"altaro", "axcient"}
    for source, reason in reasons.items():
        assert f"{year}-01" in reason and f"{source} has no observation" in reason, reason
        assert "only the current period" in reason
    assert {line["outcome"] for line in report["lines"]} == {"blocked"}
