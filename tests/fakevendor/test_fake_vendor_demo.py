"""`connector demo` is built from the registry alone: it names no vendor, and a registered demo part joins it."""

from __future__ import annotations

import ast
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

import connector.operations.demo
import providers
from connector.core.errors import Status
from connector.operations.demo import run_demo
from providers.spec import DemoKit, DemoPart

from .provider import PROVIDER

DEMO = Path(connector.operations.demo.__file__)
# The vendor-free modules of providers/ the demo may use besides the registry itself.
SHARED = {"providers", "providers.spec"}


def test_the_demo_imports_no_vendor_module_and_names_no_vendor() -> None:
    tree = ast.parse(DEMO.read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name for name in imported if name.split(".")[0] == "providers"} <= SHARED
    words = {
        word
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for word in node.value.replace(".", " ").replace("`", " ").casefold().split()
    }
    assert sorted(words & providers.REGISTRY.keys()) == []


def _seats_demo(kit: DemoKit) -> DemoPart[None]:
    # An in-process vendor: nothing to serve, but a secret written through the kit like any other.
    token = kit.secret_file("seats", "seats-token-0001")
    config = f'[seats]\nenabled = true\nseats = {{}}\n# token file: "{token}"\n'
    return DemoPart(config=config, url="in-process", stop=lambda: None, sandbox=None)


def test_a_registered_source_with_a_demo_part_joins_the_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The one change a new vendor needs, its registry entry, here with a demo part.
    monkeypatch.setitem(
        providers.REGISTRY, PROVIDER.name, replace(PROVIDER, factories=replace(PROVIDER.load(), demo=_seats_demo))
    )
    result = run_demo(tmp_path / "demo")
    text = result.config_path.read_text(encoding="utf-8")
    config = tomllib.loads(text)
    assert config["seats"] == {"enabled": True, "seats": {}}
    assert {"altaro", "axcient", "atera", "seats"} <= config.keys() and config["customers"]
    token = tmp_path / "demo" / "secrets" / "seats.key"
    assert oct(token.stat().st_mode & 0o777) == "0o600" and "seats-token-0001" not in text
    assert [source.name for source in result.steps[0].report.sources] == ["altaro", "axcient", "seats"]
    assert result.status == Status.OK
    assert [step.psa_writes > 0 for step in result.steps] == [False, True, False]
    assert result.to_data()["atera_contracts"] == result.contracts and result.contracts
