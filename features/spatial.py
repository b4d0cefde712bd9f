"""Spatial lags: a quantity aggregated over a region's neighbours (from the registry).

Violence spreads (Mopti → Ségou); a model that sees only a region's own past cannot see it
coming. ``nbr_<series>_<quantity>`` is the quantity computed per neighbour, then aggregated:

* ``mean`` — over the neighbours whose value is known; NaN when none is.
* ``sum`` — NaN unless every neighbour's value is known (a partial sum would understate).

Neighbours are the registry's, restricted to regions with rows of the series in the panel.
A region with no neighbours (an island, or no registry) gets NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from data.registry import Registry


def adjacency(regions: pd.Index, registry: Registry | None) -> sparse.csr_array:
    """Sparse 0/1 matrix (regions × regions), 1 where ``regions[j]`` borders ``regions[i]``.

    Sparse because borders are few (a region has ~4-8), and a sparse product sums each
    month's neighbours on their own, so no month's value depends on another month.
    """
    rows: list[int] = []
    cols: list[int] = []
    for i, region in enumerate(regions if registry is not None else []):
        if region in registry:
            positions = regions.get_indexer(list(registry.neighbours(region)))
            cols += positions[positions >= 0].tolist()
            rows += [i] * int((positions >= 0).sum())
    shape = (len(regions), len(regions))
    return sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=shape)


def per_region_sum(matrix: np.ndarray, links: sparse.csr_array) -> np.ndarray:
    """``out[:, i] = sum_j links[i, j] * matrix[:, j]`` for a (months × regions) matrix."""
    return np.asarray((links @ matrix.T).T, dtype=float)


def neighbour_aggregate(
    quantity: np.ndarray, has_series: np.ndarray, links: sparse.csr_array, how: str
) -> np.ndarray:
    """Aggregate a (months × regions) quantity over each region's neighbours.

    Args:
        quantity: float matrix (months, regions), NaN where unknown.
        has_series: bool vector (regions,): the region has rows of this series at all;
            neighbours without are ignored (not counted as unknown).
        links: adjacency from :func:`adjacency`.
        how: ``mean`` or ``sum``.
    """
    links = sparse.csr_array(links.multiply(has_series.astype(float)[None, :]))
    total = per_region_sum(np.nan_to_num(quantity), links)
    n_known = per_region_sum((~np.isnan(quantity)).astype(float), links)
    if how == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n_known > 0, total / n_known, np.nan)
    n_links = np.asarray(links.sum(axis=1)).reshape(1, -1)
    return np.where((n_links > 0) & (n_known == n_links), total, np.nan)
