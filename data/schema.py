"""The one validation of a panel frame, called by every entry point (CLI, API, scheduler).

A panel is long: one row per (region, month, series) with a non-negative ``value`` and the
``source`` it came from. Validation is done by a pandera schema so the rules are declared in
one place; pandera's failure cases give the rows at fault, which are turned into one
:class:`~riskcast.errors.InputError` naming the file, the row as a person counts it in the
file (header = row 1, first data row = row 2) and the field, in words the supplier of the
data can act on.

Row numbers: a frame may carry a ``_row`` column (the file row each frame row came from,
set by parsers that read files row by row); otherwise row ``i`` (0-based position) is
reported as ``i + row_offset`` (default 2: the first data row below a header).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from data.config import DEFAULT_MAX_VALUE
from data.spreadsheet import FORMULA_START
from riskcast.errors import InputError, shown
from riskcast.months import EARLIEST_MONTH

PANEL_COLUMNS = ("region", "month", "series", "value", "source")
KEY_COLUMNS = ("region", "month", "series")
ROW_COLUMN = "_row"
SERIES_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_MONTH_TEXT = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_LENGTHS = {"region": 64, "series": 64, "source": 200}
"""Longest text per field (the store's column widths): checked here, so a long value is a
clear error naming row and field, not a database failure reported as an outage."""
_SHOWN_COLUMNS = 12  # columns listed in a "missing column" message
_BEFORE_ANY_MONTH = pd.Period("0001-01", freq="M")

# check name -> (field, message template); {value} is the offending cell as found.
_MESSAGES: dict[str, tuple[str, str]] = {
    "region_present": ("region", "region id is missing"),
    "month_parses": ("month", "'{value}' is not a month written YYYY-MM"),
    "month_not_future": ("month", "month {value} is in the future (after {now})"),
    "month_not_too_early": (
        "month",
        f"month {{value}} is before {EARLIEST_MONTH}, the earliest month riskcast holds",
    ),
    "region_length": ("region", f"region id is longer than {MAX_LENGTHS['region']} characters"),
    "series_length": ("series", f"series name is longer than {MAX_LENGTHS['series']} characters"),
    "source_length": ("source", f"source is longer than {MAX_LENGTHS['source']} characters"),
    "value_not_too_large": (
        "value",
        "value {value} is larger than {max_value:,.0f}, the largest count accepted "
        "([data] max_value)",
    ),
    "series_snake_case": (
        "series",
        "series name '{value}' must be lowercase snake_case (e.g. 'fatalities', 'aid_diversion')",
    ),
    "value_numeric": ("value", "value '{value}' is not a number"),
    "value_finite": ("value", "value '{value}' is not a finite number"),
    "value_non_negative": ("value", "value {value} is negative; counts must be 0 or more"),
    "source_present": ("source", "source is missing"),
    "source_not_formula": (
        "source",
        "source '{value}' starts with =, +, -, @, a tab or a carriage return; a spreadsheet "
        "opening an export would run it as a formula",
    ),
}


def _check(name: str, test: Callable[[pd.Series], pd.Series]) -> pa.Check:
    return pa.Check(test, name=name, error=name, ignore_na=False)


def _fits(field: str) -> pa.Check:
    limit = MAX_LENGTHS[field]
    return _check(f"{field}_length", lambda s: s.map(lambda v: v is None or len(str(v)) <= limit))


def _schema(now: pd.Period, max_value: float) -> pa.DataFrameSchema:
    """The declared rules; columns arrive pre-coerced (unparseable cells are NaN/NaT)."""
    earliest = pd.Period(EARLIEST_MONTH, freq="M")
    return pa.DataFrameSchema(
        {
            "region": pa.Column(
                None,
                [_check("region_present", lambda s: s.notna() & (s != "")), _fits("region")],
                nullable=True,
            ),
            "month": pa.Column(
                None,
                [
                    _check("month_parses", lambda s: s.notna()),
                    _check("month_not_future", lambda s: s.isna() | (s <= now)),
                    _check("month_not_too_early", lambda s: s.isna() | (s >= earliest)),
                ],
                nullable=True,
            ),
            "series": pa.Column(
                None,
                [
                    _check(
                        "series_snake_case",
                        lambda s: s.map(
                            lambda v: (
                                isinstance(v, str)
                                and len(v) <= MAX_LENGTHS["series"]
                                and bool(SERIES_NAME.match(v))
                            )
                        ),
                    ),
                    _fits("series"),
                ],
                nullable=True,
            ),
            "value": pa.Column(
                None,
                [
                    _check("value_numeric", lambda s: s.notna()),
                    _check("value_finite", lambda s: s.isna() | np.isfinite(s)),
                    _check("value_non_negative", lambda s: s.isna() | (s >= 0)),
                    _check("value_not_too_large", lambda s: ~np.isfinite(s) | (s <= max_value)),
                ],
                nullable=True,
            ),
            "source": pa.Column(
                None,
                [
                    _check("source_present", lambda s: s.notna() & (s != "")),
                    _fits("source"),
                    _check(
                        "source_not_formula",
                        lambda s: s.map(lambda v: not str(v).startswith(FORMULA_START)),
                    ),
                ],
                nullable=True,
            ),
        },
        unique=list(KEY_COLUMNS),
        report_duplicates="all",
        coerce=False,
    )


def _clean_text(column: pd.Series) -> pd.Series:
    """Strings stripped; missing stays missing (object dtype, so pandera sees raw cells)."""
    return column.map(lambda v: v.strip() if isinstance(v, str) else (None if pd.isna(v) else v))


def _coerce_month(column: pd.Series) -> pd.Series:
    """Periods pass through (as monthly), ``YYYY-MM`` text parses, anything else → None."""
    if isinstance(column.dtype, pd.PeriodDtype):
        return pd.Series(column.dt.asfreq("M").astype(object), index=column.index)

    def one(cell: object) -> pd.Period | None:
        if isinstance(cell, pd.Period):
            return cell.asfreq("M")
        if isinstance(cell, pd.Timestamp):
            return cell.to_period("M")
        if isinstance(cell, str) and _MONTH_TEXT.match(cell.strip()):
            try:
                return pd.Period(cell.strip(), freq="M")
            except ValueError:  # year 0000: the regex allows it, the calendar does not
                return _BEFORE_ANY_MONTH  # refused as "before 1900-01", quoting the cell
        return None

    return column.map(one).astype(object)


def _row_numbers(frame: pd.DataFrame, row_offset: int | None) -> np.ndarray:
    """File row of each frame row; -1 where unknown (aggregated frames)."""
    if ROW_COLUMN in frame.columns:
        return pd.to_numeric(frame[ROW_COLUMN], errors="coerce").fillna(-1).to_numpy(np.int64)
    if row_offset is None:
        return np.full(len(frame), -1, dtype=np.int64)
    return np.arange(len(frame), dtype=np.int64) + row_offset


def _row(number: int) -> int | None:
    return int(number) if number >= 0 else None


def _check_columns(frame: pd.DataFrame, file: str) -> None:
    found = [str(c)[:64] for c in frame.columns if c != ROW_COLUMN][:1000]
    for column in PANEL_COLUMNS:
        if column not in frame.columns:
            close = difflib.get_close_matches(column, found, n=1, cutoff=0.6)
            hint = f" (found '{shown(close[0])}': did you mean '{column}'?)" if close else ""
            listed = ", ".join(shown(c) for c in found[:_SHOWN_COLUMNS]) or "none"
            if len(found) > _SHOWN_COLUMNS:
                listed += f", … ({len(frame.columns)} columns in all)"
            raise InputError(
                f"missing column '{column}'{hint}; the panel needs "
                f"columns {', '.join(PANEL_COLUMNS)} (found: {listed})",
                file=file,
                row=1,
                field=column,
            )


def _is_blank(cell: object) -> bool:
    if isinstance(cell, str):
        return not cell.strip()
    return cell is None or (not isinstance(cell, pd.Period) and bool(pd.isna(cell)))


def _format_cell(cell: object) -> str:
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 1e16:
        return str(int(cell))
    return shown(cell)


def _first_error(
    errors: pa.errors.SchemaErrors,
    raw: pd.DataFrame,
    rows: np.ndarray,
    file: str,
    now: pd.Period,
    prepared: pd.DataFrame,
    max_value: float,
) -> InputError:
    """The first problem in file order, as one InputError mentioning how many more there are."""
    cases = errors.failure_cases.dropna(subset=["index"])
    problems: list[tuple[int, str, str]] = []
    for case in cases.itertuples(index=False):
        position = int(case.index)
        if case.check == "multiple_fields_uniqueness":
            continue  # handled below, once per key
        field, template = _MESSAGES.get(str(case.check), (str(case.column), str(case.check)))
        cell = raw[field].iloc[position] if field in raw.columns else None
        if _is_blank(cell):
            message = f"{field} is missing (empty cell)"
        else:
            message = template.format(value=_format_cell(cell), now=now, max_value=max_value)
        problems.append((int(rows[position]), field, message))
    duplicated = prepared.duplicated(list(KEY_COLUMNS), keep=False) & prepared["month"].notna()
    if duplicated.any():
        for _key, group in prepared[duplicated].groupby(list(KEY_COLUMNS), sort=False):
            positions = group.index.to_list()
            known = [int(rows[p]) for p in positions if rows[p] >= 0]
            where = f"rows {', '.join(map(str, known))} give" if known else "rows give"
            values = ", ".join(_format_cell(v) for v in group["value"])
            first = group.iloc[0]
            problems.append(
                (
                    int(rows[positions[1]]),
                    "value",
                    f"duplicate rows disagree for region {first['region']}, month "
                    f"{first['month']}, series {first['series']}: {where} values "
                    f"{values}; keep one",
                )
            )
    if not problems:  # a failure pandera could not place on a row
        return InputError(f"the panel is not valid: {errors}", file=file)
    problems.sort(key=lambda p: p[0])
    row, field, message = problems[0]
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem(s) in this file)"
    return InputError(message, file=file, row=_row(row), field=field)


def validate_panel(
    frame: pd.DataFrame,
    *,
    file: str,
    row_offset: int | None = 2,
    now: pd.Period | None = None,
    max_value: float | None = None,
) -> pd.DataFrame:
    """Check a panel frame and return it clean, or raise one error naming file, row and field.

    Rules: columns region, month, series, value, source present; region and source
    non-empty and within :data:`MAX_LENGTHS`; month a ``YYYY-MM`` string, Timestamp or
    Period, from :data:`riskcast.months.EARLIEST_MONTH` to the current calendar month;
    series lowercase snake_case; value a finite number from 0 to ``max_value``; at most one row
    per (region, month, series) — exact duplicates (same value) are collapsed to one,
    duplicates that disagree are an error.

    Args:
        frame: the panel as parsed (any dtypes; extra columns are dropped).
        file: name of the file (or "request body") the frame came from, for messages.
        row_offset: file row of the frame's first row when there is no ``_row`` column;
            None when frame rows are not file rows (aggregates): errors then name no row.
        now: the current month (default: today's); months after it are rejected.
        max_value: the largest count accepted (``[data] max_value``, which the caller passes;
            default that key's default). A value such
            as 1e308 would otherwise be stored and break every later forecast).

    Returns:
        Columns region (str), month (``period[M]``), series (str), value (float64),
        source (str); sorted by region, series, month; fresh RangeIndex.

    Raises:
        InputError: naming file, row (header = 1) and field of the first problem.
    """
    now = now or pd.Period.now("M")
    max_value = DEFAULT_MAX_VALUE if max_value is None else max_value
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InputError("has no data rows (the file or body is empty)", file=file)
    _check_columns(frame, file)
    raw = frame.reset_index(drop=True)
    rows = _row_numbers(raw, row_offset)
    prepared = pd.DataFrame(
        {
            "region": _clean_text(raw["region"]).astype(object),
            "month": _coerce_month(raw["month"]),
            "series": _clean_text(raw["series"]).astype(object),
            "value": pd.to_numeric(raw["value"], errors="coerce").astype("float64"),
            "source": _clean_text(raw["source"]).astype(object),
        }
    )
    prepared["region"] = prepared["region"].map(lambda v: v if v is None else str(v))
    # Exact duplicates (same key and value) are one fact stated twice: keep the first.
    exact = prepared.duplicated(["region", "month", "series", "value"], keep="first")
    exact &= prepared["month"].notna() & prepared["value"].notna()
    keep = ~exact.to_numpy()
    prepared, raw, rows = prepared[keep].reset_index(drop=True), raw[keep], rows[keep]
    raw = raw.reset_index(drop=True)
    try:
        _schema(now, max_value).validate(prepared, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise _first_error(errors, raw, rows, file, now, prepared, max_value) from None
    clean = prepared.assign(
        region=prepared["region"].astype(str),
        month=pd.PeriodIndex(prepared["month"].to_list(), freq="M"),
        series=prepared["series"].astype(str),
        source=prepared["source"].astype(str),
    )
    return clean.sort_values(["region", "series", "month"], ignore_index=True)
