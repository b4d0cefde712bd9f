"""Building blocks the source parsers share: reading, checking and aggregating to a panel.

Every parser in :mod:`data.sources` reads one file layout and returns a *panel frame*
(``region``, ``month`` period[M], ``series``, ``value`` float ≥ 0, ``source``). The steps
they have in common — reading a CSV or workbook with a clear error for garbage, checking
columns, parsing dates and counts with the row number of the first bad value, counting
per region and month, writing explicit zeros — live here so each parser reads as the
description of its layout.

Row numbers in errors count as a person does in a spreadsheet: the header is row 1, the
first data row is row 2 (row 3 when an HXL hashtag row sits under the header).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import openpyxl
import pandas as pd

from riskcast.errors import InputError

if TYPE_CHECKING:
    from data.names import NameResolver
    from data.source_options import SourceOptions

logger = logging.getLogger(__name__)

PANEL_COLUMNS = ["region", "month", "series", "value", "source"]
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class SourceKind:
    """One file layout a parser understands, for modules that hold several.

    Has the attributes of the ``Source`` protocol of :mod:`data.sources` (a module with one
    kind is itself such an object: module-level ``KIND``, ``matches``, ``parse``).

    Attributes:
        KIND: the kind name users pass as ``--source`` (e.g. ``"ucdp_ged"``).
        matches: ``matches(path, columns)`` → True when the header says this layout.
        parse: ``parse(path, resolver, options)`` → panel frame.
        description: one line for ``--help`` and error messages.
    """

    KIND: str
    matches: Callable[[Path, set[str]], bool]
    parse: Callable[[Path, NameResolver, SourceOptions], pd.DataFrame]
    description: str = ""


def source_label(kind: str, path: Path | str) -> str:
    """The ``source`` value of rows parsed from ``path``: ``"<kind>:<file name>"``."""
    return f"{kind}:{Path(path).name}"


def read_header(path: Path | str) -> set[str]:
    """Column names of a CSV file, or of the ``Data`` sheet (else the first) of a workbook.

    Raises:
        InputError: when the file cannot be read as text or as a workbook.
    """
    path = Path(path)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _workbook_header(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file ({exc.reason})", file=path.name) from None
    return {name.strip() for name in header}


def _workbook_header(path: Path, sheet: str = "Data") -> set[str]:
    """First row of a sheet, read in openpyxl's streaming mode (no full parse)."""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for garbage files
        raise InputError(f"cannot read the workbook: {exc}", file=path.name) from None
    try:
        name = sheet if sheet in workbook.sheetnames else workbook.sheetnames[0]
        first = next(workbook[name].iter_rows(max_row=1, values_only=True), ())
        return {str(cell).strip() for cell in first if cell is not None}
    finally:
        workbook.close()


def read_workbook(path: Path, *, sheet: str = "Data", nrows: int | None = None) -> pd.DataFrame:
    """One sheet of an Excel workbook (``sheet`` if it exists, else the first)."""
    try:
        workbook = pd.ExcelFile(path, engine="openpyxl")
        name = sheet if sheet in workbook.sheet_names else workbook.sheet_names[0]
        return workbook.parse(name, nrows=nrows)
    except Exception as exc:  # openpyxl raises many unrelated types for garbage files
        raise InputError(f"cannot read the workbook: {exc}", file=path.name) from None


def read_csv_file(path: Path, **kwargs: object) -> pd.DataFrame:
    """``pd.read_csv`` with garbage, empty and truncated files turned into InputError."""
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", low_memory=False, **kwargs)
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file ({exc.reason})", file=path.name) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=path.name) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"cannot parse the file as CSV: {exc}", file=path.name) from None
    if frame.empty:
        raise InputError("the file has a header but no data rows", file=path.name)
    return frame


def drop_hxl_row(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop an HXL hashtag row (``#event+code`` …) under the header, if there is one.

    Returns:
        The frame without it and the number of file rows before the first data row
        (1 for the header alone, 2 with an HXL row), for row numbers in messages.
    """
    first = frame.iloc[0].dropna().astype(str)
    if len(first) and first.str.startswith("#").all():
        return frame.iloc[1:].reset_index(drop=True), 2
    return frame, 1


def file_rows(frame: pd.DataFrame, header_rows: int = 1) -> pd.Series:
    """The file row number (header = 1) of each row of a frame read with a fresh index."""
    return pd.Series(np.arange(len(frame)) + header_rows + 1, index=frame.index)


def require_columns(frame: pd.DataFrame, required: Iterable[str], *, file: str) -> None:
    """Raise naming the missing columns (and the closest present ones) when any is absent."""
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"the file has {', '.join(map(str, frame.columns[:12]))}"
            + (" …" if len(frame.columns) > 12 else ""),
            file=file,
            field=missing[0],
        )


def first_row(mask: pd.Series, rows: pd.Series) -> int:
    """The file row number of the first True in ``mask``."""
    return int(rows[mask].iloc[0])


def parse_dates(
    values: pd.Series,
    *,
    file: str,
    field: str,
    rows: pd.Series,
    formats: Sequence[str] = ("%Y-%m-%d", "%d %B %Y", "%Y-%m-%d %H:%M:%S"),
) -> pd.Series:
    """Dates from text, trying each format in turn, then ISO 8601 in general.

    Raises:
        InputError: naming the first row whose date is blank or unparseable.
    """
    text = values.astype("string").str.strip()
    dates = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for date_format in formats:
        todo = dates.isna() & text.notna()
        if not todo.any():
            break
        dates[todo] = pd.to_datetime(text[todo], format=date_format, errors="coerce")
    todo = dates.isna() & text.notna()
    if todo.any():
        dates[todo] = pd.to_datetime(text[todo], format="ISO8601", errors="coerce")
    bad = dates.isna()
    if bad.any():
        row = first_row(bad, rows)
        raise InputError(
            f"date '{values[bad].iloc[0]}' is blank or not a date ({bad.sum()} such rows)",
            file=file,
            row=row,
            field=field,
        )
    return dates


def parse_counts(values: pd.Series, *, file: str, field: str, rows: pd.Series) -> pd.Series:
    """Non-negative numbers from a column (blank → error, like text or negatives).

    Raises:
        InputError: naming the first row whose value is blank, not a number or negative.
    """
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        raise InputError(
            f"'{values[bad].iloc[0]}' is not a number",
            file=file,
            row=first_row(bad, rows),
            field=field,
        )
    negative = numbers < 0
    if negative.any():
        raise InputError(
            f"count {numbers[negative].iloc[0]} is negative",
            file=file,
            row=first_row(negative, rows),
            field=field,
        )
    return numbers.astype(float)


def count_panel(
    frame: pd.DataFrame,
    *,
    series: str,
    source: str,
    value: str | None = None,
    regions: Iterable[str] = (),
    months: pd.PeriodIndex | None = None,
) -> pd.DataFrame:
    """Sum ``value`` (or count rows) per region and month, as panel rows of one series.

    Args:
        frame: rows with ``region`` and ``month`` (period[M]) columns.
        series: the series name of the output rows.
        source: the ``source`` label of the output rows.
        value: the column to sum; None counts rows (one per event).
        regions: regions that get explicit zeros in ``months`` where they have no rows.
        months: the span zeros are written in (None: no zeros added).
    """
    if value is None:
        totals = frame.groupby(["region", "month"], observed=True).size().astype(float)
    else:
        totals = frame.groupby(["region", "month"], observed=True)[value].sum().astype(float)
    if months is not None and len(months):
        all_regions = sorted(set(regions) | set(totals.index.get_level_values("region")))
        full = pd.MultiIndex.from_product([all_regions, months], names=["region", "month"])
        totals = totals.reindex(totals.index.union(full), fill_value=0.0)
    out = totals.rename("value").reset_index()
    out["month"] = out["month"].astype("period[M]")
    out["series"] = series
    out["source"] = source
    return out[PANEL_COLUMNS]


def concat_panels(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack panel parts into one frame sorted by region, series and month."""
    frames = [part for part in parts if len(part)]
    if not frames:
        empty = pd.DataFrame({column: pd.Series(dtype=object) for column in PANEL_COLUMNS})
        empty["month"] = empty["month"].astype("period[M]")
        empty["value"] = empty["value"].astype(float)
        return empty
    panel = pd.concat([frame[PANEL_COLUMNS] for frame in frames], ignore_index=True)
    return panel.sort_values(["region", "series", "month"], ignore_index=True)


def span(months: pd.Series) -> pd.PeriodIndex:
    """Every month from the first to the last in ``months``."""
    return pd.period_range(months.min(), months.max(), freq="M")


def admin1_children(resolver: NameResolver, countries: Iterable[str]) -> list[str]:
    """Ids of the admin1 regions of the given countries in the resolver's registry."""
    registry = resolver.registry
    return [
        child
        for iso3 in countries
        if iso3 in registry
        for child in registry.children(iso3)
        if registry.get(child).level == "admin1"
    ]


def partial_edge_months(dates: pd.Series) -> list[pd.Period]:
    """The first and/or last month of a file when its events stop a week or more short.

    An event file cut mid-month (an API row limit, an export date) makes its edge months
    look quieter than they were. The test — first event after day 7, or last event more
    than 6 days before the month's end — suits dense event files (ACLED, GED: events most
    days); for sparse sources (a few incidents a month) it can flag a complete month, so
    those only warn.
    """
    first, last = dates.min(), dates.max()
    edges = []
    if first.day > 7:
        edges.append(first.to_period("M"))
    if last.day < last.days_in_month - 6 and last.to_period("M") not in edges:
        edges.append(last.to_period("M"))
    return edges


def warn_partial_edges(dates: pd.Series, *, file: str) -> list[pd.Period]:
    """Log the edge months that look partly covered (see :func:`partial_edge_months`)."""
    edges = partial_edge_months(dates)
    for month in edges:
        inside = dates[dates.dt.to_period("M") == month]
        logger.warning(
            "%s: events of month %s run only from %s to %s; the month may be only partly covered",
            file,
            month,
            inside.min().date(),
            inside.max().date(),
        )
    return edges


def drop_partial_edges(
    frame: pd.DataFrame, dates: pd.Series, *, file: str, value: str, enabled: bool
) -> pd.DataFrame:
    """Warn about partly covered edge months and, when ``enabled``, drop their rows.

    A partial month stored as a complete one reads as a collapse in violence (and would
    overwrite a complete figure from another file), so dense event sources drop it by
    default (``drop_partial_edge_months``).
    """
    edges = warn_partial_edges(dates.loc[frame.index], file=file)
    if not enabled or not edges:
        return frame
    partial = frame["month"].isin(edges)
    log_dropped(
        file,
        int(partial.sum()),
        f"in partly covered month(s) {', '.join(map(str, edges))} (drop_partial_edge_months)",
        **{value: frame.loc[partial, value].sum()},
    )
    return frame[~partial]


def log_dropped(file: str, count: int, reason: str, **details: object) -> None:
    """Log rows a parser drops on purpose, with how many and why (never silently)."""
    if count:
        extra = "".join(f"; {key}={value}" for key, value in details.items())
        logger.warning("%s: dropped %d row(s) %s%s", file, count, reason, extra)


def place_in_admin1(
    frame: pd.DataFrame,
    *,
    column: str,
    resolver: NameResolver,
    file: str,
    rows: pd.Series,
) -> tuple[pd.DataFrame, list[str]]:
    """Rows of countries the registry divides into admin1, placed where ``column`` resolves.

    For sources whose admin names are loose (AWSD, OSAC): a name that does not resolve
    within its country (a province given as a region, a blank) is not an error; the row
    stays in the country total and the names are counted in a warning.

    Args:
        frame: rows with ``iso3`` and ``column``.

    Returns:
        The placed rows with a ``region`` column, and the ISO3 codes of the divided
        countries (whose admin1 regions get zeros).
    """
    divided = [iso3 for iso3 in frame["iso3"].unique() if admin1_children(resolver, [iso3])]
    local = frame[frame["iso3"].isin(divided)]
    if local.empty:
        return local.assign(region=pd.Series(dtype=object)), divided
    region = resolver.resolve_column(
        local[column],
        within=local["iso3"],
        file=file,
        rows=rows[local.index],
        field=column,
        strict=False,
    )
    unresolved = region.isna()
    if unresolved.any():
        names = local.loc[unresolved, column].fillna("(blank)").value_counts()
        logger.warning(
            "%s: %d row(s) in %s not placed in an admin1 region (kept in the country total): %s",
            file,
            int(unresolved.sum()),
            ", ".join(sorted(divided)),
            ", ".join(f"{name} ({count})" for name, count in names.items()),
        )
    return local[~unresolved].assign(region=region[~unresolved]), divided


def place_events_in_admin1(
    events: pd.DataFrame,
    *,
    column: str,
    value: str,
    resolver: NameResolver,
    file: str,
    rows: pd.Series,
) -> pd.DataFrame:
    """Events with a ``region`` id from their admin1 name, for GED and ACLED event files.

    Unlike :func:`place_in_admin1`, an admin1 name that does not resolve is an error (these
    sources use proper admin1 names); only blank countries and blank admin1 cells are
    dropped, each counted in a warning with the fatalities they carried.

    Args:
        events: rows with ``iso3`` (None where the country is blank) and ``column``.
        column: the admin1 name column (``adm_1`` in GED, ``admin1`` in ACLED).
        value: the fatalities column, for the warning.

    Raises:
        InputError: an unknown admin1 name, or no event left to place.
    """
    no_country = events["iso3"].isna()
    log_dropped(
        file,
        int(no_country.sum()),
        "with a blank country",
        fatalities=events.loc[no_country, value].sum(),
    )
    events, rows = events[~no_country], rows[~no_country]
    events = events.assign(
        region=resolver.resolve_column(
            events[column], within=events["iso3"], file=file, rows=rows, field=column
        )
    )
    blank = events["region"].isna()
    log_dropped(
        file,
        int(blank.sum()),
        f"with a blank {column} (no admin1 region to assign them to)",
        fatalities=events.loc[blank, value].sum(),
    )
    placed = events[~blank]
    if placed.empty:
        raise InputError("no event could be placed in an admin1 region", file=file)
    return placed


@dataclass(frozen=True)
class EventSeries:
    """One series an event file yields: which placed events count, and what they add up.

    Attributes:
        series: the panel series name.
        value: the column summed (fatalities); None counts events (one per event).
        keep: which placed events count (e.g. the aid-diversion rule); None keeps all.
    """

    series: str
    value: str | None = None
    keep: Callable[[pd.DataFrame], pd.Series] | None = None


def events_to_panel(
    events: pd.DataFrame,
    dates: pd.Series,
    *,
    admin_column: str,
    fatalities: str,
    series: Sequence[EventSeries],
    resolver: NameResolver,
    options: SourceOptions,
    file: str,
    rows: pd.Series,
    source: str,
) -> pd.DataFrame:
    """The steps every event file (UCDP GED, ACLED) takes from events to a panel.

    Place each event in its admin1 region, leave out partial first/last months
    (``drop_partial_edge_months``), then count each series per region and month, with
    explicit zeros for every admin1 region of the file's countries inside its span
    (``zero_fill``).

    Args:
        events: rows with ``month``, ``iso3``, ``admin_column`` and ``fatalities``.
        dates: each event's date (for the partial-month check).
        admin_column: the admin1 name column.
        fatalities: the fatalities column (named in the warnings about dropped events).
        series: what to count.
    """
    placed = place_events_in_admin1(
        events, column=admin_column, value=fatalities, resolver=resolver, file=file, rows=rows
    )
    placed = drop_partial_edges(
        placed, dates, file=file, value=fatalities, enabled=options.drop_partial_edge_months
    )
    regions = admin1_children(resolver, placed["iso3"].unique())
    months = span(placed["month"]) if options.zero_fill else None
    return concat_panels(
        count_panel(
            placed if wanted.keep is None else placed[wanted.keep(placed)],
            series=wanted.series,
            source=source,
            value=wanted.value,
            regions=regions,
            months=months,
        )
        for wanted in series
    )


def read_source_csv(path: Path, required: Iterable[str]) -> tuple[str, pd.DataFrame, pd.Series]:
    """Open a one-header-row CSV source: its file name, the frame checked for ``required``
    columns, and each row's number as a person counts it in the file (for errors)."""
    file = Path(path).name
    frame = read_csv_file(Path(path))
    require_columns(frame, required, file=file)
    return file, frame, file_rows(frame)
