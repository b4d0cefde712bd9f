"""The wide month × region matrix of one series, built once, with the gap policy applied.

Every builder works on these matrices, so all origins are computed at once: row ``i`` is
month ``axis[i]`` and each builder only ever looks at rows ``<= i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.config import GapPolicy


@dataclass(frozen=True)
class SeriesMatrix:
    """One series, wide.

    Attributes:
        values: float array (months, regions); NaN where the month is unknown.
        started: bool array, True from each region's first row of the series on.
    """

    values: np.ndarray
    started: np.ndarray

    @classmethod
    def empty(cls, n_months: int, n_regions: int) -> SeriesMatrix:
        """A series with no rows at all (every value unknown, nothing started)."""
        return cls(
            np.full((n_months, n_regions), np.nan), np.zeros((n_months, n_regions), dtype=bool)
        )


def series_matrix(
    rows: pd.DataFrame, axis: pd.PeriodIndex, regions: pd.Index, policy: GapPolicy
) -> SeriesMatrix:
    """Scatter one series' long rows into the (axis × regions) matrix and fill gaps.

    Args:
        rows: panel rows of one series (``region``, ``month``, ``value``), unique per
            (region, month); months after the axis end are ignored.
        axis: the consecutive months of the matrix (ends at the last origin).
        regions: column order.
        policy: ``nan`` leaves a missing month unknown; ``zero`` makes it 0; ``ffill`` carries
            the last known value forward. Months before a region's first row stay unknown
            under every policy.
    """
    values = np.full((len(axis), len(regions)), np.nan)
    if len(axis) and len(rows):
        month_pos = rows["month"].array.asi8 - axis[0].ordinal
        region_pos = regions.get_indexer(rows["region"])
        inside = (month_pos >= 0) & (month_pos < len(axis)) & (region_pos >= 0)
        values[month_pos[inside], region_pos[inside]] = rows["value"].to_numpy(float)[inside]
    started = np.logical_or.accumulate(~np.isnan(values), axis=0)
    if policy == "zero":
        values = np.where(started & np.isnan(values), 0.0, values)
    elif policy == "ffill":
        values = pd.DataFrame(values).ffill().to_numpy(dtype=float)
    return SeriesMatrix(values, started)
