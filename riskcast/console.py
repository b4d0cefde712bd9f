"""The console the CLI prints tables to."""

from __future__ import annotations

from rich.console import Console

WIDE_COLUMNS = 400
"""Console width for ``--wide`` tables: every column at its natural width."""


def make_console(*, wide: bool = False) -> Console:
    """A console for tables: wide enough for metric tables when output is piped.

    Rich falls back to 80 columns without a terminal (CI logs, ``make run``), which squeezes
    a leaderboard into empty columns. ``wide`` never shrinks a table (``--wide`` options).
    """
    console = Console()
    if wide:
        return Console(width=max(console.width, WIDE_COLUMNS))
    return console if console.is_terminal else Console(width=max(console.width, 160))
