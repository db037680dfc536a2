"""Which periods Atera has invoiced per mapped contract: matched as reconcile matches, read once through the sink."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from connector.usage import InvoicingSink
from mappings.truth import ContractRef
from providers.atera.client import AteraClient
from providers.atera.invoicing import InvoicingAteraSink
from providers.atera.reconcile import invoiced_starts
from providers.atera.sandbox import AteraSandbox

from .test_atera_reconcile import invoice

M365 = ContractRef("Contoso Ltd", None, "Microsoft 365 backup (per user)", None)
OTHER = ContractRef("Fabrikam Inc", None, "Microsoft 365 backup (per user)", None)


def test_an_invoice_is_the_contracts_when_it_names_the_contract_and_customer_ignoring_case() -> None:
    invoices = [
        invoice(5001),
        invoice(5002, PeriodStartDate="2026-10-01T00:00:00", ContractName="MICROSOFT 365 BACKUP (per user) "),
        invoice(5003, PeriodStartDate="2026-09-01T00:00:00", IsAdhoc=True),  # ad hoc: bills no period
        invoice(5004, PeriodStartDate="2026-08-01T00:00:00", ContractName="Server backup"),
        invoice(5005, PeriodStartDate="2026-07-01T00:00:00", To={"CompanyName": "Someone Else"}),
        invoice(5006, PeriodStartDate="2026-06-01T00:00:00", To=None),  # no customer named: the contract decides
    ]
    found = invoiced_starts(invoices, [M365, OTHER])
    assert found[M365] == {date(2026, 11, 1), date(2026, 10, 1), date(2026, 6, 1)}
    assert found[OTHER] == {date(2026, 6, 1)}


def test_the_sink_reads_the_invoices_once_for_every_contract(
    sandbox: AteraSandbox, make_client: Callable[..., AteraClient]
) -> None:
    sink = InvoicingAteraSink(make_client, custom_field="Connector line")
    assert isinstance(sink, InvoicingSink)
    contracts = list(sink.client.contracts())
    refs = [ContractRef(c.CustomerName or "", c.CustomerID, c.ContractName, c.ContractID) for c in contracts]
    assert sink.invoiced_periods(refs, date(2026, 11, 1), date(2026, 12, 3)) == {ref: set() for ref in refs}
    sandbox.invoice_retainers(date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 3))
    before = sink.client.requests
    found = sink.invoiced_periods(refs, date(2026, 11, 1), date(2026, 12, 3))
    assert sink.client.requests == before + 1  # one read (a page of up to 50 invoices), whatever the contracts
    retainers = {c.ContractName for c in contracts if c.ContractType == "RetainerFlatFee" and c.Active}
    assert retainers and {ref.contract for ref, days in found.items() if days == {date(2026, 11, 1)}} == retainers
    # Dated outside the range asked for: not seen.
    assert sink.invoiced_periods(refs, date(2026, 11, 1), date(2026, 12, 2)) == {ref: set() for ref in refs}
    sink.close()
