"""UCDP fatalities: GED events per admin1, and the wide country-month table per country.

Exposes two kinds: :data:`SOURCES` (a tuple) and :data:`KINDS` (name → object) hold
:class:`~data.sources.frames.SourceKind` objects with ``KIND``, ``matches(path, columns)``
and ``parse(path, resolver, options)``:

* ``ucdp_ged`` — UCDP Georeferenced Event Dataset rows (``date_start``, ``adm_1``,
  ``best``, ``country`` …) → ``fatalities`` per admin1 and month. The month is that of
  ``date_start`` (an event spanning months counts in the month it began, as UCDP's own
  monthly aggregates do); ``best`` is UCDP's best estimate. ``adm_1`` ("Mopti region") is
  resolved within the event's country. Events with a blank ``adm_1`` cannot be placed in a
  region: they are dropped and counted in a warning (UCDP's country-month table keeps them
  in the national total). A partly covered first or last month is dropped with a warning
  (``drop_partial_edge_months``); months without events inside the span are zeros.
* ``ucdp_country_month`` — the wide table (first column the month-end date, one column per
  country by UCDP name, e.g. "DR Congo (Zaire)") → ``fatalities`` per country ISO3. Every
  named column must map to a country; a column without a header ("Unnamed: 133" in the
  shared file) is dropped with a warning when it holds only zeros and is an error otherwise.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from data.names import NameResolver
from data.regions import load_default_registry
from data.source_options import SourceOptions
from data.sources.frames import (
    EventSeries,
    SourceKind,
    concat_panels,
    count_panel,
    events_to_panel,
    file_rows,
    log_dropped,
    parse_counts,
    parse_dates,
    read_csv_file,
    read_source_csv,
    source_label,
)
from riskcast.errors import InputError

logger = logging.getLogger(__name__)

GED_KIND = "ucdp_ged"
COUNTRY_MONTH_KIND = "ucdp_country_month"
GED_COLUMNS = ("date_start", "adm_1", "best", "country")
_UNNAMED_RE = re.compile(r"^Unnamed: \d+$")
_MIN_COUNTRY_COLUMNS = 5


@lru_cache(maxsize=1)
def _default_resolver() -> NameResolver:
    return NameResolver(load_default_registry())


def matches_ged(path: Path, columns: set[str]) -> bool:
    """GED events: the event-date, admin1, best-estimate and country columns."""
    return set(GED_COLUMNS) <= columns


def matches_country_month(path: Path, columns: set[str]) -> bool:
    """Wide table: an unnamed first column and mostly country names as the other columns."""
    named = [c for c in columns if c and not _UNNAMED_RE.match(c)]
    has_unnamed = "" in columns or any(_UNNAMED_RE.match(c) for c in columns)
    if len(named) < _MIN_COUNTRY_COLUMNS or not has_unnamed:
        return False
    resolver = _default_resolver()
    known = sum(resolver.country_or_none(c, fuzzy=False) is not None for c in named)
    return known >= 0.8 * len(named)


def parse_ged(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame:
    """Monthly fatalities per admin1 from UCDP GED events (see the module docstring)."""
    path = Path(path)
    file, events, rows = read_source_csv(path, GED_COLUMNS)
    dates = parse_dates(events["date_start"], file=file, field="date_start", rows=rows)
    events = events.assign(
        month=dates.dt.to_period("M"),
        best=parse_counts(events["best"], file=file, field="best", rows=rows),
        iso3=resolver.country_column(events["country"], file=file, rows=rows, field="country"),
    )
    return events_to_panel(
        events,
        dates,
        admin_column="adm_1",
        fatalities="best",
        series=[EventSeries("fatalities", value="best")],
        resolver=resolver,
        options=options,
        file=file,
        rows=rows,
        source=source_label(GED_KIND, path),
    )


def parse_country_month(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame:
    """Monthly fatalities per country from the wide UCDP table (see the module docstring)."""
    path = Path(path)
    file = path.name
    table = read_csv_file(path)
    date_column = table.columns[0]
    rows = file_rows(table)
    dates = parse_dates(table[date_column], file=file, field=str(date_column), rows=rows)
    table = table.drop(columns=[date_column])
    table.index = dates.dt.to_period("M")
    if table.index.duplicated().any():
        duplicated = table.index.duplicated()
        raise InputError(
            f"month {table.index[duplicated][0]} appears twice",
            file=file,
            row=int(rows[duplicated].iloc[0]),
            field=str(date_column),
        )

    iso3_by_column: dict[str, str] = {}
    for column in table.columns:
        if _UNNAMED_RE.match(str(column)):
            values = pd.to_numeric(table[column], errors="coerce").fillna(0)
            if (values != 0).any():
                raise InputError(
                    "a column without a header holds non-zero counts; name its country",
                    file=file,
                    row=1,
                    field=str(column),
                )
            logger.warning("%s: dropped column '%s' (no header, all zeros)", file, column)
            continue
        iso3 = resolver.country(str(column), file=file, row=1, field=str(column))
        if iso3 in iso3_by_column.values():
            other = next(c for c, code in iso3_by_column.items() if code == iso3)
            raise InputError(
                f"columns '{other}' and '{column}' both name country {iso3}",
                file=file,
                row=1,
                field=str(column),
            )
        iso3_by_column[str(column)] = iso3

    wide = table[list(iso3_by_column)]
    n_months, n_countries = wide.shape
    long = pd.DataFrame(
        {
            "month": np.repeat(wide.index.to_numpy(), n_countries),
            "region": np.tile([iso3_by_column[c] for c in wide.columns], n_months),
            "raw": wide.to_numpy(dtype=object).ravel(),
        }
    )
    long_rows = pd.Series(np.repeat(rows.to_numpy(), n_countries), index=long.index)
    missing = long["raw"].isna()
    log_dropped(file, int(missing.sum()), "(blank country-month cells)")
    long = long[~missing]
    long["value"] = parse_counts(long["raw"], file=file, field="value", rows=long_rows[~missing])
    long["month"] = long["month"].astype("period[M]")
    return concat_panels(
        [
            count_panel(
                long,
                series="fatalities",
                source=source_label(COUNTRY_MONTH_KIND, path),
                value="value",
            )
        ]
    )


GED = SourceKind(GED_KIND, matches_ged, parse_ged, "UCDP GED events → fatalities per admin1")
COUNTRY_MONTH = SourceKind(
    COUNTRY_MONTH_KIND,
    matches_country_month,
    parse_country_month,
    "UCDP country-month wide table → fatalities per country",
)
#: The kinds of this module, in detection order (the protocol of :mod:`data.sources`).
SOURCES: tuple[SourceKind, ...] = (GED, COUNTRY_MONTH)
KINDS: dict[str, SourceKind] = {source.KIND: source for source in SOURCES}
