"""Fixtures for the ConnectWise tests.

The sandbox's come first, all named `cw_*`: the OpenAPI contract (`cw_contract`), a running sandbox with the demo
data (`cw_sandbox`), and httpx clients on it that check what they send and get against the description
(`cw_api` checks both ways; `cw_loose_api` checks only the answers, for tests that send what the description does
not allow).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from providers.connectwise.sandbox import ConnectWiseSandbox

from .openapi_check import OpenApiContract

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
