"""Kind ``panel_csv``: a long CSV already in the panel's own columns.

Columns ``region, month, series, value[, source]`` (header names are matched after
stripping and lower-casing). Region values are ids taken as given: ids not yet in the
registry are added by the store as custom regions (name = id) and reported, so any user's
own regions work. A missing or blank ``source`` becomes ``file:<file name>``.
Every cell is read as text so validation can quote the cell a person typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from data.sources.files import PANEL_REQUIRED, ROW_COLUMN, read_csv_rows

KIND = "panel_csv"
REQUIRED_COLUMNS = PANEL_REQUIRED


def matches(path: Path, columns: set[str]) -> bool:
    """A panel CSV has at least region, month, series and value columns."""
    return set(REQUIRED_COLUMNS) <= {c.strip().lower() for c in columns}


def default_source(path: Path) -> str:
    """The source label of rows that name none."""
    return f"file:{path.name}"


def parse(path: Path, resolver: Any = None, options: Any = None) -> pd.DataFrame:
    """The file as a panel frame with ``_row`` (file row numbers); values still text.

    Args:
        path: the CSV.
        resolver: unused (ids are taken as given).
        options: unused.

    Raises:
        InputError: the file is empty, binary or malformed (see :mod:`data.sources`);
            missing columns are reported by :func:`data.schema.validate_panel`.
    """
    frame = read_csv_rows(path, dtype=str, keep_default_na=False)
    frame.columns = [c if c == ROW_COLUMN else c.lower() for c in frame.columns]
    fallback = default_source(path)
    if "source" not in frame.columns:
        frame["source"] = fallback
    else:
        frame["source"] = frame["source"].where(frame["source"].str.strip() != "", fallback)
    return frame
