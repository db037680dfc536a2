"""Altaro in `connector demo`: a hand-made report with one of each case worth seeing, served by the sandbox link."""

from __future__ import annotations

import csv
import io

from providers.altaro.sandbox import DEFAULT_API_KEY, HEADER, AltaroSandbox
from providers.spec import DemoKit, DemoPart

M365 = "365 Total Backup"
ENTERPRISE = "365 Total Protection Enterprise Backup"

# (customer, product, object type as the console writes it, object name, GB). Names are fictional.
_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    # Contoso: users on one or two products, object types in odd case and spacing, non-user objects, a test mailbox
    # (excluded by the demo's exclusion rule) and a shared mailbox (excluded for Contoso only).
    ("Contoso Ltd", M365, "Mailbox", "Ada Moss", "12.40"),
    ("Contoso Ltd", M365, "OneDrive", "Ada Moss", "31.02"),
    ("Contoso Ltd", M365, "User Teams Chats", "Ada Moss", "0.84"),
    ("Contoso Ltd", ENTERPRISE, "Mailbox", "Ada Moss", "12.40"),
    ("Contoso Ltd", M365, "Mailbox", "Ben Hart", "8.15"),
    ("Contoso Ltd", M365, "OneDrive", "Ben Hart", "19.70"),
    ("Contoso Ltd", M365, "Mailbox", "Carla Diaz", "4.02"),
    ("Contoso Ltd", M365, "MAILBOX", "David King", "6.66"),
    ("Contoso Ltd", M365, " onedrive ", "David King", "2.10"),
    ("Contoso Ltd", M365, "N/A", "Emma Stone", "0.00"),
    ("Contoso Ltd", M365, "Mailbox", "Frank Ruiz", "3.30"),
    ("Contoso Ltd", M365, "Mailbox", "Grace Lee", "9.90"),
    ("Contoso Ltd", M365, "User Teams Chats", "Henry Ford", "0.20"),
    ("Contoso Ltd", M365, "Mailbox", "test-mailbox", "0.01"),
    ("Contoso Ltd", M365, "Mailbox", "shared-reception", "1.50"),
    ("Contoso Ltd", M365, "SharePoint", "Intranet", "44.00"),
    ("Contoso Ltd", M365, "Teams", "Sales Team", "3.00"),
    # Fabrikam: the same display name as a Contoso user (a different person: counted for each customer), a duplicate
    # row, and a group mailbox that is not a user.
    ("Fabrikam", M365, "Mailbox", "Ben Okoro", "7.25"),
    ("Fabrikam", M365, "OneDrive", "Ben Okoro", "11.00"),
    ("Fabrikam", M365, "Mailbox", "Ina Park", "2.75"),
    ("Fabrikam", M365, "Mailbox", "Ina Park", "2.75"),
    ("Fabrikam", M365, "Mailbox", "Jon Amis", "5.00"),
    ("Fabrikam", M365, "Mailbox", "Ada Moss", "1.25"),
    ("Fabrikam", M365, "OneDrive", "Kim Lee", "8.80"),
    ("Fabrikam", M365, "Group Mailbox", "All Staff", "0.90"),
    # Northwind: three users.
    ("Northwind Traders", M365, "Mailbox", "Liam Neal", "3.10"),
    ("Northwind Traders", M365, "Mailbox", "Maya Cole", "4.20"),
    ("Northwind Traders", M365, "OneDrive", "Noah Park", "6.30"),
    # The MSP's own tenant: ignored in the demo configuration, so it is neither billed nor reported as unmapped.
    ("Example MSP (internal)", M365, "Mailbox", "Olivia Hale", "2.00"),
    ("Example MSP (internal)", M365, "Mailbox", "Paul Reyes", "2.00"),
)

CUSTOMER_IDS = {
    "Contoso Ltd": "c0a1f5e2-0000-4000-8000-000000000001",
    "Fabrikam": "c0a1f5e2-0000-4000-8000-000000000002",
    "Northwind Traders": "c0a1f5e2-0000-4000-8000-000000000003",
    "Example MSP (internal)": "c0a1f5e2-0000-4000-8000-000000000009",
}


def demo_report(month: str) -> str:
    """The demo report for `month` (YYYY-MM) as CSV with CRLF line ends, as the console exports it."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for customer, product, object_type, name, size in _ROWS:
        writer.writerow([customer, CUSTOMER_IDS[customer], product, month, object_type, name, size])
    return buffer.getvalue()


def demo_part(kit: DemoKit) -> DemoPart[AltaroSandbox]:
    """The sandbox link serving this month's demo report, and the `[altaro]` section that reads it."""
    # The key file is written before the server starts, so nothing is left running if it cannot be written.
    key = kit.secret_file("altaro", DEFAULT_API_KEY)
    sandbox = AltaroSandbox(demo_report(kit.month), api_key=DEFAULT_API_KEY).start()
    config = f'''[altaro]
enabled = true

[[altaro.links]]
name = "all-customers"
url = "{sandbox.link_url}"
api_key = {{ file = "{key}" }}

[[altaro.exclusions]]
customer = "*"
pattern = "test-*"
reason = "test mailboxes are not billed"

[[altaro.exclusions]]
customer = "Contoso Ltd"
pattern = "shared-*"
reason = "shared mailboxes are in Contoso's flat fee"
'''
    return DemoPart(config=config, url=sandbox.url, stop=sandbox.stop, sandbox=sandbox)
