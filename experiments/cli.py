"""Command-line commands of the `experiments` layer, mounted on the `riskcast` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the `riskcast` app."""
