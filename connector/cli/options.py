"""What every command shares: the global options, the lazily loaded configuration, --config and --format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from connector.core.logs import configure_logging

if TYPE_CHECKING:
    from connector.core.config import Settings

# connector.core.config's own default (a test checks they agree), repeated so `--version` need not import the config
# models (pydantic-settings and every provider).
DEFAULT_CONFIG_PATH = Path("connector.toml")

FormatOption = Annotated[
    Literal["table", "json"], typer.Option("--format", "-f", help="table for people, json for machines.")
]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=f"Configuration file (TOML) [default: {DEFAULT_CONFIG_PATH}].",
        envvar="CONNECTOR_CONFIG",
    ),
]


@dataclass
class State:
    """Global options, shared with every command through the typer context."""

    config_path: Path
    verbose: bool
    _settings: Settings | None = None

    def settings(self, *, required: bool = True) -> Settings:
        """The configuration, loaded once; not `required`, a missing file gives the defaults."""
        if self._settings is None:
            from connector.wiring import load_settings

            self._settings = load_settings(self.config_path, required=required)
            configure_logging(
                self._settings.log.level, self._settings.log.file, verbose=self.verbose, fmt=self._settings.log.format
            )
        return self._settings


def state(ctx: typer.Context, config: Path | None = None) -> State:
    """The global options; a command's own --config (so it may follow the command name) wins."""
    found: State = ctx.find_root().obj
    if config is not None:
        found.config_path = config
    return found
