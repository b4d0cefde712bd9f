"""Real panels for the skill bench, built from ``../shared/data`` (never copied into the repo).

* ``ucdp``: UCDP GED country-month fatalities (133 countries, 1989-01 … 2021-12), region =
  ISO3 (through the project's resolver, so the registry's countries line up with the
  admin1 regions' ``iso3``);
* ``mali`` / ``bfa``: ACLED political-violence fatalities per admin1 P-code (admin2 rows of
  the HDX workbooks summed, 1997-01 … 2021-12);
* :func:`pooled_panel`: all of them in one long panel — what a pooled model trains on
  (each scored panel is then a subset of its regions).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
UCDP_FILE = DATA / "ucdp_country_month_1989_2021.csv"
MALI_FILE = DATA / "acled_mali_admin2_month_1997_2021.xlsx"
BFA_FILE = DATA / "acled_bfa_admin2_month_1997_2021.xlsx"

log = logging.getLogger("bench.panels")


def long_panel(wide: pd.DataFrame, source: str) -> pd.DataFrame:
    """Wide (month × region) fatalities to the long panel contract."""
    frame = wide.rename_axis(index="month", columns="region").stack().rename("value")
    frame = frame.reset_index()
    frame["month"] = frame["month"].astype("period[M]")
    frame["series"] = "fatalities"
    frame["value"] = frame["value"].astype(float)
    frame["source"] = source
    return frame[["region", "month", "series", "value", "source"]]


def registry_or_none():
    """The default registry (countries, admin1 regions, neighbours), or None."""
    try:
        from data.regions import load_default_registry

        return load_default_registry()
    except Exception as exc:  # noqa: BLE001 - the benchmark runs without one
        log.warning("no region registry (%s); models run without neighbours", exc)
        return None


def ucdp_panel(iso3: bool = True) -> pd.DataFrame:
    """UCDP country-month panel; region = ISO3 where the resolver knows the name."""
    wide = pd.read_csv(UCDP_FILE, index_col=0, parse_dates=True)
    wide.index = wide.index.to_period("M")
    registry = registry_or_none() if iso3 else None
    if registry is not None:
        from data.names import NameResolver

        resolver = NameResolver(registry)
        wide.columns = [resolver.country_or_none(c) or c for c in wide.columns]
        wide = wide.T.groupby(level=0).sum(min_count=1).T
    return long_panel(wide.fillna(0.0), "ucdp-ged")


def admin1_panel(path: Path = MALI_FILE) -> pd.DataFrame:
    """ACLED admin1 panel (region = Admin1 P-code) from an HDX admin2 workbook."""
    rows = pd.read_excel(path, sheet_name="Data")
    month_number = pd.to_datetime(rows["Month"], format="%B").dt.month
    rows["month"] = pd.PeriodIndex.from_fields(year=rows["Year"], month=month_number, freq="M")
    wide = rows.pivot_table(
        index="month", columns="Admin1 Pcode", values="Fatalities", aggfunc="sum"
    )
    return long_panel(wide.fillna(0.0), "acled-admin2")


def mali_panel() -> pd.DataFrame:
    """ACLED Mali admin1 panel."""
    return admin1_panel(MALI_FILE)


def available() -> bool:
    """Whether every file of the pooled panel is present."""
    return all(path.exists() for path in (UCDP_FILE, MALI_FILE, BFA_FILE))


def pooled_panel() -> pd.DataFrame:
    """UCDP countries + Mali and Burkina Faso admin1 regions, one long panel."""
    parts = [ucdp_panel(), admin1_panel(MALI_FILE), admin1_panel(BFA_FILE)]
    return pd.concat(parts, ignore_index=True)
