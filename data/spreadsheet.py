"""CSV cells that a spreadsheet would run as formulas, made inert (CSV injection).

OWASP's advice: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read by Excel, LibreOffice and Google Sheets as a formula (``=cmd|' /C calc'!A0``
runs a program), so such text cells are written with a leading single quote. Numbers are
left alone (a negative count never reaches the store anyway). Ingest refuses sources that
start this way (:mod:`data.schema`), so an export of data ingested today reads back
unchanged; the quote only guards rows stored before that rule.
"""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(text: object) -> object:
    """``text`` with a leading ``'`` when a spreadsheet would run it; other values as is."""
    if isinstance(text, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def inert_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns hold no formula-looking cell."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):  # object or string dtype
            out[column] = out[column].map(inert)
    return out
