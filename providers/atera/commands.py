"""CLI commands of the atera provider, registered on the main app by connector.cli."""

from __future__ import annotations

import typer


def register(app: typer.Typer, usage: typer.Typer) -> None:
    """Add this provider's commands to the main app and to the `usage` group."""
