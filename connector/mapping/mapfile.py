"""The mapping file `connector map --write` writes: commented [[customers]] blocks with template lines, and ignores.

An existing file is merged into, never replaced: its text stays as written and only the blocks it lacks are appended,
after a copy of it is kept as `FILE.bak`; the new text goes to a temporary file renamed over it, so a crash leaves the
old file or the new one whole. A file that is not a mapping file is replaced only with `--force` (backed up too).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import stat
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connector.core.errors import ConfigError
from connector.core.files import write_private
from connector.mapping.mapper import MapItem, PsaRef
from mappings.customer import CustomerMapping, LineMapping
from mappings.templates import MappingSettings

HEADER = "# Written by `connector map --write`; included from the main configuration. Edit freely.\n"
MAPPING_KEYS = frozenset({"customers", "ignored_customers"})
# The reason `connector map --ignore` writes; the console writes the one its person gave.
IGNORE_REASON = "chosen to ignore in connector map"
# Appended to an existing file's text to learn, before anything is created in the PSA, that blocks can follow it (a
# file holding `customers = [...]` as an inline array cannot take a [[customers]] table after it).
_PROBE = '\n[[customers]]\npsa_customer = "-"\n[[ignored_customers]]\nsource = "-"\ncustomer = "-"\nreason = "-"\n'


@dataclass(frozen=True)
class Held:
    """What an existing mapping file holds: its text, kept as written, and whom its blocks name (casefolded): PSA
    customers by name and id, vendor customers (mapped or ignored) by source and by name or id."""

    text: str = ""
    customers: int = 0
    psa_names: frozenset[str] = frozenset()
    psa_ids: frozenset[int] = frozenset()
    vendors: frozenset[tuple[str, str]] = frozenset()

    def names_psa(self, psa: PsaRef) -> bool:
        return psa.name.casefold() in self.psa_names or psa.id in self.psa_ids

    def names_vendor(self, item: MapItem) -> bool:
        vendor = item.vendor
        keys = {(vendor.source, vendor.name.casefold()), (vendor.source, (vendor.id or "").casefold())}
        return not keys.isdisjoint(self.vendors)


@dataclass(frozen=True)
class Rendered:
    """The file's new text, what it adds (blocks, ignores), and the matches left out for a block that exists."""

    text: str
    blocks: int
    ignores: int
    skipped: list[MapItem]


def read(path: Path, *, force: bool = False) -> Held:
    """What the mapping file at `path` holds, to merge into (nothing when there is none).

    A file that is not a mapping file (not TOML, tables other than [[customers]] and [[ignored_customers]], or a
    layout new blocks cannot follow) is refused with a ConfigError (exit 2): replacing it would lose what it holds.
    With `force` it is replaced instead (`write` keeps a backup).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Held()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"--write {path}: cannot read it to merge into: {error}") from None
    try:
        data = tomllib.loads(text)
        tomllib.loads(text + _PROBE)
        why = f"it holds {sorted(set(data) - MAPPING_KEYS)[0]}" if set(data) - MAPPING_KEYS else None
    except tomllib.TOMLDecodeError as error:
        why = f"new blocks cannot be added to it as TOML ({error})"
    if why is None:
        return _held(text, data)
    if force:
        return Held()
    raise ConfigError(
        f"--write {path}: not a mapping file this can add blocks to ({why}); writing would replace it and lose what "
        "it holds: name another file, or add --force to replace it (a copy is kept as "
        f"{backup_path(path)})"
    )


def _held(text: str, data: dict[str, Any]) -> Held:
    names, ids, vendors = set(), set(), set()
    blocks = [b for b in data.get("customers", []) if isinstance(b, dict)]
    for block in blocks:
        names.add(str(block.get("psa_customer", "")).casefold())
        if isinstance(block.get("psa_customer_id"), int):
            ids.add(block["psa_customer_id"])
        with contextlib.suppress(ValidationError):  # a block with a mistake still keeps its name; check names it
            for source, ref in CustomerMapping.model_validate(block).vendors.items():
                vendors |= {(source, ref.customer.casefold()), (source, (ref.id or ref.customer).casefold())}
    for ignored in data.get("ignored_customers", []):
        if isinstance(ignored, dict):
            vendors.add((str(ignored.get("source")), str(ignored.get("customer", "")).casefold()))
    # An empty name would match every vendor customer without an id.
    vendors = {(source, name) for source, name in vendors if name}
    return Held(text, len(blocks), frozenset(names - {""}), frozenset(ids), frozenset(vendors))


def render(
    items: Sequence[MapItem],
    taken: Sequence[str] = (),
    templates: MappingSettings | None = None,
    ignored: Sequence[MapItem] = (),
    created: frozenset[int] = frozenset(),
    held: Held | None = None,
    reason: str = IGNORE_REASON,
) -> Rendered:
    """The accepted matches as TOML mapping blocks, one per PSA customer (its vendors together), each saying where
    it came from and billing its sources' template lines; `ignored` vendor customers as [[ignored_customers]]; all
    after the `held` file's own text. A vendor customer the file names already is left out; one whose PSA customer
    has a block (in `taken`, the configuration's, or in the file) is left out and returned, to be added by hand.
    Those `created` (PSA ids) were made by `--create-customers` and say so; `reason` is each new ignore's, written
    as a TOML string whatever it holds (quotes, backslashes, line breaks)."""
    held = held or Held()
    blocks: dict[str, list[MapItem]] = {}
    skipped = []
    taken_names = {name.casefold() for name in taken}
    for item in items:
        if item.psa is None or held.names_vendor(item):
            continue
        if item.psa.name.casefold() in taken_names or held.names_psa(item.psa):
            skipped.append(item)
        else:
            blocks.setdefault(item.psa.name, []).append(item)
    new_ignores = [item for item in ignored if not held.names_vendor(item)]
    parts = [held.text.rstrip("\n") + "\n" if held.text.strip() else HEADER]
    for matched in blocks.values():
        parts.append(_block(matched, templates or MappingSettings(), created))
    for item in new_ignores:
        parts.append(f"\n# {item.vendor.source}: ignored when mapping ({item.kind})\n[[ignored_customers]]\n")
        parts.append(f"source = {_toml(item.vendor.source)}\ncustomer = {_toml(item.vendor.name)}\n")
        parts.append(f"reason = {_toml(reason)}\n")
    text = "".join(parts)
    _check_kept(text, held, len(blocks))
    return Rendered(text, len(blocks), len(new_ignores), skipped)


def _check_kept(text: str, held: Held, added: int) -> None:
    # A merge that would lose a block (or write what does not load) is refused before the file is touched.
    try:
        customers = tomllib.loads(text).get("customers", [])
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"the merged mapping file would not be valid TOML ({error}): nothing was written") from None
    if len(customers) != held.customers + added:
        raise ConfigError("the merged mapping file would not hold every block: nothing was written")


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def write(path: Path, text: str) -> Path | None:
    """Replace `path` with `text` (`files.write_private`: whole or not at all, never through a link), keeping the
    file's mode; an existing file is first copied to `FILE.bak` (returned, else None)."""
    backup = None
    mode = None
    if path.exists():
        backup = backup_path(path)
        shutil.copy2(path, backup)
        mode = stat.S_IMODE(backup.stat().st_mode)
    write_private(path, text, mode)
    return backup


def included(config_path: Path) -> list[Path]:
    """The mapping files the main configuration includes (`[mappings] file` / `files`), resolved."""
    try:
        section = tomllib.loads(config_path.read_text(encoding="utf-8")).get("mappings")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    if not isinstance(section, dict):
        return []
    names = [section["file"]] if "file" in section else []
    names += list(section.get("files", []))
    return [(config_path.parent / str(name)).resolve() for name in names]


def _block(matched: list[MapItem], templates: MappingSettings, created: frozenset[int]) -> str:
    psa = matched[0].psa
    assert psa is not None
    parts = ["\n[[customers]]\n"]
    if psa.id in created:
        parts.append("# created in the PSA by `connector map --create-customers`\n")
    parts.append(f"psa_customer = {_toml(psa.name)}\n")
    if psa.id is not None:
        parts.append(f"psa_customer_id = {psa.id}\n")
    for item in matched:
        how = "exact name match" if item.kind == "matched" else f"suggestion accepted (score {item.score:g})"
        parts.append(f"# {item.vendor.source}: {how}\n")
        vendor = f"customer = {_toml(item.vendor.name)}"
        if item.vendor.id is not None:
            vendor += f", id = {_toml(item.vendor.id)}"
        parts.append(f"{item.vendor.source} = {{ {vendor} }}\n")
    lines = templates.lines_for(list(dict.fromkeys(item.vendor.source for item in matched)), psa.name)
    if not lines and any(templates.templates.get(item.vendor.source) is None for item in matched):
        # Without lines the block maps the customer but bills nothing: say so where it will be edited.
        parts.append("# no [mapping.templates] for this source: add [[customers.lines]] to bill it\n")
    parts += [_line(line) for line in lines]
    return "".join(parts)


def _line(line: LineMapping) -> str:
    parts = ["[[customers.lines]]  # from [mapping.templates]\n"]
    fields = line.model_dump(exclude_defaults=True, exclude={"psa"})
    fields.setdefault("metric", line.metric)
    fields.setdefault("contract", line.contract)
    for key, value in fields.items():
        parts.append(f"{key} = {_value(value)}\n")
    for psa, options in line.psa.items():
        inline = ", ".join(f"{key} = {_value(value)}" for key, value in options.items())
        parts.append(f"{psa} = {{ {inline} }}\n")
    return "".join(parts)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    # Money stays a string (a TOML float would round it); a date, a period and a name read back from text.
    return _toml(str(value))


def _toml(text: str) -> str:
    # A TOML basic string is a JSON string (quotes, backslashes and control characters escaped), except that TOML
    # also forbids DEL unescaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
