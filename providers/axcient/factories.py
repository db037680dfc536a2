"""What builds the Axcient provider's parts: the usage source, `check --online`'s probe, the customer contacts
`map --create-customers` reads, the demo part. Imported only when a command needs one (`Provider.load`)."""

from __future__ import annotations

from connector.core.errors import ConnectorError
from connector.interfaces.usage import UsageSource
from providers.axcient.client import build_axcient_client
from providers.axcient.generate import demo_dataset
from providers.axcient.sandbox import DEFAULT_PASSWORD, AxcientSandbox
from providers.axcient.settings import AxcientSettings
from providers.axcient.source import AxcientSource
from providers.axcient.usage import SOURCE
from providers.onboarding import VendorContact
from providers.spec import BuildContext, DemoKit, DemoPart, Finding

__all__ = ["build_source", "contacts", "demo", "probe"]


def build_source(settings: AxcientSettings, context: BuildContext) -> UsageSource:
    """The source a sync collects from; the password is read when a collection opens the client (AxcientSource)."""
    return AxcientSource(
        settings, lambda: build_axcient_client(settings, context.http), now=context.now, timezone=context.timezone
    )


def probe(settings: AxcientSettings, context: BuildContext) -> list[Finding]:
    """Log in and list customers (the smallest read the portal offers), to prove the credentials work."""
    check = "axcient credentials"
    try:
        client = build_axcient_client(settings, context.http)
        try:
            client.login()
            count = len(client.customers().items)
        finally:
            client.close()
    except ConnectorError as error:
        return [Finding.failed(check, error)]
    return [Finding(check, note=f"logged in; {count} customers listed")]


def contacts(settings: AxcientSettings, context: BuildContext) -> list[VendorContact]:
    """Every portal customer's contact (name and e-mail), as the customer list gives it (one paged read)."""
    client = build_axcient_client(settings, context.http)
    try:
        listed = client.customers().items
    finally:
        client.close()
    return [
        VendorContact(
            SOURCE,
            customer.id,
            customer.name,
            customer.contact.name if customer.contact else None,
            customer.contact.email if customer.contact else None,
        )
        for customer in listed
    ]


def demo(kit: DemoKit) -> DemoPart[AxcientSandbox]:
    """The sandbox portal with the demo's customers and accounts, and the `[axcient]` section that logs in to it."""
    # The password file is written before the server starts, so nothing is left running if it cannot be written.
    password = kit.secret_file("axcient", DEFAULT_PASSWORD)
    sandbox = AxcientSandbox(demo_dataset(), password=DEFAULT_PASSWORD).start()
    config = f'''[axcient]
enabled = true
base_url = "{sandbox.url}"
username = "{sandbox.username}"
password = {{ file = "{password}" }}
'''
    return DemoPart(config=config, url=sandbox.url, stop=sandbox.stop, sandbox=sandbox)
