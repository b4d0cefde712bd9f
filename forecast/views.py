"""Forecast draws in the VIEWS prediction-challenge layout, and back.

The challenge scores country-month submissions given as Parquet with exactly the columns
``month_id``, ``country_id``, ``draw`` and ``outcome`` (one row per month × country × draw;
``outcome`` ≥ 0, no NaN). riskcast's draws (``forecast.output.samples_frame``: ``region``,
``month``, ``draw``, ``value``) map to it through the VIEWS ids of
:mod:`data.sources.views_cm`: ``month_id`` counts from 1 = 1980-01 and ``country_id`` comes
from the challenge's ``country_key.csv`` by ISO3 code. Written this way, a riskcast forecast
can be scored next to every published challenge model with the challenge's own evaluation
code.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from data.sources.views_cm import CountryKey, month_id_of, month_of
from riskcast.errors import InputError

log = logging.getLogger(__name__)

VIEWS_COLUMNS = ("month_id", "country_id", "draw", "outcome")
SAMPLE_COLUMNS = ("region", "month", "draw", "value")


def to_views(
    samples: pd.DataFrame, key: CountryKey, *, active: set[int] | None = None
) -> pd.DataFrame:
    """riskcast draws as a VIEWS submission frame.

    Args:
        samples: long draws with ``region`` (ISO3), ``month`` (``YYYY-MM`` or Period),
            ``draw`` and ``value``; one series (VIEWS scores one outcome per file).
        key: the VIEWS country key.
        active: VIEWS ids in use, to choose between several ids of one ISO3 code.

    Returns:
        ``month_id, country_id, draw, outcome`` (int64, int64, int64, float64), sorted.

    Raises:
        InputError: a missing column, more than one series, a region without a VIEWS id.
    """
    missing = [c for c in SAMPLE_COLUMNS if c not in samples.columns]
    if missing:
        raise InputError(f"draws lack column(s) {missing}", field=missing[0])
    if "series" in samples and samples["series"].nunique() > 1:
        raise InputError(
            f"draws hold several series ({', '.join(sorted(samples['series'].unique()))}); "
            "a VIEWS file holds one outcome",
            field="series",
        )
    ids = key.country_ids(sorted(samples["region"].astype(str).unique()), active=active)
    frame = pd.DataFrame(
        {
            "month_id": month_id_of(samples["month"]),
            "country_id": samples["region"].astype(str).map(ids).astype("int64"),
            "draw": samples["draw"].astype("int64"),
            "outcome": samples["value"].astype("float64"),
        }
    )
    return frame.sort_values(["month_id", "country_id", "draw"]).reset_index(drop=True)


def from_views(frame: pd.DataFrame, key: CountryKey) -> pd.DataFrame:
    """A VIEWS submission frame back as riskcast draws (``region``, ``month``, ``draw``,
    ``value``): what a VIEWS model predicted, in riskcast's terms.

    Raises:
        InputError: a missing column or a country id the key cannot place.
    """
    frame = frame.reset_index() if frame.index.names != [None] else frame
    missing = [c for c in VIEWS_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"a VIEWS frame needs {list(VIEWS_COLUMNS)}", field=missing[0])
    unknown = ~frame["country_id"].isin(list(key.iso3_by_id))
    if unknown.any():
        raise InputError(
            f"country_id {frame.loc[unknown, 'country_id'].iloc[0]} has no ISO3 code in the key",
            file=key.path,
            field="country_id",
        )
    return pd.DataFrame(
        {
            "region": frame["country_id"].map(key.iso3_by_id),
            "month": month_of(frame["month_id"]),
            "draw": frame["draw"].astype("int64"),
            "value": frame["outcome"].astype("float64"),
        }
    )


def write_views_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write a VIEWS frame (no index, as the challenge's compliance check reads it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.loc[:, list(VIEWS_COLUMNS)].to_parquet(path, engine="pyarrow", index=False)
    log.info("wrote %d VIEWS rows to %s", len(frame), path)
    return path


def active_ids(path: Path) -> set[int]:
    """The ``country_id`` values of a VIEWS file (actuals or features), to pick between
    several ids of one ISO3 code."""
    from data.sources.views_cm import read_views_frame

    return set(pd.to_numeric(read_views_frame(path)["country_id"]).astype(int))
