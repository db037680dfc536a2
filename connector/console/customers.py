"""The Customers pages: a search over the customers the mapping and the store know, and one customer's page with
every line explained (what `connector explain` shows: the accounts or users counted, what was excluded and why) and
a chart of each line's quantity over its last periods, from the line history `connector history` reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from connector import operations
from connector.console.web import Console, page, paged, period_order, plain
from connector.core.errors import ConnectorError, ParameterError
from connector.core.redact import redact

MAX_QUERY = 200  # a longer search is cut to this
CHART_PERIODS = 12  # periods a customer's chart shows, the last ones the store holds
# The chart's drawing box, in SVG user units.
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 480, 170, 14, 136, 8


def known_customers(mapped: Iterable[str], history: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every customer the mapping names or the store holds lines of (as `connector explain` accepts them), by name
    regardless of case, with the number of lines and periods the store holds."""
    found: dict[str, dict[str, Any]] = {}
    for name in mapped:
        found.setdefault(name.casefold(), {"name": name, "mapped": True, "lines": set(), "periods": set()})
    for row in history:
        entry = found.setdefault(
            row["psa_customer"].casefold(),
            {"name": row["psa_customer"], "mapped": False, "lines": set(), "periods": set()},
        )
        entry["lines"].add(row["line_id"])
        entry["periods"].add(row["period"])
    return [
        {**entry, "lines": len(entry["lines"]), "periods": len(entry["periods"])}
        for entry in sorted(found.values(), key=lambda e: (e["name"].casefold(), e["name"]))
    ]


@page
async def customers(request: Request, console: Console) -> Response:
    """GET /customers?q=&page=: the customers whose name contains the search (any case), a page at a time."""
    query = request.query_params.get("q", "").strip()[:MAX_QUERY]
    history = await run_in_threadpool(operations.history, console.settings)
    everyone = known_customers((c.psa_customer for c in console.settings.customers), history)
    matching = [c for c in everyone if query.casefold() in c["name"].casefold()]
    shown, pages = paged(matching, request.query_params.get("page"))
    context = {"query": query, "customers": shown, "matching": len(matching), "total": len(everyone), **pages}
    return console.render(request, "customers.html", context)


@page
async def customer(request: Request, console: Console) -> Response:
    """GET /customer?name=: every line of the customer with what explains it (`connector explain NAME`), and a
    chart of each line's quantity over the last periods (`connector history NAME`)."""
    name = request.query_params.get("name", "").strip()
    if not name:
        return RedirectResponse("/customers", status_code=303)
    try:
        history = await run_in_threadpool(operations.history, console.settings, name)
    except ParameterError as error:
        return console.refuse(request, 404, redact(str(error)))
    try:
        explained = await run_in_threadpool(operations.explain_customer, console.settings, name)
        missing = None
    except ConnectorError as error:  # a mapped customer no line was staged for yet
        explained, missing = [], redact(str(error))
    lines = [{**item, "explanation": explanation_rows(item["inputs"])} for item in explained]
    shown = history[0]["psa_customer"] if history else name
    charts = usage_charts(history)
    context = {"name": shown, "lines": lines, "missing": missing, "charts": charts, "limit": CHART_PERIODS}
    return console.render(request, "customer.html", context)


def explanation_rows(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """What explains a line's number, as `connector explain` lays it out: where the usage came from, the rule, the
    peak, what was counted (every name, not the first few), what was excluded and why, and anything else recorded."""
    observed = dict(inputs.get("observations") or {})
    detail = dict(observed.get("explanation") or {})
    where = f"{inputs.get('vendor_customer')} ({inputs.get('source')}, product {inputs.get('product')})"
    rows: list[dict[str, Any]] = [
        {"label": "vendor customer", "value": where if inputs.get("source") else ""},
        {"label": "rule", "value": _flat(inputs.get("rule"))},
        {"label": "counting rule", "value": _flat(detail.pop("rule", None))},
        {
            "label": "peak observed at",
            "value": f"{observed.get('peak_observed_at')} (vendor period {observed.get('peak_vendor_period')})"
            if observed.get("peak_observed_at")
            else "",
        },
        {"label": "observations considered", "value": _flat(observed.get("observations_considered"))},
        *_counted(detail),
        *_excluded(detail),
        {"label": "duplicates ignored", "value": _flat(detail.pop("duplicate_rows_ignored", None))},
    ]
    if not observed:  # a line staged without observations (so no detail): its inputs as they were recorded
        detail = {k: v for k, v in inputs.items() if k not in ("source", "vendor_customer", "product", "rule")}
    rows += [{"label": key.replace("_", " "), "value": _flat(value)} for key, value in sorted(detail.items())]
    return [{"names": [], **row} for row in rows if row["value"] or row.get("names")]


def _counted(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """What was counted: object names, or account rows named by their computer."""
    if "objects" in detail:
        names = [str(n) for n in detail.pop("objects")]
        count = detail.pop("counted", len(names))
        not_listed = detail.pop("objects_not_listed", 0) or 0
        detail.pop("objects_listed_at_most", None)
        more = f" ({not_listed} more not listed)" if not_listed else ""
        return [{"label": "counted", "value": f"{count}{more}", "names": names}]
    if "accounts" in detail:
        columns = detail.pop("columns", [])
        names = [_row_name(columns, row) for row in detail.pop("accounts")]
        return [{"label": "counted", "value": str(len(names)), "names": names}]
    return []


def _excluded(detail: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for excluded in detail.pop("excluded", []) or []:
        sample = [str(n) for n in excluded.get("sample") or []]
        rows.append(
            {"label": "excluded", "value": f"{excluded.get('objects')}: {excluded.get('reason')}", "names": sample}
        )
    columns = detail.pop("not_billed_columns", [])
    for row in detail.pop("not_billed", []) or []:
        rows.append({"label": "excluded", "value": f"{_row_name(columns, row)}: {row[-1]}"})
    return rows


def _row_name(columns: Sequence[str], row: Sequence[Any]) -> str:
    return str(row[list(columns).index("computer")]) if "computer" in columns else str(row[0])


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_flat(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_flat(v) for v in value)
    return plain(value)


def usage_charts(history: Sequence[dict[str, Any]], limit: int = CHART_PERIODS) -> list[dict[str, Any]]:
    """One chart per contract and metric: the quantity each of the last `limit` periods' line holds now (its last
    history row), as bars of an SVG drawn here, and the same figures for a table."""
    latest = {row["line_id"]: row for row in history}.values()
    periods = sorted({row["period"] for row in latest}, key=period_order)[-limit:]
    series: dict[tuple[str, str, str], dict[str, Decimal]] = {}
    for row in latest:
        if row["period"] in periods:
            series.setdefault((row["contract"], row["metric"], row["unit"]), {})[row["period"]] = row["quantity"]
    charts = []
    for index, ((contract, metric, unit), values) in enumerate(sorted(series.items()), start=1):
        # From the series' first period on, a period without a line is a gap in the chart, not a zero.
        first = min(periods.index(period) for period in values)
        points = [(period, values.get(period)) for period in periods[first:]]
        charts.append(_chart(index, contract, metric, unit, points))
    return charts


def _chart(
    index: int, contract: str, metric: str, unit: str, points: list[tuple[str, Decimal | None]]
) -> dict[str, Any]:
    peak = max((value for _, value in points if value is not None), default=Decimal(0))
    # A slot per chart period, the latest on the right: a customer with one period has one bar, not a wide block.
    slots = max(CHART_PERIODS, len(points))
    slot = (WIDTH - 2 * LEFT) / slots
    start = LEFT + (slots - len(points)) * slot
    bars = []
    for position, (period, value) in enumerate(points):
        quantity = value if value is not None else Decimal(0)
        height = float(quantity / peak) * (BOTTOM - TOP) if peak > 0 else 0.0
        x = start + position * slot
        bars.append(
            {
                "period": period,
                "value": "no line" if value is None else plain(quantity),
                "missing": value is None,
                "x": round(x + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "y": round(BOTTOM - height, 1),
                "height": round(height, 1),
                "middle": round(x + slot / 2, 1),
            }
        )
    figures = ", ".join(f"{bar['period']}: {bar['value']}" + ("" if bar["missing"] else f" {unit}") for bar in bars)
    return {
        "id": f"chart-{index}",
        "contract": contract,
        "metric": metric,
        "unit": unit,
        "bars": bars,
        "peak": plain(peak),
        "description": f"{metric} ({unit}) on {contract}, per period: {figures or 'no figure'}.",
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": BOTTOM,
        "label_y": BOTTOM + 14,
        "value_y_gap": 4,
    }
