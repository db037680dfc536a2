"""The mapping file `connector map --write` writes: commented [[customers]] blocks with template lines, and ignores."""

from __future__ import annotations

import json
from collections.abc import Sequence

from connector.mapper import MapItem
from mappings.customer import LineMapping
from mappings.templates import MappingSettings

HEADER = "# Written by `connector map --write`; included from the main configuration. Edit freely.\n"


def render(
    items: Sequence[MapItem],
    taken: Sequence[str] = (),
    templates: MappingSettings | None = None,
    ignored: Sequence[MapItem] = (),
    created: frozenset[int] = frozenset(),
) -> tuple[str, list[MapItem]]:
    """The accepted matches as TOML mapping blocks, one per PSA customer (its vendors together), each saying where
    it came from and billing its sources' template lines; `ignored` vendor customers as [[ignored_customers]]. PSA
    customers in `taken` (already a block in the main configuration) are left out and returned; those `created`
    (PSA ids) were made by `--create-customers` and say so."""
    blocks: dict[str, list[MapItem]] = {}
    skipped = []
    held = {name.casefold() for name in taken}
    for item in items:
        if item.psa is None:
            continue
        if item.psa.name.casefold() in held:
            skipped.append(item)
        else:
            blocks.setdefault(item.psa.name, []).append(item)
    parts = [HEADER]
    for matched in blocks.values():
        parts.append(_block(matched, templates or MappingSettings(), created))
    for item in ignored:
        parts.append(f"\n# {item.vendor.source}: ignored when mapping ({item.kind})\n[[ignored_customers]]\n")
        parts.append(f"source = {_toml(item.vendor.source)}\ncustomer = {_toml(item.vendor.name)}\n")
        parts.append('reason = "chosen to ignore in connector map"\n')
    return "".join(parts), skipped


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
    # A TOML basic string is a JSON string for everything a name holds.
    return json.dumps(text, ensure_ascii=False)
