"""Helpers the connector's ConnectWise tests share: settings for a sandbox or a mocked site, lines to push, payloads as
ConnectWise writes them, and a transport that holds every exchange to the OpenAPI description."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connector.core.http import HttpSettings
from connector.core.secrets import SecretRef
from mappings.lines import Line
from providers.axcient.sandbox import DEFAULT_PASSWORD, AxcientSandbox
from providers.connectwise.client import ConnectWiseClient, build_connectwise_client
from providers.connectwise.sandbox import ConnectWiseSandbox
from providers.connectwise.settings import ConnectWiseSettings

from .openapi_check import OpenApiContract

BASE = "https://cw.test/v4_6_release/apis/3.0"
COMPANY_ID = "examplemsp"
PUBLIC = "PubKey4f2a9c"
PRIVATE = "PrivKey7d1e3b5a"
CLIENT_ID = "3f2b8c1e-5d4a-4e7b-9c6d-0a1b2c3d4e5f"
FIELD = "Billing connector record"
HTTP = HttpSettings(max_attempts=2, backoff_initial_seconds=0, timeout_seconds=5, connect_timeout_seconds=2)


def settings(base_url: str = BASE, **overrides: Any) -> ConnectWiseSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "base_url": base_url,
        "company_id": COMPANY_ID,
        "public_key": SecretRef(value=SecretStr(PUBLIC)),
        "private_key": SecretRef(value=SecretStr(PRIVATE)),
        "client_id": CLIENT_ID,
    }
    return ConnectWiseSettings(**{**values, **overrides})


def sandbox_settings(sandbox: ConnectWiseSandbox, **overrides: Any) -> ConnectWiseSettings:
    return settings(
        sandbox.api_url,
        company_id=sandbox.company_id,
        public_key=SecretRef(value=SecretStr(sandbox.public_key)),
        private_key=SecretRef(value=SecretStr(sandbox.private_key)),
        client_id=sandbox.client_id,
        **overrides,
    )


class CheckedTransport(httpx.BaseTransport):
    """The network, with every request and answer checked against ConnectWise's OpenAPI description."""

    def __init__(self, contract: OpenApiContract) -> None:
        self.inner = httpx.HTTPTransport()
        self.contract = contract

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.contract.check_request(request)
        response = self.inner.handle_request(request)
        response.read()
        response.request = request
        self.contract.check_response(response)
        return response

    def close(self) -> None:
        self.inner.close()


def sandbox_client(sandbox: ConnectWiseSandbox, contract: OpenApiContract, **overrides: Any) -> ConnectWiseClient:
    return build_connectwise_client(
        sandbox_settings(sandbox, **overrides), HTTP, transport=CheckedTransport(contract), sleep=lambda _: None
    )


def line(quantity: str = "612.5", psa: dict[str, Any] | None = None, **changes: Any) -> Line:
    """Contoso's server backup for November 2026, on the sandbox's agreement 501, addition 602 (BKP-SERVER-GB)."""
    made = Line(
        psa_customer="Contoso Ltd",
        contract="Managed Backup",
        period_key="2026-11",
        metric="axcient.server_gb",
        quantity=Decimal(quantity),
        unit="GB",
        rate=Decimal("0.12"),
        amount=(Decimal(quantity) * Decimal("0.12")).quantize(Decimal("0.01")),
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        psa={"product": "BKP-SERVER-GB"} if psa is None else psa,
    )
    return dataclasses.replace(made, **changes)


def addition(number: int = 602, **fields: Any) -> dict[str, Any]:
    """An addition as ConnectWise answers it."""
    found: dict[str, Any] = {
        "id": number,
        "agreementId": 501,
        "product": {"id": 402, "identifier": "BKP-SERVER-GB"},
        "quantity": 560,
        "lessIncluded": 0,
        "unitPrice": 0.12,
        "billCustomer": "Billable",
        "effectiveDate": "2024-02-01T00:00:00Z",
        "agreementStatus": "Active",
        "customFields": [{"id": 7, "caption": FIELD, "type": "Text", "entryMethod": "EntryField", "value": None}],
    }
    return {**found, **fields}


def agreement(
    number: int = 501, company_id: int = 251, company_name: str = "Contoso Ltd", **fields: Any
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": number,
        "name": "Managed Backup",
        "type": {"id": 5, "name": "Managed Services"},
        "company": {"id": company_id, "identifier": company_name.replace(" ", ""), "name": company_name},
        "startDate": "2024-02-01T00:00:00Z",
        "noEndingDateFlag": True,
        "cancelledFlag": False,
        "agreementStatus": "Active",
    }
    return {**found, **fields}


def company(number: int = 251, name: str = "Contoso Ltd", **fields: Any) -> dict[str, Any]:
    return {"id": number, "identifier": name.replace(" ", ""), "name": name, **fields}


def vendor_sections(portal: AxcientSandbox, psa: ConnectWiseSandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """`[axcient]` and `[connectwise]` on the two sandboxes, their secrets in the environment."""
    monkeypatch.setenv("AX_TEST_PASSWORD", DEFAULT_PASSWORD)
    monkeypatch.setenv("CW_TEST_PUBLIC", psa.public_key)
    monkeypatch.setenv("CW_TEST_PRIVATE", psa.private_key)
    return f"""
[axcient]
enabled = true
base_url = "{portal.url}"
username = "{portal.username}"
password = {{ env = "AX_TEST_PASSWORD" }}

[connectwise]
enabled = true
base_url = "{psa.api_url}"
company_id = "{psa.company_id}"
public_key = {{ env = "CW_TEST_PUBLIC" }}
private_key = {{ env = "CW_TEST_PRIVATE" }}
client_id = "{psa.client_id}"
"""
