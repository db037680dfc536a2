"""The portal's customer contacts (name and e-mail), for onboarding a customer in the PSA (`map --create-customers`)."""

from __future__ import annotations

from providers.axcient.client import build_axcient_client
from providers.axcient.settings import AxcientSettings
from providers.axcient.usage import SOURCE
from providers.onboarding import VendorContact
from providers.spec import BuildContext


def contacts(settings: AxcientSettings, context: BuildContext) -> list[VendorContact]:
    """Every portal customer's contact record, as the customer list gives it (one paged read)."""
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
