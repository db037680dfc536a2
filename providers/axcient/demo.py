"""Axcient in `connector demo`: the sandbox portal serving the demo data set, and the section that reads it."""

from __future__ import annotations

from providers.axcient.generate import demo_dataset
from providers.axcient.sandbox import DEFAULT_PASSWORD, AxcientSandbox
from providers.spec import DemoKit, DemoPart


def demo_part(kit: DemoKit) -> DemoPart[AxcientSandbox]:
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
