"""Reads the engine needs from Atera: customers, contracts, rates, devices per customer, invoices."""

from __future__ import annotations

from datetime import date

from connector.core.http import HttpSettings
from providers.atera.agents import DeviceCounts, count_devices
from providers.atera.client import AteraClient, build_atera_client
from providers.atera.models import ContractDto, CustomerDto, InvoiceDto, RateDto
from providers.atera.settings import AteraSettings


class AteraReader:
    """Read-only view of an Atera account; every list is read to its last page."""

    def __init__(self, client: AteraClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: AteraSettings, http: HttpSettings) -> AteraReader:
        return cls(build_atera_client(settings, http))

    def close(self) -> None:
        self.client.close()

    def customers(self) -> list[CustomerDto]:
        return list(self.client.customers())

    def contract_dtos(self, customer_id: int | None = None) -> list[ContractDto]:
        return list(self.client.contracts(customer_id))

    def rates(self) -> list[RateDto]:
        return list(self.client.rates())

    def devices(self, customer_id: int, *, monitored_only: bool = True) -> DeviceCounts:
        """A customer's agents counted as PCs, servers and other devices (for Remote monitoring counts)."""
        return count_devices(self.client.agents(customer_id), monitored_only=monitored_only)

    def invoices(self, start: date, end: date) -> list[InvoiceDto]:
        """Invoices dated in [start, end], to reconcile what Atera invoiced against what was pushed."""
        return list(self.client.invoices(start, end))
