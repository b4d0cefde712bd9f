"""Build the design matrix: one row per (region, origin), only months ≤ origin in each row.

How: every series is scattered once into a wide month × region matrix (gap policy applied,
:mod:`features.matrix`); each builder is a backward-looking array operation over all months
at once (shift, rolling, cumulative max, a causal filter, a neighbour matrix product); the
rows of the requested origins are picked at the end. There is no loop per origin, and no
builder reads a later row, so a row for origin ``t`` is the same whether or not the panel goes
on after ``t`` (tests/features/test_leakage.py checks it with hypothesis).

Column naming scheme (stable; ``<q>`` is a quantity of :mod:`features.quantities`: ``lag1``,
``log1p_lag1``, ``roll3_sum``, ``growth3_6``, ``since_ge25``, ``decay_hl12`` …):

* ``region``, ``origin`` (``period[M]``) — the row key; ``lag1`` is the origin month's value.
* ``<target>_<q>`` — the target's own history: lags, log1p lags, rolling windows, growth,
  months since ≥ k, decayed sums (``fatalities_roll3_sum``).
* ``<series>_<q>`` — cross-series regressors on the same region (``aid_diversion_lag1``).
* ``nbr_<series>_<q>`` — the quantity over the region's neighbours (mean or sum).
* ``parent_<series>_<q>`` — the parent region's series (``parent_peacekeeper_casualties_lag1``).
* ``children_<series>_<q>`` — the sum of the region's children's series.
* ``event_<name>_<kind>`` — known events (``event_coup_decay``, ``event_minusma_indicator``).
* ``month_of_year`` — 1-12, of the origin.

Features are float64 (NaN = unknown: before a series starts, a window with an unknown month,
a series the panel lacks, no neighbour/parent/child); ``month_of_year`` is int64.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from data.registry import Registry
from features import events as event_builders
from features import hierarchy, season, spatial
from features.config import KNOWN_SERIES, FeatureConfig
from features.cross import prefixed, series_quantities
from features.matrix import SeriesMatrix, series_matrix
from riskcast.config import did_you_mean
from riskcast.errors import ConfigError, InputError
from riskcast.months import parse_month

logger = logging.getLogger(__name__)

_PANEL_COLUMNS = ("region", "month", "series", "value")


def _checked_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel's columns this layer needs, months as Periods; refuses what would corrupt it.

    Full validation is data.schema's job; this guards the preconditions the builders rely on
    (a duplicate would silently overwrite a month).
    """
    missing = [column for column in _PANEL_COLUMNS if column not in panel.columns]
    if missing:
        raise InputError(f"panel lacks column(s) {missing}", file="panel", field=missing[0])
    frame = panel.loc[:, list(_PANEL_COLUMNS)].copy()
    if not isinstance(frame["month"].dtype, pd.PeriodDtype):
        try:
            frame["month"] = pd.PeriodIndex(frame["month"].astype(str), freq="M")
        except (ValueError, TypeError) as exc:
            raise InputError(f"months are not YYYY-MM: {exc}", file="panel", field="month") from exc
    frame["month"] = frame["month"].astype("period[M]")
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    duplicated = frame.duplicated(["region", "month", "series"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise InputError(
            f"duplicate row for region {first['region']}, month {first['month']}, series "
            f"{first['series']}",
            file="panel",
            row=int(np.flatnonzero(duplicated.to_numpy())[0]) + 2,
            field="month",
        )
    return frame


def _check_series(config: FeatureConfig, target: str, present: set[str]) -> None:
    """Unknown series names are errors; known ones the panel lacks become NaN columns."""
    choices = sorted(present | set(KNOWN_SERIES))
    if target not in present:
        raise InputError(
            f"the panel has no rows of target series '{target}'"
            f"{did_you_mean(target, sorted(present))}",
            field="target",
        )
    for name in config.series_used(target):
        if name in present:
            continue
        if name not in KNOWN_SERIES:
            raise ConfigError(
                f"[features] unknown series '{name}': the panel has {sorted(present)}"
                f"{did_you_mean(name, choices)}"
            )
        _warn_once(name)


@functools.lru_cache(maxsize=64)
def _warn_once(series: str) -> None:
    """Say once per process (not once per backtest job) that a series' features are NaN."""
    logger.warning("series '%s' is not in the panel: its features are NaN", series)


def _origins(frame: pd.DataFrame, origins: Sequence[pd.Period | str] | None) -> pd.PeriodIndex:
    if origins is None:
        return pd.period_range(frame["month"].min(), frame["month"].max(), freq="M")
    parsed = sorted({parse_month(origin, field="origins") for origin in origins})
    if not parsed:
        raise InputError("no origin given", field="origins")
    return pd.PeriodIndex(parsed, freq="M")


def _regions(
    frame: pd.DataFrame, registry: Registry | None, target: str, regions: Sequence[str] | None
) -> list[str]:
    if regions is None:
        return sorted(frame.loc[frame["series"] == target, "region"].unique().tolist())
    known = set(frame["region"].unique().tolist()) | (
        set(registry.ids()) if registry is not None else set()
    )
    for region in regions:
        if region not in known:
            raise InputError(
                f"unknown region '{region}'{did_you_mean(region, sorted(known))}", field="regions"
            )
    return list(dict.fromkeys(regions))


def _matrices(
    frame: pd.DataFrame,
    names: list[str],
    axis: pd.PeriodIndex,
    columns: pd.Index,
    config: FeatureConfig,
) -> dict[str, SeriesMatrix]:
    by_series = dict(tuple(frame.groupby("series", sort=False)))
    return {
        name: series_matrix(by_series[name], axis, columns, config.gap_policy(name))
        if name in by_series
        else SeriesMatrix.empty(len(axis), len(columns))
        for name in names
    }


def _series_features(
    config: FeatureConfig,
    target: str,
    matrices: dict[str, SeriesMatrix],
    columns: pd.Index,
    registry: Registry | None,
    rows: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every panel-derived feature at the origin months ``rows`` of the axis, as an
    (origins × regions) matrix, in column order.

    Why cut to ``rows`` as soon as each quantity is built: the backward-looking operations
    need every month, but the neighbour, parent and event builders work month by month, so
    only the origin rows need to be kept — at 10,000 regions × 300 months, holding every
    feature for every month took 1.5 GB more than the result.
    """

    def quantities(matrix: SeriesMatrix, names: list[str]) -> dict[str, np.ndarray]:
        return {q: values[rows] for q, values in series_quantities(matrix, names).items()}

    features = prefixed(target, quantities(matrices[target], config.target_quantities()))
    for name in config.cross_series:
        if name != target:
            features |= prefixed(name, quantities(matrices[name], config.cross_quantities))
    if config.spatial:
        links = spatial.adjacency(columns, registry)
        for name in config.spatial_series:
            has_series = matrices[name].started.any(axis=0)
            for quantity, values in quantities(matrices[name], config.spatial_quantities).items():
                features[f"nbr_{name}_{quantity}"] = spatial.neighbour_aggregate(
                    values, has_series, links, config.spatial_aggregate
                )
    parents = hierarchy.parent_positions(columns, registry)
    for name in config.parent_series:
        own = quantities(matrices[name], config.parent_quantities)
        inherited = {q: hierarchy.from_parent(values, parents) for q, values in own.items()}
        features |= prefixed(f"parent_{name}", inherited)
    children = hierarchy.child_links(columns, registry)
    for name in config.children_series:
        summed = hierarchy.children_sum(matrices[name], children)
        features |= prefixed(f"children_{name}", quantities(summed, config.children_quantities))
    return features


def build_features(
    panel: pd.DataFrame,
    registry: Registry | None,
    config: FeatureConfig | None = None,
    *,
    target: str = "fatalities",
    origins: Sequence[pd.Period] | None = None,
    regions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The feature matrix as of each origin (naming scheme: module docstring).

    Args:
        panel: long panel (``region, month, series, value``; months monthly Periods).
        registry: regions with neighbours and parents; None → no spatial, parent or child
            values (those columns are NaN) and events apply to their exact region only.
        config: the feature set; None → ``[features]`` and ``[events]`` of the domain config.
        target: the series forecast; its own history gets the full set of quantities.
        origins: months to build rows for (Periods or ``YYYY-MM``); None → every month from
            the panel's first to its last. An origin past the data gives NaN features.
        regions: rows to build; None → every region with a row of ``target``, sorted.

    Returns:
        One row per (region, origin), sorted by region then origin.

    Raises:
        InputError: missing columns, duplicate rows, bad months, unknown region or target.
        ConfigError: a series in the config that is neither in the panel nor a known series
            (with a "did you mean"), an event on an unknown region.
    """
    config = config if config is not None else FeatureConfig()
    frame = _checked_panel(panel)
    if frame.empty:
        raise InputError("the panel is empty", file="panel")
    _check_series(config, target, set(frame["series"].unique().tolist()))
    origin_index = _origins(frame, origins)
    out_regions = _regions(frame, registry, target, regions)
    events = config.events.all_events() if config.known_events else ()
    panel_regions = set(frame["region"].unique().tolist())
    event_builders.check_event_regions(events, registry, panel_regions)

    start = min(frame["month"].min(), origin_index[0])
    axis = pd.period_range(start, origin_index[-1], freq="M")
    columns = pd.Index(sorted(panel_regions | set(out_regions)), dtype=object)
    matrices = _matrices(frame, config.series_used(target), axis, columns, config)
    month_rows = origin_index.asi8 - axis[0].ordinal
    features = _series_features(config, target, matrices, columns, registry, month_rows)
    del matrices
    features |= event_builders.event_features(events, axis[month_rows], columns, registry)
    logger.debug(
        "built %d features over %d months × %d regions", len(features), len(axis), len(columns)
    )
    return _feature_frame(features, origin_index, out_regions, columns, config.month_of_year)


def _feature_frame(
    features: dict[str, np.ndarray],
    origin_index: pd.PeriodIndex,
    out_regions: list[str],
    columns: pd.Index,
    month_of_year: bool,
) -> pd.DataFrame:
    """Rows (region, origin) sorted by region then origin, from (origins × regions) matrices.

    The features are written into one preallocated float64 block that the frame wraps
    without a copy (a frame built from a dict of columns copies them all once more).
    """
    region_cols = columns.get_indexer(out_regions)
    n_origins = len(origin_index)
    names = list(features)
    block = np.empty((n_origins * len(out_regions), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        block[:, j] = features.pop(name)[:, region_cols].T.reshape(-1)
    result = pd.DataFrame(block, columns=names, copy=False)
    result.insert(0, "region", np.repeat(np.asarray(out_regions, dtype=object), n_origins))
    result["region"] = result["region"].astype(str)
    result.insert(1, "origin", origin_index[np.tile(np.arange(n_origins), len(out_regions))])
    if month_of_year:
        result["month_of_year"] = np.tile(season.month_of_year(origin_index), len(out_regions))
    return result
