"""ACLED fatalities and aid diversion: event exports and HDX sub-national aggregates.

Exposes two kinds: :data:`SOURCES` (a tuple) and :data:`KINDS` (name → object) hold
:class:`~data.sources.frames.SourceKind` objects with ``KIND``, ``matches(path, columns)``
and ``parse(path, resolver, options)``:

* ``acled_events`` — one row per event (HDX country exports with the HXL hashtag row,
  export-tool *monadic* files that repeat an event once per actor, and the 15-column API
  pull without ids or notes). Output per admin1 and month:

  - ``fatalities``: the sum of ``fatalities`` over events;
  - ``aid_diversion``: the number of events :func:`data.aid_rule.aid_diversion_mask`
    counts (one per event; the API pull has no notes, so only the sub-type applies).

  Monadic rows are de-duplicated on ``event_id_cnty`` first (rows of one event must agree
  on date, admin1 and fatalities, else it is an error). ``admin1`` is resolved within the
  event's country; events with a blank ``admin1`` are dropped and counted in a warning.
  Months without events inside the file's span are written as zeros for every admin1
  region of the file's countries (``zero_fill``). A first or last month the file covers
  only partly (events stop a week or more short of the month's edge) is dropped with a
  warning (``drop_partial_edge_months``).
* ``acled_admin2_xlsx`` — HDX sub-national aggregate workbooks (sheet ``Data``: Country,
  Admin1, Admin2, ISO3, Admin2 Pcode, Admin1 Pcode, Month, Year, Events, Fatalities; a row
  per admin2 × month, zeros included) → ``fatalities`` per admin1, summing the admin2 rows.
  The region id is ``Admin1 Pcode`` where the registry knows it, else the ``Admin1`` name
  resolved within the country.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from data.aid_rule import aid_diversion_mask
from data.names import NameResolver, is_blank
from data.source_options import SourceOptions
from data.sources.frames import (
    EXCEL_SUFFIXES,
    EventSeries,
    SourceKind,
    concat_panels,
    count_panel,
    drop_hxl_row,
    events_to_panel,
    file_rows,
    first_row,
    log_dropped,
    parse_counts,
    parse_dates,
    read_csv_file,
    read_workbook,
    require_columns,
    source_label,
)
from riskcast.errors import InputError

logger = logging.getLogger(__name__)

EVENTS_KIND = "acled_events"
ADMIN2_KIND = "acled_admin2_xlsx"
EVENT_COLUMNS = ("event_date", "country", "admin1", "sub_event_type", "fatalities")
ADMIN2_COLUMNS = ("Admin1", "Admin1 Pcode", "Month", "Year", "Fatalities")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}


def matches_events(path: Path, columns: set[str]) -> bool:
    """ACLED events: date, country, admin1, sub-type and fatalities; not OSAC's mix."""
    return set(EVENT_COLUMNS) <= columns and "data_source" not in columns


def matches_admin2(path: Path, columns: set[str]) -> bool:
    """An HDX aggregate workbook: admin1 name and P-code, month name, year, fatalities."""
    return Path(path).suffix.lower() in EXCEL_SUFFIXES and set(ADMIN2_COLUMNS) <= columns


def _deduplicate(events: pd.DataFrame, rows: pd.Series, file: str) -> pd.DataFrame:
    """One row per ``event_id_cnty`` (monadic exports list an event once per actor)."""
    if "event_id_cnty" not in events:
        return events
    ids = events["event_id_cnty"]
    if ids.isna().any():
        raise InputError(
            "event_id_cnty is blank",
            file=file,
            row=first_row(ids.isna(), rows),
            field="event_id_cnty",
        )
    repeated = ids.duplicated(keep=False)
    if not repeated.any():
        return events
    for column in ("event_date", "admin1", "fatalities"):
        disagree = events[repeated].groupby("event_id_cnty")[column].nunique(dropna=False) > 1
        if disagree.any():
            event_id = disagree[disagree].index[0]
            raise InputError(
                f"the rows of event {event_id} disagree on {column}",
                file=file,
                row=first_row(ids == event_id, rows),
                field=column,
            )
    unique = events[~ids.duplicated(keep="first")]
    logger.info(
        "%s: %d rows are %d events after de-duplicating on event_id_cnty",
        file,
        len(events),
        len(unique),
    )
    return unique


def parse_events(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame:
    """Fatalities and aid-diversion counts per admin1 from ACLED events (module docstring)."""
    path = Path(path)
    file = path.name
    events, header_rows = drop_hxl_row(read_csv_file(path))
    events.columns = [str(column).strip() for column in events.columns]
    require_columns(events, EVENT_COLUMNS, file=file)
    rows = file_rows(events, header_rows)
    events = _deduplicate(events, rows, file)
    rows = rows.loc[events.index]
    dates = parse_dates(events["event_date"], file=file, field="event_date", rows=rows)
    events = events.assign(
        month=dates.dt.to_period("M"),
        fatalities=parse_counts(events["fatalities"], file=file, field="fatalities", rows=rows),
        iso3=resolver.country_column(events["country"], file=file, rows=rows, field="country"),
    )

    def aid(placed: pd.DataFrame) -> pd.Series:
        mask = aid_diversion_mask(placed, options.aid_rule)
        logger.info("%s: %d of %d events meet the aid-diversion rule", file, mask.sum(), len(mask))
        return mask

    return events_to_panel(
        events,
        dates,
        admin_column="admin1",
        fatalities="fatalities",
        series=[
            EventSeries("fatalities", value="fatalities"),
            EventSeries("aid_diversion", keep=aid),
        ],
        resolver=resolver,
        options=options,
        file=file,
        rows=rows,
        source=source_label(EVENTS_KIND, path),
    )


def _month_numbers(names: pd.Series, *, file: str, rows: pd.Series) -> pd.Series:
    """Month numbers from English month names (or from numbers 1-12)."""
    text = names.astype("string").str.strip().str.casefold()
    numbers = text.map(_MONTHS).astype("Float64")
    numeric = pd.to_numeric(text, errors="coerce")
    numbers = numbers.fillna(numeric.where(numeric.between(1, 12)))
    bad = numbers.isna()
    if bad.any():
        raise InputError(
            f"'{names[bad].iloc[0]}' is not a month name",
            file=file,
            row=first_row(bad, rows),
            field="Month",
        )
    return numbers.astype(int)


def _admin1_ids(
    table: pd.DataFrame, resolver: NameResolver, file: str, rows: pd.Series
) -> pd.Series:
    """Admin1 P-codes the registry knows; other rows resolved from Country/ISO3 + Admin1."""
    pcodes = table["Admin1 Pcode"].astype("string").str.strip()
    known = pcodes.isin(resolver.registry.ids())
    ids = pcodes.where(known).astype(object)
    if known.all():
        return ids
    todo = ~known
    if "ISO3" in table:
        within = table.loc[todo, "ISO3"].astype("string").str.strip()
        within = within.where(within.isin(resolver.registry.ids()))
    else:
        within = pd.Series(pd.NA, index=table.index[todo], dtype="string")
    if within.isna().any() and "Country" in table:
        by_name = resolver.country_column(
            table.loc[todo, "Country"], file=file, rows=rows[todo], field="Country"
        )
        within = within.astype(object).where(within.notna(), by_name)
    ids[todo] = resolver.resolve_column(
        table.loc[todo, "Admin1"],
        within=within.astype(object),
        file=file,
        rows=rows[todo],
        field="Admin1",
    )
    unknown_codes = sorted({c for c in pcodes[todo].dropna().unique() if not is_blank(c)})
    logger.warning(
        "%s: %d row(s) placed by Admin1 name (P-codes not in the registry: %s)",
        file,
        int(todo.sum()),
        ", ".join(unknown_codes) or "blank",
    )
    return ids


def parse_admin2(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame:
    """Fatalities per admin1 from an HDX admin2 × month workbook (module docstring)."""
    path = Path(path)
    file = path.name
    table = read_workbook(path, sheet="Data")
    table.columns = [str(column).strip() for column in table.columns]
    if table.empty:
        raise InputError("the Data sheet has no rows", file=file)
    require_columns(table, ADMIN2_COLUMNS, file=file)
    rows = file_rows(table)
    years = parse_counts(table["Year"], file=file, field="Year", rows=rows).astype(int)
    months = _month_numbers(table["Month"], file=file, rows=rows)
    table = table.assign(
        month=pd.PeriodIndex.from_fields(year=years, month=months, freq="M"),
        fatalities=parse_counts(table["Fatalities"], file=file, field="Fatalities", rows=rows),
        region=_admin1_ids(table, resolver, file, rows),
    )
    blank = table["region"].isna()
    log_dropped(
        file,
        int(blank.sum()),
        "with a blank Admin1",
        fatalities=table.loc[blank, "fatalities"].sum(),
    )
    placed = table[~blank]
    return concat_panels(
        [
            count_panel(
                placed,
                series="fatalities",
                source=source_label(ADMIN2_KIND, path),
                value="fatalities",
            )
        ]
    )


EVENTS = SourceKind(
    EVENTS_KIND,
    matches_events,
    parse_events,
    "ACLED events → fatalities and aid diversion per admin1",
)
ADMIN2 = SourceKind(
    ADMIN2_KIND,
    matches_admin2,
    parse_admin2,
    "ACLED HDX admin2 × month workbook → fatalities per admin1",
)
#: The kinds of this module, in detection order (the protocol of :mod:`data.sources`).
SOURCES: tuple[SourceKind, ...] = (ADMIN2, EVENTS)
KINDS: dict[str, SourceKind] = {source.KIND: source for source in SOURCES}
