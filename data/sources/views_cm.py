"""Kind ``views_cm``: VIEWS prediction-challenge country-month files, and the VIEWS ids.

The VIEWS challenge publishes country-month data keyed by its own ids: ``month_id`` counts
months from 1 = 1980-01, and ``country_id`` is a row of the challenge's ``country_key.csv``
(``id`` → ``isoab``, the ISO3 code). Two layouts carry fatalities:

* actuals (``cm_actuals_YYYY.parquet``): ``month_id``, ``country_id`` (often the parquet
  index) and ``outcome`` = UCDP state-based deaths in that month;
* features (``cm_features_YYYY.csv`` or ``.parquet``): the same ids, ``ged_sb`` (the same
  deaths) and a hundred covariates, which are not read.

Both become the ``fatalities`` series per country ISO3 (``outcome`` when present, else
``ged_sb``). The ids are mapped through ``country_key.csv`` in the same folder as the file,
as VIEWS distributes them; a country id missing from the key is an error naming the row; a
key row without an ISO3 code (Kosovo) cannot be placed among ISO3 regions, so its rows are
dropped with a warning. :class:`CountryKey` is also what
``riskcast export-forecast --format views`` maps the other way with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from data.sources.files import ROW_COLUMN, is_parquet, read_csv_rows, read_parquet_rows
from data.sources.frames import first_row, log_dropped, parse_counts, source_label
from riskcast.errors import InputError

log = logging.getLogger(__name__)

KIND = "views_cm"
ID_COLUMNS = ("month_id", "country_id")
VALUE_COLUMNS = ("outcome", "ged_sb")
KEY_FILE = "country_key.csv"
MONTH_ONE = pd.Period("1980-01", freq="M")
"""``month_id`` 1 (VIEWS counts months from January 1980)."""


def month_of(month_ids: pd.Series) -> pd.Series:
    """Months (``Period[M]``) of VIEWS ``month_id`` values (1 = 1980-01)."""
    return pd.Series(
        pd.PeriodIndex.from_ordinals(MONTH_ONE.ordinal + month_ids.astype("int64") - 1, freq="M"),
        index=month_ids.index,
    )


def month_id_of(months: pd.Series) -> pd.Series:
    """VIEWS ``month_id`` of months (``Period[M]`` or ``YYYY-MM`` text)."""
    periods = pd.PeriodIndex(months.astype(str), freq="M")
    return pd.Series(periods.asi8 - MONTH_ONE.ordinal + 1, index=months.index, dtype="int64")


@dataclass(frozen=True)
class CountryKey:
    """VIEWS ``country_id`` ↔ ISO3, read from the challenge's ``country_key.csv``.

    Attributes:
        iso3_by_id: every id with an ISO3 code.
        ids_by_iso3: ISO3 → its ids; several for states the key lists more than once
            (Sudan before and after 2011, Ethiopia, Yemen, Germany …).
        unplaced: ids the key lists without an ISO3 code (Kosovo).
        path: the key file (named in errors).
    """

    iso3_by_id: dict[int, str]
    ids_by_iso3: dict[str, tuple[int, ...]]
    unplaced: frozenset[int]
    path: str

    @classmethod
    def load(cls, path: Path) -> CountryKey:
        """Read a ``country_key.csv`` (columns ``id`` and ``isoab``).

        Raises:
            InputError: naming the file when it is missing, unreadable or lacks a column.
        """
        frame = read_csv_rows(Path(path), dtype=str, keep_default_na=False)
        for column in ("id", "isoab"):
            if column not in frame.columns:
                raise InputError(
                    f"a VIEWS country key needs columns id and isoab; '{column}' is missing",
                    file=str(path),
                    row=1,
                    field=column,
                )
        ids = pd.to_numeric(frame["id"], errors="coerce")
        if ids.isna().any():
            bad = ids.isna()
            raise InputError(
                f"country id '{frame.loc[bad, 'id'].iloc[0]}' is not a number",
                file=str(path),
                row=first_row(bad, frame[ROW_COLUMN]),
                field="id",
            )
        iso3 = frame["isoab"].str.strip().str.upper()
        placed = iso3 != ""
        iso3_by_id = dict(zip(ids[placed].astype(int), iso3[placed], strict=True))
        ids_by_iso3: dict[str, tuple[int, ...]] = {}
        for country_id, code in sorted(iso3_by_id.items()):
            ids_by_iso3[code] = (*ids_by_iso3.get(code, ()), country_id)
        unplaced = frozenset(ids[~placed].astype(int))
        return cls(iso3_by_id, ids_by_iso3, unplaced, str(path))

    def country_ids(self, iso3: Iterable[str], *, active: set[int] | None = None) -> dict[str, int]:
        """The VIEWS id of each ISO3 code.

        Args:
            iso3: region ids (ISO3 country codes).
            active: ids in use in the VIEWS data (e.g. those of an actuals file); decides
                between several ids of one code.

        Raises:
            InputError: a code the key does not hold, or one with several ids that
                ``active`` does not narrow to one (naming the candidates).
        """
        out: dict[str, int] = {}
        for code in iso3:
            candidates = self.ids_by_iso3.get(code, ())
            if active is not None:
                candidates = tuple(i for i in candidates if i in active)
            if len(candidates) != 1:
                found = "no VIEWS country id" if not candidates else f"ids {list(candidates)}"
                hint = "" if active is not None or not candidates else "; pass --active-ids"
                raise InputError(
                    f"region '{code}' has {found} in the country key{hint}",
                    file=self.path,
                    field="isoab",
                )
            out[code] = candidates[0]
        return out


def _key_beside(path: Path) -> CountryKey:
    key = path.parent / KEY_FILE
    if not key.exists():
        raise InputError(
            f"VIEWS country ids need the challenge's {KEY_FILE} in the same folder ({key} is "
            "missing)",
            file=str(path),
            field="country_id",
        )
    return CountryKey.load(key)


def matches(path: Path, columns: set[str]) -> bool:
    """VIEWS country-month: both id columns and an ``outcome`` or ``ged_sb`` column."""
    return set(ID_COLUMNS) <= columns and any(c in columns for c in VALUE_COLUMNS)


def read_views_frame(path: Path) -> pd.DataFrame:
    """The ids and the first value column of a VIEWS file (parquet or CSV), with ``_row``."""
    if is_parquet(path):
        frame = read_parquet_rows(path)
    else:
        frame = read_csv_rows(path, usecols=lambda c: c.strip() in (*ID_COLUMNS, *VALUE_COLUMNS))
    missing = [c for c in ID_COLUMNS if c not in frame.columns]
    values = [c for c in VALUE_COLUMNS if c in frame.columns]
    if missing or not values:
        raise InputError(
            "a VIEWS country-month file needs month_id, country_id and outcome or ged_sb",
            file=str(path),
            row=1,
            field=(missing or ["outcome"])[0],
        )
    return frame[[*ID_COLUMNS, values[0], ROW_COLUMN]].rename(columns={values[0]: "raw"})


def parse(path: Path, resolver: Any = None, options: Any = None) -> pd.DataFrame:
    """The file as ``fatalities`` per country ISO3 and month (see the module docstring).

    Raises:
        InputError: a missing key, an id that is not a number or not in the key, a
            negative or blank count — naming the file, row and field.
    """
    path = Path(path)
    file = str(path)
    key = _key_beside(path)
    frame = read_views_frame(path)
    rows = frame[ROW_COLUMN]
    ids = {}
    for column in ID_COLUMNS:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() | (numbers < 1) | (numbers % 1 != 0)
        if bad.any():
            raise InputError(
                f"'{frame.loc[bad, column].iloc[0]}' is not a VIEWS id (a whole number ≥ 1)",
                file=file,
                row=first_row(bad, rows),
                field=column,
            )
        ids[column] = numbers.astype("int64")
    country = ids["country_id"]
    unknown = ~country.isin([*key.iso3_by_id, *key.unplaced])
    if unknown.any():
        raise InputError(
            f"country_id {country[unknown].iloc[0]} is not in {key.path}",
            file=file,
            row=first_row(unknown, rows),
            field="country_id",
        )
    placed = country.isin(list(key.iso3_by_id))
    log_dropped(file, int((~placed).sum()), "of countries without an ISO3 code in the key")
    frame = frame[placed]
    return pd.DataFrame(
        {
            "region": country[placed].map(key.iso3_by_id),
            "month": month_of(ids["month_id"][placed]),
            "series": "fatalities",
            "value": parse_counts(
                frame["raw"], file=file, field="outcome or ged_sb", rows=rows[placed]
            ),
            "source": source_label(KIND, path),
            ROW_COLUMN: rows[placed],
        }
    ).reset_index(drop=True)
