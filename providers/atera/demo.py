"""Atera in `connector demo`: the sandbox account lines are pushed to, its section, and what it holds afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.atera.provider import PROVIDER
from providers.atera.sandbox import DEFAULT_API_KEY, AteraSandbox
from providers.atera.source import AteraReader
from providers.spec import DemoKit, DemoPart

if TYPE_CHECKING:
    from connector.core.config import Settings


def demo_part(kit: DemoKit) -> DemoPart[AteraSandbox]:
    """The sandbox Atera account, and the `[atera]` section that pushes to it."""
    # The key file is written before the server starts, so nothing is left running if it cannot be written.
    key = kit.secret_file("atera", DEFAULT_API_KEY)
    sandbox = AteraSandbox(api_key=DEFAULT_API_KEY).start()
    config = f'''[atera]
enabled = true
base_url = "{sandbox.api_url}"
api_key = {{ file = "{key}" }}
# The sandbox allows more than Atera does; keep the default (200 per 300 s) against the real Atera.
max_requests = 1000
window_seconds = 60
'''
    return DemoPart(
        config=config,
        url=sandbox.url,
        stop=sandbox.stop,
        sandbox=sandbox,
        writes=lambda: len(sandbox.writes()),
        contracts=retainer_contracts,
        contracts_title="Retainer contracts",
        hand_edit=lambda: hand_edit(sandbox),
    )


def retainer_contracts(settings: Settings) -> list[dict[str, Any]]:
    """The Retainer/flat-fee contracts Atera holds, read back through the connector's own Atera client."""
    reader = AteraReader.from_settings(PROVIDER.section(settings), settings.http)
    try:
        found = reader.contract_dtos()
    finally:
        reader.close()
    rows = [
        {
            "customer": contract.CustomerName,
            "contract_id": contract.ContractID,
            "contract": contract.ContractName,
            "quantity": retainer.Quantity,
            "rate": retainer.Rate.Amount if retainer.Rate is not None else None,
        }
        for contract in found
        if (retainer := contract.RetainerFlatFeeContract) is not None
    ]
    return sorted(rows, key=lambda row: (row["customer"] or "", row["contract"] or ""))


# Contoso's "Server backup (per GB)" Retainer contract, which the demo's first push sets.
HAND_EDITED = 101


def hand_edit(sandbox: AteraSandbox) -> str:
    """Someone types a quantity into Contoso's server backup contract in Atera, far from what the connector set."""
    sandbox.contracts[HAND_EDITED]["RetainerFlatFeeContract"]["Quantity"] = 900
    return "Contoso Ltd's Server backup (per GB) contract typed to 900 in Atera by hand"
