"""riskcast's production face: HTTP API, scheduled jobs, alerts and the weekly bulletin.

This module wires; it does not compute.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``run`` and ``report`` to the ``riskcast`` app."""
