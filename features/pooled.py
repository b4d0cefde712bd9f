"""Inputs of the pooled escalation model: every region of every panel, all months at once.

Why a separate builder: :func:`features.build.build_features` gives one row per (region,
origin) for the regions of one forecast; a pooled model trained across all regions of all
panels needs the same kind of backward-looking quantities for *every* month of *every*
region (its training rows), plus what the per-region models never see: the region's
country total from sub-national rows and from the country-level source next to each other
(ACLED admin1 sums beside UCDP's country count), neighbours across borders, the total of
every region of the same level (the wider Sahel for admin1 panels) and every other series
in the panel (aid diversion, peacekeeper casualties, ACLED event-type counts when ingested
as series). Each quantity is a ``(month, region)`` array computed with shifts and rolling
windows over the whole matrix, so row ``t`` reads months ≤ ``t`` only (tested by rewriting
the months after ``t``).

Columns are on the log1p scale (counts are heavy-tailed); NaN means unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.registry import Registry
from features import spatial

SINCE_CAP = 60
"""Months-since features stop counting here (a region quiet for 5 years is simply quiet)."""


@dataclass(frozen=True)
class PooledInputs:
    """Everything the pooled model reads, on one month × region grid.

    Attributes:
        months: every month from the first observation to the origin.
        regions: every region with the target series, sorted.
        values: target counts ``(month, region)``, NaN where unobserved.
        thresholds: escalation threshold in force at each month ``(month, region)``.
        features: name → ``(month, region)`` float64 array; row t uses months ≤ t only.
        is_country: ``(region,)`` True for country-level regions.
    """

    months: pd.PeriodIndex
    regions: pd.Index
    values: np.ndarray
    thresholds: np.ndarray
    features: dict[str, np.ndarray]
    is_country: np.ndarray


def _wide(panel: pd.DataFrame, series: str, months: pd.PeriodIndex, regions: pd.Index):
    rows = panel[panel["series"] == series]
    wide = rows.pivot_table(index="month", columns="region", values="value", aggfunc="sum")
    return wide.reindex(index=months, columns=regions).to_numpy(dtype=np.float64)


def _rolling(values: np.ndarray, window: int, how: str) -> np.ndarray:
    """A trailing window statistic per column, needing half the window observed."""
    frame = pd.DataFrame(values).rolling(window, min_periods=max(1, window // 2))
    return getattr(frame, how)().to_numpy()


def _shift(values: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(values, np.nan)
    if k < len(values):
        out[k:] = values[: len(values) - k]
    return out


def months_since(flags: np.ndarray) -> np.ndarray:
    """Months since the last True at or before each month (capped at :data:`SINCE_CAP`)."""
    out = np.full(flags.shape, float(SINCE_CAP))
    count = np.full(flags.shape[1], float(SINCE_CAP))
    for t in range(len(flags)):  # a cumulative recurrence: one step per month, vectorised
        count = np.where(flags[t], 0.0, np.minimum(count + 1.0, SINCE_CAP))
        out[t] = count
    return out


def share_at_least(values: np.ndarray, limits: np.ndarray, window: int) -> np.ndarray:
    """Share of the last ``window`` observed months at or above the threshold of month t.

    With ``window = 12`` this is conflictology's own escalation probability at origin t —
    the benchmark the classifier must beat, given to it as an input.
    """
    hits = np.zeros(values.shape)
    seen = np.zeros(values.shape)
    for k in range(window):
        past = _shift(values, k)
        known = ~np.isnan(past)
        hits += known & (np.nan_to_num(past) >= limits)
        seen += known
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, hits / seen, np.nan)


def country_keys(regions: pd.Index, registry: Registry | None) -> tuple[np.ndarray, np.ndarray]:
    """(country key, is_country) per region, from the registry; a region it lacks is its own.

    Why: the same place is measured twice in a pooled panel (UCDP's country count and the
    sum of ACLED's admin1 rows), and each is a covariate of the other.
    """
    keys, is_country = [], []
    for region in regions:
        entry = registry.get(region) if registry is not None and region in registry else None
        level = entry.level if entry is not None else "country"
        keys.append((entry.iso3 or entry.parent or region) if entry is not None else region)
        is_country.append(level == "country")
    return np.asarray(keys, dtype=object), np.asarray(is_country, dtype=bool)


def _group_sum(values: np.ndarray, members: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per region: the sum over ``members`` regions sharing its key (NaN when none or unknown)."""
    out = np.full(values.shape, np.nan)
    for key in np.unique(keys):
        chosen = (keys == key) & members
        if chosen.any():
            block = values[:, chosen]
            total = np.where(np.isnan(block).all(axis=1), np.nan, np.nansum(block, axis=1))
            out[:, keys == key] = total[:, None]
    return out


def _add_history(features: dict[str, np.ndarray], prefix: str, x: np.ndarray) -> None:
    """Level and recent shape of one log1p quantity."""
    features[f"{prefix}_lag1"] = x
    features[f"{prefix}_mean3"] = _rolling(x, 3, "mean")
    features[f"{prefix}_mean12"] = _rolling(x, 12, "mean")


def pooled_inputs(
    panel: pd.DataFrame,
    series: str,
    origin: pd.Period,
    thresholds_of,
    registry: Registry | None = None,
) -> PooledInputs:
    """Build the pooled grid from a panel cut at ``origin``.

    Args:
        panel: long panel (``region, month, series, value``), months ≤ ``origin``.
        series: the target series.
        origin: the last month of the grid.
        thresholds_of: ``(month × region DataFrame) -> same-shape thresholds`` (the
            escalation rule, :func:`forecast.risk.threshold_matrix`, passed in so this layer
            does not import ``forecast``).
        registry: regions' levels, countries and neighbours (None: every region is its own
            country, no neighbours).
    """
    if len(panel) and panel["month"].max() > origin:
        raise ValueError(f"panel reaches {panel['month'].max()} past the origin {origin}")
    target_rows = panel[panel["series"] == series]
    if not len(target_rows):
        raise ValueError(f"the panel has no '{series}' rows")
    months = pd.period_range(target_rows["month"].min(), origin, freq="M")
    regions = pd.Index(sorted(target_rows["region"].unique()))
    values = _wide(panel, series, months, regions)
    limits = thresholds_of(pd.DataFrame(values, index=months, columns=regions)).to_numpy()
    x = np.log1p(values)
    features: dict[str, np.ndarray] = {}
    _add_history(features, "y", x)
    features["y_lag2"] = _shift(x, 1)
    features["y_lag3"] = _shift(x, 2)
    features["y_max12"] = _rolling(x, 12, "max")
    features["y_std12"] = _rolling(x, 12, "std")
    features["y_mean36"] = _rolling(x, 36, "mean")
    features["y_trend3_12"] = features["y_mean3"] - features["y_mean12"]
    features["thr_log"] = np.log1p(limits)
    features["thr_gap"] = x - np.log1p(limits)
    # a month "at escalation level": at or above the threshold in force the month before
    at_level = np.nan_to_num(values) >= np.vstack([np.full((1, len(regions)), np.inf), limits[:-1]])
    features["esc_share12"] = _rolling(at_level.astype(float), 12, "mean")
    features["since_esc"] = months_since(at_level)
    features["since_ge25"] = months_since(np.nan_to_num(values) >= 25)
    features["above_thr12"] = share_at_least(values, limits, 12)
    features["above_thr36"] = share_at_least(values, limits, 36)

    keys, is_country = country_keys(regions, registry)
    _add_history(features, "nat_sub", np.log1p(_group_sum(values, ~is_country, keys)))
    _add_history(features, "nat_cty", np.log1p(_group_sum(values, is_country, keys)))
    level_total = np.log1p(_group_sum(values, np.ones(len(regions), bool), is_country.astype(str)))
    _add_history(features, "level_total", level_total)
    links = spatial.adjacency(regions, registry)
    has = ~np.isnan(values).all(axis=0)
    features["nbr_lag1"] = spatial.neighbour_aggregate(x, has, links, "mean")
    features["nbr_mean3"] = spatial.neighbour_aggregate(features["y_mean3"], has, links, "mean")
    features["nbr_max_gap"] = _neighbour_max(features["thr_gap"], links)
    for other in sorted(set(panel["series"].unique()) - {series}):
        _add_history(features, f"s_{other}", np.log1p(_wide(panel, other, months, regions)))
    return PooledInputs(months, regions, values, limits, features, is_country)


def _neighbour_max(quantity: np.ndarray, links) -> np.ndarray:
    """Largest value over each region's neighbours (NaN without neighbours)."""
    out = np.full(quantity.shape, np.nan)
    dense = links.toarray() > 0
    for i in np.flatnonzero(dense.any(axis=1)):
        block = quantity[:, dense[i]]
        known = ~np.isnan(block).all(axis=1)
        out[known, i] = np.nanmax(block[known], axis=1)
    return out
