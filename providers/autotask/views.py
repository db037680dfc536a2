"""What the autotask provider shows (typer-free): read-only views of the database's companies, Recurring Service
contracts, a contract's services with their units, and invoices with their billing items."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from connector.core.errors import ParameterError
from mappings.enums import BillingPeriod
from mappings.periods import period_containing
from providers.autotask import filters as f
from providers.autotask.client import AutotaskClient
from providers.autotask.connect import build_autotask_client
from providers.autotask.provider import PROVIDER
from providers.autotask.verify import RECURRING_SERVICE, day
from providers.spec import Table, ViewInput, ViewResult


def _client(view: ViewInput) -> AutotaskClient:
    settings = view.settings()
    return build_autotask_client(PROVIDER.enabled_section(settings), settings.http)


def _shown(value: object) -> object:
    return "" if value is None else value


def companies(view: ViewInput) -> ViewResult:
    """Company ID, name and whether it is active, as psa_customer / psa_customer_id want them."""
    with _client(view) as client:
        found = list(client.companies())
    rows = [(c.id, c.companyName or "", "yes" if c.isActive is not False else "no") for c in found]
    return ViewResult(
        data=[c.model_dump(mode="json", include={"id", "companyName", "isActive"}) for c in found],
        tables=[Table("Autotask companies", ["ID", "name", "active"], rows)],
    )


def contracts(view: ViewInput) -> ViewResult:
    """Recurring Service contracts (all, or one company's): company, name, status and dates of each."""
    company_id = view.args.get("company_id")
    wanted = [f.eq("contractType", RECURRING_SERVICE)]
    if company_id is not None:
        wanted.append(f.eq("companyID", company_id))
    with _client(view) as client:
        found = list(client.contracts(wanted))
    rows = [
        (c.id, c.companyID, c.contractName or "", c.status, _shown(day(c.startDate)), _shown(day(c.endDate)))
        for c in found
    ]
    return ViewResult(
        data=[c.model_dump(mode="json", exclude_none=True) for c in found],
        tables=[
            Table("Autotask Recurring Service contracts", ["ID", "company", "name", "status", "start", "end"], rows)
        ],
    )


def services(view: ViewInput) -> ViewResult:
    """One contract's services: the catalogue service, the contract's unit price and the units of this month."""
    contract_id: int = view.args["contract_id"]
    today = datetime.now(ZoneInfo(view.settings().billing.timezone)).date()
    month = period_containing(BillingPeriod.MONTHLY, today)
    with _client(view) as client:
        held = list(client.contract_services([f.eq("contractID", contract_id)]))
        names = {s.id: s.name or "" for s in client.services()}
        # The units the month bills now, as the sink reads them: its last record's (a contract that starts inside
        # the month has none on its first day, and an adjustment dated inside it starts a record of its own).
        overlapping = client.contract_service_units(
            [f.eq("contractID", contract_id), f.lte("startDate", month.end), f.gte("endDate", month.start)]
        )
        units = {
            r.contractServiceID: r.units
            for r in sorted(overlapping, key=lambda r: (r.startDate or datetime.min.replace(tzinfo=UTC), r.id))
        }
    rows = [
        (s.id, s.serviceID, names.get(s.serviceID or 0, ""), _shown(s.unitPrice), _shown(units.get(s.id))) for s in held
    ]
    columns = ["ID", "service ID", "service", "unit price", f"units {month.key}"]
    return ViewResult(
        data=[s.model_dump(mode="json", exclude_none=True) | {"units": units.get(s.id)} for s in held],
        tables=[Table(f"Services of contract {contract_id}", columns, rows, numeric=("unit price", columns[-1]))],
    )


def invoices(view: ViewInput) -> ViewResult:
    """Invoices dated in a range: company, number, dates and total (to reconcile with what was pushed)."""
    start: date = view.args["date_from"]
    end: date = view.args["date_to"]
    if end < start:
        raise ParameterError(f"{end} is before --from {start}", param="--to")
    dated = [f.gte("invoiceDateTime", start - timedelta(days=1)), f.lt("invoiceDateTime", end + timedelta(days=2))]
    with _client(view) as client:
        found = [i for i in client.invoices(dated) if (d := day(i.invoiceDateTime)) is not None and start <= d <= end]
    rows = [
        (
            i.invoiceNumber or i.id,
            _shown(day(i.invoiceDateTime)),
            i.companyID,
            f"{_shown(day(i.fromDate))} to {_shown(day(i.toDate))}",
            _shown(i.invoiceTotal),
            "yes" if i.isVoided else "",
        )
        for i in found
    ]
    columns = ["invoice", "date", "company", "bills", "total", "voided"]
    return ViewResult(
        data=[i.model_dump(mode="json", exclude_none=True) for i in found],
        tables=[Table("Autotask invoices", columns, rows, numeric=("total",))],
        notes=[] if found else [f"no invoice dated {start} to {end}"],
    )
