"""The console the CLI prints tables to."""

from __future__ import annotations

from rich.console import Console


def make_console() -> Console:
    """A console for tables: wide enough for metric tables when output is piped.

    Rich falls back to 80 columns without a terminal (CI logs, ``make run``), which squeezes
    a leaderboard into empty columns.
    """
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))
