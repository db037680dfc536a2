"""`connector export`: a period's lines per customer, read from the store alone (no vendor is called), as the text of a
CSV file for a spreadsheet (`export.to_csv`) or of one self-contained HTML page: a table per customer and an inline SVG
chart of its monthly usage."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from html import escape
from pathlib import Path
from typing import Literal

from connector.core.config import Settings
from connector.core.errors import ConfigError
from connector.core.redact import redact
from connector.operations.export import CustomerExport, Export, ExportLine, Series, build_export, to_csv
from connector.store import Store, utcnow

# Above this many lines the page leaves out the usage charts (one per line and metric: 7 MiB for 4,000 lines) and
# says where one customer's chart is.
CHARTS_UP_TO_LINES = 200

# Nothing on the page may load from anywhere: the browser refuses any script, font, image or request it would make.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin: 2.2rem 0 .5rem; }
.meta { color: #5b6475; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #dde1e8; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid #1d2330; }
.outcome { font-weight: 600; } .outcome.failed, .outcome.held { color: #b42318; }
.outcome.pushed { color: #067647; } .outcome.discarded { color: #5b6475; text-decoration: line-through; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { font-size: .85rem; color: #5b6475; }
svg .bar { fill: #3662d8; } svg .axis { stroke: #9aa3b2; } svg text { font-size: 10px; fill: #1d2330; }
svg .none { fill: #9aa3b2; }
@media print { body { margin: 0; max-width: none; } section { break-inside: avoid; } }
"""
_CHART_WIDTH, _CHART_HEIGHT, _PLOT_TOP, _PLOT_BOTTOM = 380, 170, 18, 140


def _number(value: Decimal) -> str:
    return format(value, "f")


def export_period(settings: Settings, period: str, output_format: Literal["csv", "html"]) -> tuple[Export, str]:
    """The period's export and its text; a store that does not exist yet is refused (nothing to export, and an
    export must not create one)."""
    path = settings.store.path
    if not Path(path).exists():
        raise ConfigError(f"no state store at {path}: run `connector sync` first, or check [store] path")
    with Store.open(path) as store:
        data = build_export(store, period, utcnow())
    return data, to_csv(data) if output_format == "csv" else to_html(data)


def to_html(export: Export, *, charts_up_to: int = CHARTS_UP_TO_LINES) -> str:
    """The whole page as one string: open it in any browser, mail it, archive it; it fetches nothing. Above
    `charts_up_to` lines the usage charts are left out, and the page says so and where one customer's is."""
    # Any text a vendor, a person or the configuration wrote, masked and escaped for HTML (attributes too), each
    # distinct text once: a page of thousands of lines repeats the same units, outcomes and names.
    _e = cache(lambda text: escape(redact(text), quote=True))
    lines = len(export.lines)
    charts = lines <= charts_up_to
    generated = export.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    sections = "\n".join(
        _customer(index, customer, _e, charts) for index, customer in enumerate(export.customers, start=1)
    )
    said = (
        "Charts show the peak usage\nobserved each month."
        if charts
        else f"""The usage charts are left out: this export holds {lines} lines, more than {charts_up_to}.</p>
<p class="meta" id="charts-left-out">Usage charts are left out of an export of more than {charts_up_to} lines. One
customer's usage chart is on its page in the billing console: Customers, then the customer (the Customer page,
<code>/customer?name=</code> and the customer's name)."""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backup billing, {_e(export.period)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>Backup billing for {_e(export.period)}</h1>
<p class="meta">Generated {_e(generated)} from the connector's store. Amounts are quantity &times; rate, rounded once
per line. An amount is what goes through the PSA (the quantity pushed, or computed and waiting; nothing for a line
discarded before a push); what was billed by hand (a correction closed) is counted apart. {said}</p>
</header>
{_summary(export, _e)}
{sections}
</body>
</html>
"""


def _summary(export: Export, _e: Callable[[str], str]) -> str:
    rows = "\n".join(
        f'<tr><td><a href="#customer-{index}">{_e(c.psa_customer)}</a></td><td class="num">{len(c.lines)}</td>'
        f'<td class="num">{_number(c.total)}</td><td class="num">{_number(c.by_hand_total)}</td></tr>'
        for index, c in enumerate(export.customers, start=1)
    )
    return f"""<table id="summary">
<thead><tr><th>Customer</th><th class="num">Lines</th><th class="num">Through the PSA</th>
<th class="num">Billed by hand</th></tr></thead>
<tbody>
{rows}
<tr class="total"><td>Total</td><td class="num">{len(export.lines)}</td>
<td class="num">{_number(export.total)}</td><td class="num">{_number(export.by_hand_total)}</td></tr>
</tbody>
</table>"""


def _customer(index: int, customer: CustomerExport, _e: Callable[[str], str], with_charts: bool) -> str:
    rows = "\n".join(_line_row(line, _e) for line in customer.lines)
    charts = "\n".join(_chart(series, _e) for series in customer.usage) if with_charts else ""
    box = f'<div class="charts">\n{charts}\n</div>\n' if with_charts else ""
    return f"""<section class="customer" id="customer-{index}" data-customer="{_e(customer.psa_customer)}">
<h2>{_e(customer.psa_customer)}</h2>
<table class="lines">
<thead><tr><th>Contract</th><th>Metric</th><th class="num">Quantity</th><th class="num">Rate</th>
<th class="num">Amount</th><th>Outcome</th><th>Why</th><th>Measured at</th></tr></thead>
<tbody>
{rows}
<tr class="total"><td colspan="4">Total through the PSA</td><td class="num">{_number(customer.total)}</td>
<td colspan="3"></td></tr>
<tr class="total"><td colspan="4">Billed by hand</td><td class="num">{_number(customer.by_hand_total)}</td>
<td colspan="3"></td></tr>
</tbody>
</table>
{box}</section>"""


def _line_row(line: ExportLine, _e: Callable[[str], str]) -> str:
    measured = f"{line.source}: {line.vendor_customer}" if line.source else ""
    rule = f' title="{_e(line.rule)}"' if line.rule else ""
    return (
        f"<tr><td>{_e(line.contract)}</td><td>{_e(line.metric)}</td>"
        f'<td class="num">{_number(line.quantity)} {_e(line.unit)}</td><td class="num">{_number(line.rate)}</td>'
        f'<td class="num">{_number(line.amount)}</td><td class="outcome {_e(line.outcome)}">{_e(line.outcome)}</td>'
        f"<td>{_e(line.why)}</td><td{rule}>{_e(measured)}</td></tr>"
    )


def _chart(series: Series, _e: Callable[[str], str]) -> str:
    """Bars of the monthly peaks; a month with no observation says so instead of drawing a zero."""
    values = [value for _, value in series.points if value is not None]
    top = max(values, default=Decimal(0))
    slot = (_CHART_WIDTH - 20) / max(len(series.points), 1)
    parts = [f'<line class="axis" x1="10" y1="{_PLOT_BOTTOM}" x2="{_CHART_WIDTH - 10}" y2="{_PLOT_BOTTOM}"/>']
    for number, (month, value) in enumerate(series.points):
        x = 10 + number * slot
        middle = x + slot / 2
        parts.append(f'<text x="{middle:.1f}" y="{_PLOT_BOTTOM + 14}" text-anchor="middle">{_e(month)}</text>')
        if value is None:
            parts.append(
                f'<text class="none" x="{middle:.1f}" y="{_PLOT_BOTTOM - 4}" text-anchor="middle">no data</text>'
            )
            continue
        height = float(value / top) * (_PLOT_BOTTOM - _PLOT_TOP) if top > 0 else 0.0
        y = _PLOT_BOTTOM - height
        label = f"{month}: {_number(value)} {series.unit}"
        parts.append(
            f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{_e(label)}</title></rect>"
        )
        parts.append(f'<text x="{middle:.1f}" y="{y - 4:.1f}" text-anchor="middle">{_e(_number(value))}</text>')
    caption = f"{series.metric} ({series.unit}), {series.source}: {series.vendor_customer}"
    return f"""<figure>
<svg class="usage" width="{_CHART_WIDTH}" height="{_CHART_HEIGHT}"
 viewBox="0 0 {_CHART_WIDTH} {_CHART_HEIGHT}" role="img" aria-label="{_e(caption)}">
{"".join(parts)}
</svg>
<figcaption>{_e(caption)}</figcaption>
</figure>"""
