"""The layering the design promises, checked on the source: who may import typer, vendors, and name a vendor."""

from __future__ import annotations

import ast
import re
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


def test_no_psa_is_named_outside_its_folder_and_the_registry() -> None:
    """A PSA is one folder: the engine, the CLI, the store and what PSAs share speak of "the PSA", never of one."""
    words = re.compile(r"[a-z0-9]+")
    psas = {provider.name for provider in providers.psas()}
    shared = [p for p in (REPO / "providers").glob("*.py") if p.name != "__init__.py"]
    named = []
    for path in [*modules("connector"), *modules("mappings"), *shared]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found = psas & set(words.findall(node.value.casefold()))
                named += [f"{relative(path)}:{node.lineno} names {name}" for name in sorted(found)]
    assert named == []


def test_mappings_does_no_io_and_imports_nothing_above_it() -> None:
    above = ("connector", "providers", "httpx", "sqlite_utils", "typer", "rich")
    offenders = {
        relative(p): sorted(n for n in imported(p) if n.split(".")[0] in above or n in {"os", "pathlib", "socket"})
        for p in modules("mappings")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


# The layers, lowest first: a module may import its own layer and those below it, never one above. `mappings` is the
# billing domain (no I/O); `connector.core` the foundation; `connector.interfaces` what providers implement and the
# engine calls; the registry and its providers stand on those and the store; `connector.wiring` hands the registry
# to configuration and builds what a run enables; the sync stages, the operations the commands call, the console
# (a web application calling those operations), the unattended side and the command line come last.
LAYERS = (
    "mappings",
    "connector.core",
    "connector.interfaces",
    "connector.store",
    "providers",
    "connector.wiring",
    "connector.mapping",
    "connector.sync",
    "connector.operations",
    "connector.console",
    "connector.unattended",
    "connector.cli",
)


def layer_of(module: str) -> int | None:
    found = [index for index, name in enumerate(LAYERS) if module == name or module.startswith(name + ".")]
    return max(found) if found else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_module_sits_in_a_layer() -> None:
    homeless = [relative(p) for folder in ("connector", "providers", "mappings") for p in modules(folder)]
    assert [p for p in homeless if layer_of(module_name(REPO / p)) is None and p != "connector/__init__.py"] == []


def test_imports_go_down_the_layers() -> None:
    upward = []
    for folder in ("connector", "providers", "mappings"):
        for path in modules(folder):
            own = layer_of(module_name(path))
            if own is None:
                continue
            for name in imported(path):
                target = layer_of(name)
                if target is not None and target > own:
                    upward.append(f"{relative(path)} ({LAYERS[own]}) imports {name} ({LAYERS[target]})")
    assert upward == []


@pytest.mark.parametrize(
    "folder", sorted(p.name for p in (REPO / "connector").iterdir() if p.is_dir() and p.name[0] != "_")
)
def test_no_package_holds_more_than_about_a_dozen_modules(folder: str) -> None:
    assert len([p for p in (REPO / "connector" / folder).glob("*.py") if p.name != "__init__.py"]) <= 13


def test_no_module_imports_the_project_inside_a_function() -> None:
    """Imports sit at the top of a module, where the layering above can see them. A provider's parts load through
    one loader (`providers.spec`, importlib) instead of trampolines; only the command line defers what a command
    body needs, so `--help` and `connector users` load no sync stack."""
    ours = ("connector", "providers", "mappings")
    inside = []
    for folder in ours:
        for path in modules(folder):
            if relative(path).startswith("connector/cli/"):
                continue
            for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                    if isinstance(node, ast.ImportFrom):
                        names = [node.module or "." * node.level]
                    inside += [
                        f"{relative(path)}:{node.lineno} {name}"
                        for name in names
                        if name.split(".")[0] in ours or name.startswith(".")
                    ]
    assert inside == []


def test_no_module_is_over_400_lines() -> None:
    long = {
        relative(path): count
        for folder in ("connector", "providers", "mappings")
        for path in modules(folder)
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def test_providers_reach_the_store_only_through_the_interfaces() -> None:
    # A source keeps a vendor's call-rate rule through `connector.interfaces.ledger.FetchLedger`, never the store.
    reaching = {
        relative(p): sorted(n for n in imported(p) if n.startswith("connector.store")) for p in modules("providers")
    }
    assert {path: names for path, names in reaching.items() if names} == {}
