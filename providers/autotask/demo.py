"""Autotask in `connector demo`: the sandbox Autotask lines are pushed to, its section, and the contract services'
units it holds afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from providers.autotask.connect import build_autotask_client
from providers.autotask.provider import PROVIDER
from providers.autotask.sandbox import DEFAULT_INTEGRATION_CODE, DEFAULT_SECRET, DEFAULT_USERNAME, AutotaskSandbox
from providers.autotask.verify import day
from providers.spec import DemoKit, DemoPart

if TYPE_CHECKING:
    from connector.core.config import Settings


def demo_part(kit: DemoKit) -> DemoPart[AutotaskSandbox]:
    """The sandbox Autotask with the demo's companies, Recurring Service contracts and catalogue, and the
    `[autotask]` section that pushes to it."""
    # The secret files are written before the server starts, so nothing is left running if they cannot be written.
    username = kit.secret_file("autotask-username", DEFAULT_USERNAME)
    secret = kit.secret_file("autotask-secret", DEFAULT_SECRET)
    code = kit.secret_file("autotask-integration-code", DEFAULT_INTEGRATION_CODE)
    sandbox = AutotaskSandbox().start()
    config = f'''[autotask]
enabled = true
# Where the database's zone is asked; the zone's own URL comes from the answer.
zone_lookup_url = "{sandbox.api_url}"
username = {{ file = "{username}" }}
secret = {{ file = "{secret}" }}
integration_code = {{ file = "{code}" }}
# The resource that owns the companies `connector map --create-customers` creates (Autotask requires an owner).
owner_resource_id = {DEMO_RESOURCE}
'''
    return DemoPart(
        config=config,
        url=sandbox.url,
        stop=sandbox.stop,
        sandbox=sandbox,
        writes=lambda: len(sandbox.writes()),
        contracts=lambda settings: contract_services(settings, kit.month),
        contracts_title="Contract services (units of the demo month)",
        hand_edit=lambda: hand_edit(sandbox, kit.month),
    )


def contract_services(settings: Settings, month: str) -> list[dict[str, Any]]:
    """Every service of every Recurring Service contract, with its units in the demo month, read back through the
    connector's own Autotask client."""
    first = datetime.strptime(f"{month}-01", "%Y-%m-%d").replace(tzinfo=UTC).date()
    with build_autotask_client(PROVIDER.section(settings), settings.http) as client:
        companies = {c.id: c.companyName for c in client.companies()}
        services = {s.id: s for s in client.services()}
        contracts = {c.id: c for c in client.contracts()}
        units = {
            r.contractServiceID: r.units
            for r in client.contract_service_units()
            if (start := day(r.startDate)) is not None and start <= first <= (day(r.endDate) or start)
        }
        rows = []
        for held in client.contract_services():
            contract = contracts.get(held.contractID or 0)
            service = services.get(held.serviceID or 0)
            name = contract.contractName if contract else str(held.contractID)
            rows.append(
                {
                    "customer": companies.get(contract.companyID or 0) if contract else None,
                    "contract_id": held.contractID,
                    "contract_service_id": held.id,
                    "contract": f"{name} / {service.sku if service else held.serviceID}",
                    "quantity": Decimal(units.get(held.id) or 0),
                    "rate": held.unitPrice,
                }
            )
    return sorted(rows, key=lambda row: (row["customer"] or "", row["contract"], row["contract_service_id"]))


# The sandbox's one resource: the API user's own.
DEMO_RESOURCE = 4

# Contoso's server backup service (contract 501), which the demo's first push sets.
HAND_EDITED = 602


def hand_edit(sandbox: AutotaskSandbox, month: str) -> str:
    """Someone adjusts Contoso's server backup units in Autotask by hand, to 900 from the demo month's first day."""
    first = datetime.strptime(f"{month}-01", "%Y-%m-%d").date()
    now = sandbox.units_on(HAND_EDITED, first)
    sandbox.adjust(HAND_EDITED, 900 - now, first)
    return "Contoso Ltd's Managed Backup / BKP-SERVER-GB units adjusted to 900 in Autotask by hand"
