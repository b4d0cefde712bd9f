"""OSAC humanitarian incidents → aid diversion per country and admin1.

Single-kind module: ``KIND``, ``matches(path, columns)`` and ``parse(path, resolver,
options)`` at module level (the protocol of :mod:`data.sources`).

OSAC's file combines incidents affecting humanitarians from ACLED and from AWSD
(``data_source`` says which); the first column is an unnamed row index. Each row counts as
one ``aid_diversion`` incident in the month of ``event_date``, per country and per admin1
where ``admin1`` resolves to a region of that country in the registry (else it is counted
in a warning and stays in the country total). Rows are not de-duplicated across the two
publishers: they share no id, so the same attack reported by both counts twice — one more
reason this series is a proxy. Zeros fill the file's span as for AWSD.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from data.names import NameResolver
from data.source_options import SourceOptions
from data.sources.frames import (
    admin1_children,
    concat_panels,
    count_panel,
    log_dropped,
    parse_dates,
    place_in_admin1,
    read_source_csv,
    source_label,
    span,
    warn_partial_edges,
)
from riskcast.errors import InputError

logger = logging.getLogger(__name__)

KIND = "osac"
REQUIRED_COLUMNS = ("event_date", "country", "admin1", "data_source")


def matches(path: Path, columns: set[str]) -> bool:
    """OSAC incidents: ACLED-like location columns plus OSAC's ``data_source``."""
    return set(REQUIRED_COLUMNS) <= columns


def parse(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame:
    """Monthly humanitarian incidents per country and admin1 (see the module docstring)."""
    path = Path(path)
    file, incidents, rows = read_source_csv(path, REQUIRED_COLUMNS)
    dates = parse_dates(incidents["event_date"], file=file, field="event_date", rows=rows)
    incidents = incidents.assign(
        month=dates.dt.to_period("M"),
        iso3=resolver.country_column(incidents["country"], file=file, rows=rows, field="country"),
    )
    no_country = incidents["iso3"].isna()
    log_dropped(file, int(no_country.sum()), "without a single country")
    incidents, rows = incidents[~no_country], rows[~no_country]
    if incidents.empty:
        raise InputError("no incident names a country", file=file)
    warn_partial_edges(dates.loc[incidents.index], file=file)

    file_span = span(incidents["month"]) if options.zero_fill else None
    source = source_label(KIND, path)
    parts = [
        count_panel(
            incidents.assign(region=incidents["iso3"]),
            series="aid_diversion",
            source=source,
            regions=incidents["iso3"].unique(),
            months=file_span,
        )
    ]
    placed, divided = place_in_admin1(
        incidents, column="admin1", resolver=resolver, file=file, rows=rows
    )
    parts.append(
        count_panel(
            placed,
            series="aid_diversion",
            source=source,
            regions=admin1_children(resolver, divided),
            months=file_span,
        )
    )
    return concat_panels(parts)
