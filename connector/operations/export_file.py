"""`connector export`: a period's lines per customer, read from the store alone (no vendor is called), as the text of a
CSV file for a spreadsheet or one self-contained HTML page for finance."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from connector.core.config import Settings
from connector.core.errors import ConfigError
from connector.operations.export import Export, build_export, to_csv
from connector.operations.export_html import to_html
from connector.store import Store, utcnow

__all__ = ["export_period"]


def export_period(settings: Settings, period: str, output_format: Literal["csv", "html"]) -> tuple[Export, str]:
    """The period's export and its text; a store that does not exist yet is refused (nothing to export, and an
    export must not create one)."""
    path = settings.store.path
    if not Path(path).exists():
        raise ConfigError(f"no state store at {path}: run `connector sync` first, or check [store] path")
    with Store.open(path) as store:
        data = build_export(store, period, utcnow())
    return data, to_csv(data) if output_format == "csv" else to_html(data)
