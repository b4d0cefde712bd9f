"""Aid Worker Security Database incidents → aid diversion per country and admin1.

Single-kind module: ``KIND``, ``matches(path, columns)`` and ``parse(path, resolver,
options)`` at module level (the protocol of :mod:`data.sources`).

Each row is one incident in which aid workers were killed, wounded or kidnapped; riskcast
counts incidents (not victims) as ``aid_diversion`` — attacks on aid workers are the part
of aid diversion a global, curated source records. Output per month:

* per country (ISO3 from the ``Country`` name; AWSD's "Chechnya" is Russia, "Occupied
  Palestinian Territories" is Palestine; "Kashmir" belongs to no single country and is
  dropped with a count);
* per admin1 where the ``Region`` name resolves to a region of that country in the
  registry (Mali, Burkina Faso, Niger today). Region names that do not resolve (AWSD
  sometimes gives a province, e.g. "Soum" in Burkina Faso) are counted in a warning and
  stay in the country total only — an admin1 series is therefore a lower bound.

Rows without a month (48 in the shared file, none in the Sahel) cannot be placed in a
month and are dropped with a count in the log; spreading them over the year would invent
data. Rows not verified ("Pending") are kept unless ``awsd_include_unverified`` is false.
Zeros fill the file's span for every country with at least one incident and for every
admin1 region of the countries the registry divides.
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
    first_row,
    log_dropped,
    parse_counts,
    place_in_admin1,
    read_source_csv,
    source_label,
    span,
)
from riskcast.errors import InputError

logger = logging.getLogger(__name__)

KIND = "awsd"
REQUIRED_COLUMNS = ("Incident ID", "Year", "Month", "Country", "Region")
VERIFIED_VALUES = ("Yes", "Archived")


def matches(path: Path, columns: set[str]) -> bool:
    """AWSD incidents: incident id, year, month, country and region columns."""
    return set(REQUIRED_COLUMNS) <= columns


def parse(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame:
    """Monthly aid-worker incidents per country and admin1 (see the module docstring)."""
    path = Path(path)
    file, incidents, rows = read_source_csv(path, REQUIRED_COLUMNS)

    if not options.awsd_include_unverified and "Verified" in incidents:
        verified = incidents["Verified"].isin(VERIFIED_VALUES)
        log_dropped(file, int((~verified).sum()), "not verified (awsd_include_unverified=false)")
        incidents, rows = incidents[verified], rows[verified]
    no_month = incidents["Month"].isna()
    log_dropped(file, int(no_month.sum()), "without a month (cannot be placed in time)")
    incidents, rows = incidents[~no_month], rows[~no_month]

    years = parse_counts(incidents["Year"], file=file, field="Year", rows=rows)
    months = parse_counts(incidents["Month"], file=file, field="Month", rows=rows)
    bad = ~months.between(1, 12) | (months % 1 != 0)
    if bad.any():
        raise InputError(
            f"month {months[bad].iloc[0]} is not 1-12",
            file=file,
            row=first_row(bad, rows),
            field="Month",
        )
    incidents = incidents.assign(
        month=pd.PeriodIndex.from_fields(
            year=years.astype(int), month=months.astype(int), freq="M"
        ),
        iso3=resolver.country_column(incidents["Country"], file=file, rows=rows, field="Country"),
    )
    no_country = incidents["iso3"].isna()
    log_dropped(
        file,
        int(no_country.sum()),
        "without a single country",
        names=sorted(incidents.loc[no_country, "Country"].dropna().unique().tolist()),
    )
    incidents, rows = incidents[~no_country], rows[~no_country]
    if incidents.empty:
        raise InputError("no incident has both a month and a country", file=file)

    file_span = span(incidents["month"]) if options.zero_fill else None
    source = source_label(KIND, path)
    countries = count_panel(
        incidents.assign(region=incidents["iso3"]),
        series="aid_diversion",
        source=source,
        regions=incidents["iso3"].unique(),
        months=file_span,
    )
    placed, divided = place_in_admin1(
        incidents, column="Region", resolver=resolver, file=file, rows=rows
    )
    parts = [
        countries,
        count_panel(
            placed,
            series="aid_diversion",
            source=source,
            regions=admin1_children(resolver, divided),
            months=file_span,
        ),
    ]
    return concat_panels(parts)
