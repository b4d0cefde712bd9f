"""The one rule for region ids, applied by every ingest entry point before the database.

A region id is either known to the registry (P-codes such as ``ML05``, ISO3 codes such as
``MLI``, custom regions added earlier) or it is refused. A *new* id is accepted only when
the caller asks for it explicitly (``riskcast ingest --new-regions``,
``POST /observations?new_regions=true``) and only when it is well formed: 2-16 ASCII
capital letters and digits, starting with a letter (:data:`REGION_ID`). So a typo never
silently becomes a new place, and no id can carry markup, full-width digits, control
characters or a megabyte of text into the store, the bulletin or a suggestion search.

The work is bounded: each distinct id is checked once, suggestions are computed for at most
:data:`MAX_SUGGESTED` unknown ids, and long ids are quoted truncated
(:func:`riskcast.errors.shown`).
"""

from __future__ import annotations

import re

import pandas as pd

from data.names import NameResolver
from data.registry import Registry
from riskcast.errors import InputError, shown

REGION_ID = re.compile(r"[A-Z][A-Z0-9]{1,15}")
"""Well-formed new region ids (matched in full, ASCII only)."""

RULE = (
    "new ids are 2-16 ASCII capital letters and digits starting with a letter "
    "(P-codes such as ML05, ISO3 codes such as MLI)"
)

MAX_SUGGESTED = 3
"""Unknown ids that get "closest known names" in one error message."""

ROW_COLUMN = "_row"


def is_well_formed(region_id: str) -> bool:
    """True when ``region_id`` may become a new custom region."""
    return REGION_ID.fullmatch(region_id) is not None


def check_region_ids(
    frame: pd.DataFrame,
    registry: Registry,
    *,
    file: str,
    allow_new: bool = False,
    first_row: int = 2,
) -> list[str]:
    """Refuse region ids the rule does not allow; return the new ids that will be added.

    Args:
        frame: raw rows with a ``region`` column (and ``_row``, the file row of each frame
            row, when the parser kept it; otherwise row ``i`` is ``i + first_row``).
        registry: the regions known now.
        file: file name (or "request body") for messages.
        allow_new: accept well-formed unknown ids (they become custom regions).
        first_row: file row of the frame's first row when there is no ``_row`` column.

    Raises:
        InputError: naming the file, the first row holding a refused id and the field
            ``region``; blank ids are left to :func:`data.schema.validate_panel`.
    """
    if "region" not in frame.columns:
        return []
    regions = frame["region"]
    if ROW_COLUMN in frame.columns:
        rows = pd.to_numeric(frame[ROW_COLUMN], errors="coerce").fillna(-1).astype("int64")
    else:
        rows = pd.Series(range(first_row, first_row + len(frame)), index=frame.index)
    firsts: dict[str, int] = {}
    first = ~regions.duplicated().to_numpy()  # first occurrences: one look per id, not per row
    for value, row in zip(
        regions.to_numpy()[first].tolist(), rows.to_numpy()[first].tolist(), strict=True
    ):
        if not isinstance(value, str) or not value.strip():
            continue  # blank or missing: the schema names it
        key = value.strip()
        if key not in registry and key not in firsts:
            firsts[key] = int(row)
    if not firsts:
        return []
    if not allow_new:
        resolver = NameResolver(registry)
        unknown = sorted(firsts.items(), key=lambda pair: pair[1])

        def described(key: str, row: int) -> str:
            if not is_well_formed(key):
                return f"'{shown(key)}' (row {row}; not a valid id)"
            closest = ", ".join(resolver.closest(key)) or "none"
            return f"'{shown(key)}' (row {row}; closest: {closest})"

        listed = "; ".join(described(key, row) for key, row in unknown[:MAX_SUGGESTED])
        more = f"; and {len(unknown) - MAX_SUGGESTED} more" if len(unknown) > MAX_SUGGESTED else ""
        raise InputError(
            f"unknown region(s) {listed}{more}. Use ids from the registry (GET /regions); "
            f"to add your own regions on purpose, ingest with --new-regions "
            f"(API: ?new_regions=true); {RULE}",
            file=file,
            row=_row(unknown[0][1]),
            field="region",
        )
    malformed = [(key, row) for key, row in firsts.items() if not is_well_formed(key)]
    if malformed:
        key, row = min(malformed, key=lambda pair: pair[1])
        more = f" (and {len(malformed) - 1} more such id(s))" if len(malformed) > 1 else ""
        raise InputError(
            f"region id '{shown(key)}' is not known and cannot be a new region: {RULE}{more}",
            file=file,
            row=_row(row),
            field="region",
        )
    return sorted(firsts)


def _row(number: int) -> int | None:
    return number if number >= 0 else None
