"""Fixtures for the ConnectWise tests.

The sandbox's come first, all named `cw_*`: the OpenAPI contract (`cw_contract`), a running sandbox with the demo
data (`cw_sandbox`), and httpx clients on it that check what they send and get against the description
(`cw_api` checks both ways; `cw_loose_api` checks only the answers, for tests that send what the description does
not allow).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from providers.axcient.generate import demo_dataset
from providers.axcient.sandbox import DEFAULT_PASSWORD, AxcientSandbox
from providers.connectwise.sandbox import ConnectWiseSandbox

from ..conftest import write_vendor_config
from .openapi_check import OpenApiContract
from .support import vendor_sections

# -- the sandbox and the contract it keeps ------------------------------------------------------------------------

# One TLS context for every client: the sandbox speaks plain HTTP, and httpx builds a new context per client
# otherwise (some 25 ms each, most of these tests' time).
TLS = ssl.create_default_context()


@pytest.fixture(scope="session")
def cw_contract() -> OpenApiContract:
    """The kept OpenAPI subset, as a checker of requests and answers."""
    return OpenApiContract.load()


@pytest.fixture
def cw_sandbox() -> Iterator[ConnectWiseSandbox]:
    """A running sandbox holding the demo data (three customers, each with a "Managed Backup" agreement)."""
    with ConnectWiseSandbox() as server:
        yield server


def checked_client(
    sandbox: ConnectWiseSandbox,
    contract: OpenApiContract,
    *,
    check_requests: bool = True,
    headers: dict[str, str] | None = None,
    timeout: float = 5,
) -> httpx.Client:
    """An httpx client that checks every answer (and, unless told not to, every request) against the description,
    so no exchange in a test escapes the contract. It sends the sandbox's credentials unless given `headers`."""

    def request_hook(request: httpx.Request) -> None:
        contract.check_request(request)

    def response_hook(response: httpx.Response) -> None:
        response.read()
        contract.check_response(response)

    return httpx.Client(
        base_url=sandbox.api_url,
        headers=sandbox.auth_headers() if headers is None else headers,
        timeout=timeout,
        verify=TLS,
        event_hooks={"request": [request_hook] if check_requests else [], "response": [response_hook]},
    )


@pytest.fixture
def cw_api(cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract) -> Iterator[httpx.Client]:
    with checked_client(cw_sandbox, cw_contract) as client:
        yield client


@pytest.fixture
def cw_loose_api(cw_sandbox: ConnectWiseSandbox, cw_contract: OpenApiContract) -> Iterator[httpx.Client]:
    with checked_client(cw_sandbox, cw_contract, check_requests=False) as client:
        yield client


# -- the portal and ConnectWise, for `connector sync` and `connector reconcile` --------------------------------------


@pytest.fixture
def portal_and_psa() -> Iterator[tuple[AxcientSandbox, ConnectWiseSandbox]]:
    with AxcientSandbox(demo_dataset(), password=DEFAULT_PASSWORD) as portal, ConnectWiseSandbox() as psa:
        psa.add_catalog_item("BKP-PC-GB", "Workstation backup, per GB", 0.15)
        yield portal, psa


@pytest.fixture
def two_lines_config(
    tmp_path: Path, portal_and_psa: tuple[AxcientSandbox, ConnectWiseSandbox], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Contoso's server GB on addition 602 of agreement 501 (beside addition 601, which no line carries), and
    Fabrikam's PC GB, added to agreement 502 at the first push."""
    portal, psa = portal_and_psa
    return write_vendor_config(
        tmp_path,
        vendor_sections(portal, psa, monkeypatch)
        + """
[[customers]]
psa_customer = "Contoso Ltd"
axcient = { customer = "Contoso" }

[[customers.lines]]
metric = "axcient.server_gb"
contract = "Managed Backup"
rate = "0.12"
connectwise = { product = "BKP-SERVER-GB" }

[[customers]]
psa_customer = "Fabrikam Inc"
axcient = { customer = "Fabrikam Inc" }

[[customers.lines]]
metric = "axcient.pc_gb"
contract = "Managed Backup"
rate = "0.15"
connectwise = { product = "BKP-PC-GB", create_if_missing = true }

[[ignored_customers]]
source = "axcient"
customer = "Northwind Traders"
reason = "billed on another line"

[[ignored_customers]]
source = "axcient"
customer = "Tailspin Toys"
reason = "a prospect"
""",
    )
