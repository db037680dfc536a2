"""The layering the design promises, checked on the source: who may import typer, vendors, and name a vendor."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import providers

REPO = Path(__file__).resolve().parents[1]
VENDORS = tuple(providers.REGISTRY)


def modules(folder: str) -> Iterator[Path]:
    yield from sorted((REPO / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_no_provider_imports_typer() -> None:
    offenders = [relative(p) for p in modules("providers") if any(n.split(".")[0] == "typer" for n in imported(p))]
    assert offenders == []


def test_only_the_cli_package_imports_a_vendor_package() -> None:
    vendor_packages = tuple(f"providers.{name}" for name in VENDORS)
    offenders = {
        relative(p): sorted(n for n in imported(p) if n.startswith(vendor_packages))
        for p in modules("connector")
        if not relative(p).startswith("connector/cli/")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("folder", ["connector/sync/engine.py", "connector/store", "mappings"])
def test_no_vendor_is_named_where_billing_is_decided(folder: str) -> None:
    target = REPO / folder
    paths = [target] if target.is_file() else list(modules(folder))
    named = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                words = node.value.replace(".", " ").replace("[", " ").replace("]", " ").casefold().split()
                named += [f"{relative(path)}:{node.lineno} {node.value!r}" for v in VENDORS if v in words]
    assert named == []


def test_mappings_does_no_io_and_imports_nothing_above_it() -> None:
    above = ("connector", "providers", "httpx", "sqlite_utils", "typer", "rich")
    offenders = {
        relative(p): sorted(n for n in imported(p) if n.split(".")[0] in above or n in {"os", "pathlib", "socket"})
        for p in modules("mappings")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
