"""ConnectWise in `connector demo`: the sandbox ConnectWise lines are pushed to, its section, and the agreement
additions it holds afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.connectwise.client import build_connectwise_client
from providers.connectwise.provider import PROVIDER
from providers.connectwise.sandbox import DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, ConnectWiseSandbox
from providers.spec import DemoKit, DemoPart

if TYPE_CHECKING:
    from connector.core.config import Settings


def demo_part(kit: DemoKit) -> DemoPart[ConnectWiseSandbox]:
    """The sandbox ConnectWise with the demo's companies, agreements and catalog, and the `[connectwise]` section
    that pushes to it."""
    # The key files are written before the server starts, so nothing is left running if they cannot be written.
    public = kit.secret_file("connectwise-public", DEFAULT_PUBLIC_KEY)
    private = kit.secret_file("connectwise-private", DEFAULT_PRIVATE_KEY)
    sandbox = ConnectWiseSandbox(public_key=DEFAULT_PUBLIC_KEY, private_key=DEFAULT_PRIVATE_KEY).start()
    config = f'''[connectwise]
enabled = true
base_url = "{sandbox.api_url}"
company_id = "{sandbox.company_id}"
public_key = {{ file = "{public}" }}
private_key = {{ file = "{private}" }}
# The integration's clientId (developer.connectwise.com) names it on every call; it is not a secret.
client_id = "{sandbox.client_id}"
'''
    return DemoPart(
        config=config,
        url=sandbox.url,
        stop=sandbox.stop,
        sandbox=sandbox,
        writes=lambda: len(sandbox.writes()),
        contracts=agreement_additions,
        contracts_title="Agreement additions",
        hand_edit=lambda: hand_edit(sandbox),
    )


def agreement_additions(settings: Settings) -> list[dict[str, Any]]:
    """Every addition of every agreement ConnectWise holds, read back through the connector's own ConnectWise
    client: customer, agreement / product, quantity and unit price."""
    with build_connectwise_client(PROVIDER.section(settings), settings.http) as client:
        rows = [
            {
                "customer": agreement.company.name,
                "agreement_id": agreement.id,
                "agreement": agreement.name,
                "addition_id": addition.id,
                "product": addition.product.identifier,
                "contract": f"{agreement.name} / {addition.product.identifier or addition.product.id}",
                "quantity": addition.quantity,
                "rate": addition.unitPrice,
            }
            for agreement in client.agreements()
            for addition in client.additions(agreement.id)
        ]
    return sorted(rows, key=lambda row: (row["customer"] or "", row["contract"], row["addition_id"]))


# Contoso's BKP-SERVER-GB addition of agreement 501, which the demo's first push sets.
HAND_EDITED = (501, 602)


def hand_edit(sandbox: ConnectWiseSandbox) -> str:
    """Someone types a quantity into Contoso's server backup addition in ConnectWise, far from what the connector
    set."""
    agreement, addition = HAND_EDITED
    sandbox.additions[agreement][addition]["quantity"] = 900.0
    return "Contoso Ltd's Managed Backup / BKP-SERVER-GB addition typed to 900 in ConnectWise by hand"
