"""Fixtures for the Autotask tests, all named `at_*`: the Swagger contract (`at_contract`), a running sandbox with
the demo data (`at_sandbox`), and httpx clients on it that hold what they send and get to the document (`at_api`
checks both ways; `at_loose_api` checks only the answers, for tests that send what the document does not allow,
such as PascalCase names, which Autotask itself accepts).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from providers.autotask.sandbox import AutotaskSandbox

from .swagger_check import SwaggerContract

# One TLS context for every client: httpx builds a new one per client otherwise (some 25 ms each).
TLS = ssl.create_default_context()


@pytest.fixture(scope="session")
def at_contract() -> SwaggerContract:
    """The kept Swagger subset, as a checker of requests and answers."""
    return SwaggerContract.load()


@pytest.fixture
def at_sandbox() -> Iterator[AutotaskSandbox]:
    """A running sandbox holding the demo data (three customers, each with a "Managed Backup" contract)."""
    with AutotaskSandbox() as server:
        yield server


def at_client(
    sandbox: AutotaskSandbox,
    contract: SwaggerContract,
    *,
    check_requests: bool = True,
    headers: dict[str, str] | None = None,
    timeout: float = 5,
) -> httpx.Client:
    """An httpx client on the sandbox's zone URL that checks every answer (and, unless told not to, every request)
    against the document, so no exchange in a test escapes it. It sends the sandbox's credentials unless given
    `headers`."""

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
def at_api(at_sandbox: AutotaskSandbox, at_contract: SwaggerContract) -> Iterator[httpx.Client]:
    with at_client(at_sandbox, at_contract) as client:
        yield client


@pytest.fixture
def at_loose_api(at_sandbox: AutotaskSandbox, at_contract: SwaggerContract) -> Iterator[httpx.Client]:
    with at_client(at_sandbox, at_contract, check_requests=False) as client:
        yield client
