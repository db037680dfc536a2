"""`check --online` for Axcient: the portal login and one customer list, to prove the credentials work."""

from __future__ import annotations

from connector.core.errors import ConnectorError
from providers.axcient.client import build_axcient_client
from providers.axcient.settings import AxcientSettings
from providers.spec import BuildContext, Finding


def probe(settings: AxcientSettings, context: BuildContext) -> list[Finding]:
    """Log in and list customers (the smallest read the portal offers); nothing is stored."""
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
