"""UN peacekeeping fatalities → peacekeeper casualties per country of the mission.

Single-kind module: ``KIND``, ``matches(path, columns)`` and ``parse(path, resolver,
options)`` at module level (the protocol of :mod:`data.sources`).

The file has one row per death (``incident_date``, ``mission_acronym``,
``type_of_incident`` …). Its ``isocode3`` is the nationality of the dead, not where they
died, so the place comes from the mission: :data:`MISSIONS` maps each mission to the
country it is deployed in. Output per country and month:

* ``peacekeeper_casualties`` — deaths from all causes (illness, accident, malicious act …);
* ``peacekeeper_casualties_malicious`` — deaths with ``type_of_incident == "Malicious Act"``.

Zeros: a month with no death inside a mission's *active span* is a real 0. The span runs
from the month the mission took up its mandate in the field to the month its withdrawal
ended (known dates in :data:`MISSIONS`, typed in by hand from the UN's mission pages:
check there when adding one; a mission still deployed runs to the last month of the
file), widened to the first and last month with a recorded death if those fall outside.
MINUSMA: 2013-07 → 2023-12. A country hosting several missions (Sudan: UNMIS, UNAMID,
UNISFA) gets the sum over the missions active that month. Months outside
every span of a country are left out (unknown, not zero).

Missions not in the table (multi-country or disputed deployments such as UNTSO, UNMOGIP,
UNPROFOR, UNMEE, and missions too old to matter here) are reported in a warning with their
death counts and skipped; that is not an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.names import NameResolver
from data.source_options import SourceOptions
from data.sources.frames import (
    concat_panels,
    count_panel,
    log_dropped,
    parse_dates,
    read_source_csv,
    source_label,
)
from riskcast.errors import InputError

logger = logging.getLogger(__name__)

KIND = "un_peacekeeping"
REQUIRED_COLUMNS = ("incident_date", "mission_acronym", "type_of_incident")
MALICIOUS = "Malicious Act"


@dataclass(frozen=True)
class Mission:
    """Where a mission is deployed and when.

    Attributes:
        country: ISO3 of the host country.
        start: first month the mission held its mandate in the field (``YYYY-MM``; for
            MINUSMA the July 2013 transfer of authority from AFISMA, not the April
            resolution).
        end: last month it was deployed (withdrawal complete), or None while deployed.
    """

    country: str
    start: str
    end: str | None = None


#: Peacekeeping and special political missions deployed in one country, with their mandate
#: months (UN Security Council resolutions; closing month = mandate end or withdrawal).
#: UNISFA (Abyei) is placed in Sudan: the Abyei Area's final status is undetermined, it
#: lay within Sudan before South Sudan's independence and Sudan administers its north; the
#: choice is explicit so anyone who prefers SSD changes one line.
MISSIONS: dict[str, Mission] = {
    # Current and recent peacekeeping operations
    "MINUSMA": Mission("MLI", "2013-07", "2023-12"),
    "MINUSCA": Mission("CAF", "2014-09"),
    "MONUSCO": Mission("COD", "2010-07"),
    "MONUC": Mission("COD", "1999-11", "2010-06"),
    "UNMISS": Mission("SSD", "2011-07"),
    "UNIFIL": Mission("LBN", "1978-03"),
    "UNAMID": Mission("SDN", "2008-01", "2020-12"),
    "UNISFA": Mission("SDN", "2011-06"),
    "UNMIS": Mission("SDN", "2005-03", "2011-07"),
    "UNFICYP": Mission("CYP", "1964-03"),
    "UNDOF": Mission("SYR", "1974-05"),
    "MINURSO": Mission("ESH", "1991-04"),
    "UNMIL": Mission("LBR", "2003-09", "2018-03"),
    "UNOCI": Mission("CIV", "2004-04", "2017-06"),
    "MINUSTAH": Mission("HTI", "2004-06", "2017-10"),
    "MINUJUSTH": Mission("HTI", "2017-10", "2019-10"),
    "UNMIK": Mission("XKX", "1999-06"),
    "UNAMSIL": Mission("SLE", "1999-10", "2005-12"),
    "UNMISET": Mission("TLS", "2002-05", "2005-05"),
    "UNTAET": Mission("TLS", "1999-10", "2002-05"),
    "UNMIT": Mission("TLS", "2006-08", "2012-12"),
    "ONUB": Mission("BDI", "2004-06", "2006-12"),
    "UNOMIG": Mission("GEO", "1993-08", "2009-06"),
    "UNMIBH": Mission("BIH", "1995-12", "2002-12"),
    "MINURCA": Mission("CAF", "1998-04", "2000-02"),
    "UNAMIR": Mission("RWA", "1993-10", "1996-03"),
    "ONUMOZ": Mission("MOZ", "1992-12", "1994-12"),
    "UNTAC": Mission("KHM", "1992-02", "1993-09"),
    "MONUA": Mission("AGO", "1997-06", "1999-02"),
    "ONUC": Mission("COD", "1960-07", "1964-06"),
    "UNAVEM": Mission("AGO", "1989-01", "1997-06"),
    "UNTAG": Mission("NAM", "1989-04", "1990-03"),
    "UNMIH": Mission("HTI", "1993-09", "1996-06"),
    "UNMOT": Mission("TJK", "1994-12", "2000-05"),
    # Special political missions and offices with deaths in the file
    "UNAMA": Mission("AFG", "2002-03"),
    "UNAMI": Mission("IRQ", "2003-08"),
    "UNSMIL": Mission("LBY", "2011-09"),
    "UNSOM": Mission("SOM", "2013-06", "2024-10"),
    "UNSOS": Mission("SOM", "2015-11"),
    "BINUH": Mission("HTI", "2019-10"),
    "UNITAMS": Mission("SDN", "2020-06", "2024-02"),
    "UNVMC": Mission("COL", "2017-09"),
    "OSESGY": Mission("YEM", "2012-04"),
    "OSESYRIA": Mission("SYR", "2012-02"),
    "UNIOSIL": Mission("SLE", "2006-01", "2008-09"),
    "UNIPSIL": Mission("SLE", "2008-10", "2014-03"),
    "UNMIN": Mission("NPL", "2007-01", "2011-01"),
}


def matches(path: Path, columns: set[str]) -> bool:
    """UN fatalities: incident date, mission acronym and incident type columns."""
    return set(REQUIRED_COLUMNS) <= columns


def _active_months(
    deaths: pd.DataFrame, last_month: pd.Period, resolver: NameResolver, file: str
) -> pd.DataFrame:
    """(region, month) pairs inside the active span of any known mission with deaths."""
    observed = deaths.groupby("mission")["month"].agg(["min", "max"])
    spans = []
    for acronym, (first_seen, last_seen) in observed.iterrows():
        mission = MISSIONS[acronym]
        if mission.country not in resolver.registry:
            raise InputError(
                f"mission {acronym}'s country {mission.country} is not in the registry",
                file=file,
                field="mission_acronym",
            )
        start = min(pd.Period(mission.start, freq="M"), first_seen)
        end = max(pd.Period(mission.end, freq="M") if mission.end else last_month, last_seen)
        months = pd.period_range(start, end, freq="M")
        spans.append(pd.DataFrame({"region": mission.country, "month": months}))
    return pd.concat(spans, ignore_index=True).drop_duplicates()


def parse(path: Path, resolver: NameResolver, options: SourceOptions) -> pd.DataFrame:
    """Monthly peacekeeper deaths per host country, all causes and malicious acts."""
    path = Path(path)
    file, deaths, rows = read_source_csv(path, REQUIRED_COLUMNS)
    dates = parse_dates(deaths["incident_date"], file=file, field="incident_date", rows=rows)
    deaths = deaths.assign(
        month=dates.dt.to_period("M"),
        mission=deaths["mission_acronym"].astype("string").str.strip().str.upper(),
    )
    blank = deaths["mission"].isna() | (deaths["mission"] == "")
    log_dropped(file, int(blank.sum()), "with a blank mission_acronym")
    deaths = deaths[~blank]
    known = deaths["mission"].isin(list(MISSIONS))
    if (~known).any():
        skipped = deaths.loc[~known, "mission"].value_counts()
        logger.warning(
            "%s: skipped %d death(s) of %d mission(s) without a single host country in the "
            "mission table: %s",
            file,
            int((~known).sum()),
            len(skipped),
            ", ".join(f"{name} ({count})" for name, count in skipped.items()),
        )
    deaths = deaths[known]
    if deaths.empty:
        raise InputError("no death belongs to a mission of the mission table", file=file)
    deaths["region"] = deaths["mission"].map({name: m.country for name, m in MISSIONS.items()})
    active = _active_months(deaths, dates.max().to_period("M"), resolver, file)
    source = source_label(KIND, path)
    parts = []
    for series, subset in (
        ("peacekeeper_casualties", deaths),
        ("peacekeeper_casualties_malicious", deaths[deaths["type_of_incident"] == MALICIOUS]),
    ):
        counts = count_panel(subset, series=series, source=source)
        full = active.merge(
            counts[["region", "month", "value"]], on=["region", "month"], how="left"
        )
        full["value"] = full["value"].fillna(0.0)
        full["series"], full["source"] = series, source
        parts.append(full)
    logger.info(
        "%s: %d deaths in %d missions mapped to %d countries",
        file,
        len(deaths),
        deaths["mission"].nunique(),
        deaths["region"].nunique(),
    )
    return concat_panels(parts)
