"""Source kinds: which parser reads which file, and reading files safely.

Every kind of source file riskcast understands is one object with

* ``KIND: str`` — the stable name users pass to ``--source`` (``ucdp_ged``, ``panel_csv`` …);
* ``matches(path: Path, columns: set[str]) -> bool`` — does a file with this header belong
  to this kind (used by :func:`detect_kind` when ``--source`` is not given);
* ``parse(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame`` — a
  panel frame (region, month, series, value, source; optionally ``_row``, the file row of
  each frame row, for error messages) that :func:`data.schema.validate_panel` then checks.

A module with one kind is itself that object; a module with several kinds lists them in
``SOURCES`` (a tuple of objects with the three attributes). :data:`SOURCE_KINDS` maps each
kind name to its object, in detection order: the most specific header tests first, the
plain panel CSV last.

The file helpers (:mod:`data.sources.files`: :func:`check_file`, :func:`read_header`,
:func:`read_csv_rows`) turn empty, binary, truncated and unreadable files into an
:class:`~riskcast.errors.InputError` naming the file, before any parser sees them.
"""

from __future__ import annotations

import difflib
import logging
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import pandas as pd

from data.sources import (
    acled,
    awsd,
    osac,
    plain_csv,
    ucdp,
    un_peacekeeping,
    views_cm,
)
from data.sources.files import (
    PANEL_REQUIRED,
    ROW_COLUMN,
    check_file,
    has_hxl_row,
    is_parquet,
    is_xlsx,
    read_csv_rows,
    read_header,
    read_parquet_rows,
    read_xlsx,
)
from riskcast.config import did_you_mean
from riskcast.errors import InputError

log = logging.getLogger(__name__)


class Source(Protocol):
    """One kind of source file (see the module docstring)."""

    KIND: str

    def matches(self, path: Path, columns: set[str]) -> bool:
        """True when a file with these header columns is of this kind."""

    def parse(self, path: Path, resolver: Any, options: Any) -> pd.DataFrame:
        """The file as a panel frame (before validation)."""


def get_source(kind: str) -> Source:
    """The source object of a kind name.

    Raises:
        InputError: naming the field ``source`` and the known kinds, with a "did you mean".
    """
    try:
        return SOURCE_KINDS[kind]
    except KeyError:
        known = list(SOURCE_KINDS)
        raise InputError(
            f"unknown source kind '{kind}'{did_you_mean(kind, known)}; known kinds: "
            f"{', '.join(known)}",
            field="source",
        ) from None


def _found_instead(column: str, found: list[str]) -> str:
    close = difflib.get_close_matches(column, [c.lower() for c in found], n=1, cutoff=0.6)
    return f" (found '{close[0]}': did you mean '{column}'?)" if close else ""


def detect_kind(path: Path) -> str:
    """The source kind of a file, from its header.

    Raises:
        InputError: naming the file when it is unreadable or no kind matches (with the
            columns found, and the panel columns that look misspelled).
    """
    path = Path(path)
    columns = read_header(path)
    found = set(columns)
    for kind, source in SOURCE_KINDS.items():
        if source.matches(path, found):
            return kind
    lowered = {c.lower() for c in columns}
    missing = [c for c in PANEL_REQUIRED if c not in lowered]
    looks_like_panel = len(missing) < len(PANEL_REQUIRED)
    hints = (
        "".join(f"; missing '{c}'{_found_instead(c, columns)}" for c in missing)
        if looks_like_panel
        else ""
    )
    raise InputError(
        "could not tell what kind of file this is from its columns "
        f"({', '.join(columns[:12])}{' …' if len(columns) > 12 else ''}). A plain panel needs "
        f"columns region, month, series, value[, source]{hints}. Or name the kind with "
        f"--source ({', '.join(SOURCE_KINDS)}).",
        file=str(path),
        row=1,
        field=missing[0] if looks_like_panel else None,
    )


# Detection order: specific real-source layouts first, the generic panel CSV last.
_MODULES: tuple[ModuleType, ...] = (
    ucdp,
    acled,
    un_peacekeeping,
    awsd,
    osac,
    views_cm,
    plain_csv,
)


def _kinds_of(module: ModuleType) -> list[Source]:
    """The kinds a module provides: its ``SOURCES`` tuple, or the module itself."""
    return list(getattr(module, "SOURCES", None) or [module])


SOURCE_KINDS: dict[str, Source] = {
    source.KIND: source for module in _MODULES for source in _kinds_of(module)
}


__all__ = [
    "PANEL_REQUIRED",
    "ROW_COLUMN",
    "SOURCE_KINDS",
    "Source",
    "check_file",
    "detect_kind",
    "get_source",
    "has_hxl_row",
    "is_parquet",
    "is_xlsx",
    "read_csv_rows",
    "read_header",
    "read_parquet_rows",
    "read_xlsx",
]
