"""Reads the engine needs from Atera: customers across pages, contracts, rates, devices by class, invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mappings.enums import BillingPeriod, ContractType, CountBy
from providers.atera.agents import DeviceClass, classify, count_devices
from providers.atera.client import AteraClient
from providers.atera.models import AgentDto
from providers.atera.sandbox import AteraSandbox
from providers.atera.source import AteraReader


@pytest.fixture
def reader(client: AteraClient) -> AteraReader:
    return AteraReader(client)


def test_all_customers_are_read_across_pages(reader: AteraReader, sandbox: AteraSandbox) -> None:
    for n in range(130):
        sandbox.customers[9000 + n] = {"CustomerID": 9000 + n, "CustomerName": f"Bulk {n}"}
    customers = reader.customers()
    assert len(customers) == 133
    assert len({c.CustomerID for c in customers}) == 133
    pages = [r.param("page") for r in sandbox.requests if r.path == "/api/v3/customers"]
    assert pages == ["1", "2", "3"]


def test_contracts_carry_their_type_s_sub_object(reader: AteraReader) -> None:
    contracts = {c.ContractID: c for c in reader.contract_dtos()}
    assert set(contracts) == {101, 102, 103, 104, 105, 106}
    retainer = contracts[101].RetainerFlatFeeContract
    assert retainer is not None and retainer.Rate is not None
    assert (retainer.BillingPeriod, retainer.Quantity, retainer.Rate.Amount) == (
        BillingPeriod.MONTHLY,
        Decimal(560),  # typed by hand before the connector
        Decimal("0.12"),
    )
    monitoring = contracts[105].RemoteMonitoringContract
    assert monitoring is not None and monitoring.CountBy is CountBy.PC_AGENTS
    assert contracts[104].ContractType is ContractType.PROJECT_ONE_TIME_FEE
    assert [c.ContractID for c in reader.contract_dtos(customer_id=2)] == [103, 104]


def test_rates_are_exact(reader: AteraReader) -> None:
    rates = {r.SKU: r.Amount for r in reader.rates()}
    assert rates["BFF-SERVER-GB"] == Decimal("0.12")
    assert rates["M365-BACKUP-USER"] == Decimal("3.5")


@pytest.mark.parametrize(
    ("os_type", "os_name", "expected"),
    [
        ("Work Station", "Windows 11 Pro", DeviceClass.PC),
        ("Work Station", "macOS 14.5", DeviceClass.PC),
        ("Server", "Windows Server 2022", DeviceClass.SERVER),
        ("Domain Controller", "Windows Server 2019", DeviceClass.SERVER),
        (None, "Windows Server 2016", DeviceClass.SERVER),
        (None, "Windows 10 Pro", DeviceClass.PC),
        (None, "Linux 5.10", DeviceClass.OTHER),
        (None, None, DeviceClass.OTHER),
    ],
)
def test_agents_are_classified(os_type: str | None, os_name: str | None, expected: DeviceClass) -> None:
    assert classify(AgentDto(OSType=os_type, OS=os_name, Monitored=True)) is expected


def test_devices_per_customer_count_monitored_agents(reader: AteraReader) -> None:
    contoso = reader.devices(1)
    assert (contoso.pc, contoso.server, contoso.other, contoso.total) == (3, 2, 1, 6)
    assert contoso.agents["server"] == ["CON-DC-01", "CON-SRV-01"]
    fabrikam = reader.devices(2)
    assert (fabrikam.pc, fabrikam.total) == (1, 1)
    assert reader.devices(2, monitored_only=False).pc == 2


def test_unmonitored_agents_are_left_out_by_default() -> None:
    agents = [AgentDto(OSType="Server", Monitored=False), AgentDto(OSType="Server", Monitored=True)]
    assert count_devices(agents).server == 1


def test_invoices_in_a_date_range_with_their_lines(reader: AteraReader) -> None:
    [january] = reader.invoices(date(2026, 1, 1), date(2026, 1, 31))
    assert january.InvoiceNumber == 5001
    [line] = january.LineItems
    assert (line.Product, line.Quantity, line.Rate, line.Subtotal) == (
        "M365-BACKUP-USER",
        Decimal(10),
        Decimal("3.5"),
        Decimal(35),
    )
    assert [i.InvoiceNumber for i in reader.invoices(date(2026, 1, 1), date(2026, 12, 31))] == [5001, 5002]
    assert reader.invoices(date(2025, 1, 1), date(2025, 12, 31)) == []
