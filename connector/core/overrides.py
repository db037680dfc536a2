"""Which configuration keys the `CONNECTOR_…` environment sets, so an error in one names its variable, not the file."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

Location = tuple[int | str, ...]

NOT_SETTINGS = frozenset({"CONFIG"})  # CONNECTOR_CONFIG is the command line's --config
_MISSING = object()
NOT_JSON = "not valid JSON (a list or table set from the environment is written as JSON)"


@dataclass(frozen=True)
class Override:
    name: str  # the variable, as the environment spells it
    path: tuple[str, ...]  # the key path it sets, lower case as pydantic-settings reads it
    value: str

    def holds(self, rest: Location) -> bool:
        """Whether the variable's own value (JSON for a table or a list) reaches `rest` below its path."""
        if not rest:
            return True
        try:
            node: Any = json.loads(self.value)
        except ValueError:
            return False
        for part in rest:
            node = _step(node, part)
            if node is _MISSING:
                return False
        return True


class Overrides:
    """The environment variables that set configuration keys (`CONNECTOR_HTTP__MAX_ATTEMPTS` sets http.max_attempts)."""

    def __init__(self, prefix: str, file_data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
        # Names are read without regard to case, as pydantic-settings reads them.
        self.prefix = prefix
        self.file_data = file_data
        self.found = [
            Override(name, tuple(name[len(prefix) :].lower().split("__")), value)
            for name, value in sorted((os.environ if environ is None else environ).items())
            if name.upper().startswith(prefix.upper()) and name[len(prefix) :].upper() not in NOT_SETTINGS
        ]

    def unknown(self, fields: Collection[str]) -> list[str]:
        """A variable with the prefix that sets nothing is a typo (one underscore for two): never ignored in silence."""
        form = f"{self.prefix}<SECTION>__<KEY>, e.g. {self.prefix}LOG__LEVEL"
        return [
            f"environment variable {o.name}: no such setting ({form})" for o in self.found if o.path[0] not in fields
        ]

    def origin(self, location: Location, kind: str) -> tuple[str, Location] | None:
        """The variable a failing value came from, and the location below the key it sets; None: not the environment."""
        for override in sorted(self.found, key=lambda o: -len(o.path)):
            depth = len(override.path)
            head = [part.lower() if isinstance(part, str) else part for part in location[:depth]]
            if depth > len(location) or tuple(head) != override.path:
                continue
            rest = location[depth:]
            # A table set as JSON is merged with the file's: the value is the variable's only if the JSON holds it
            # (or, for a key required and missing, its table), or if the file sets nothing there.
            if (
                override.holds(rest)
                or (kind == "missing" and override.holds(rest[:-1]))
                or not self._in_file(location[:depth])
            ):
                return f"environment variable {override.name}", rest
        return None

    def owner_of(self, problem: str) -> str | None:
        """The variable that set the list a problem (`customers[0]…: …`) is about: lists from the environment replace
        the file's."""
        top = re.match(r"[a-z_]+", problem)
        found = [o.name for o in self.found if top and o.path == (top.group(),)]
        return f"environment variable {found[0]}" if found else None

    def unparsable(self, message: str) -> str | None:
        """What to say for pydantic-settings' "error parsing value for field …": which variable is not JSON."""
        field = re.search(r'field "([^"]+)"', message)
        under = [o for o in self.found if field and o.path[0] == field.group(1).lower()]
        if not under:
            return None
        broken = [o.name for o in under if not _is_json(o.value)] or [o.name for o in under]
        return f"environment variable {' or '.join(broken)}: {NOT_JSON}"

    def _in_file(self, path: Location) -> bool:
        node: Any = self.file_data
        for part in path:
            if not isinstance(node, dict):
                return False
            match = [key for key in node if isinstance(key, str) and key.lower() == part]
            if not match:
                return False
            node = node[match[0]]
        return True


def _step(node: Any, part: int | str) -> Any:
    if isinstance(node, dict) and isinstance(part, str):
        return node.get(part, _MISSING)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
