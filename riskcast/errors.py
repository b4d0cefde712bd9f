"""Errors every layer raises, so the CLI and the API can answer them the same way."""

from __future__ import annotations

MAX_SHOWN = 40
"""Characters of a user-supplied value quoted back in an error message."""


def shown(value: object) -> str:
    """A user string as quoted in messages: control characters escaped, cut to
    :data:`MAX_SHOWN` characters (a 1 MB id must not come back as a 1 MB message)."""
    text = str(value)
    cut = repr(text[:MAX_SHOWN])[1:-1]
    return cut + (f"… ({len(text)} characters)" if len(text) > MAX_SHOWN else "")


class RiskcastError(Exception):
    """Base class: an error a user can act on. The CLI prints it and exits non-zero."""


class InputError(RiskcastError, ValueError):
    """Bad input data, naming where it is (file, row, field) so a person can fix it.

    Args:
        message: what is wrong, in words for the person who supplied the data.
        file: the file (or "request body") the bad value came from.
        row: 1-based row number in that file as a person counts it (header = row 1), if known.
        field: the column or key at fault, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [
            part
            for part in (
                self.file and f"file {self.file}",
                self.row is not None and f"row {self.row}",
                self.field and f"field '{self.field}'",
            )
            if part
        ]
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ConfigError(RiskcastError):
    """The TOML config or the settings are wrong (unknown key, bad value)."""


class StoreUnavailableError(RiskcastError):
    """The database cannot be reached or is locked; nothing was written."""
