"""Series across levels of the registry: inherited from the parent, summed from children.

Series come at different levels — peacekeeper casualties per country, fatalities per admin1.
A region inherits its parent's series under an explicit name (``parent_<series>_<quantity>``,
e.g. ``parent_peacekeeper_casualties_lag1``), and a region's children can be summed up to it
(``children_<series>_<quantity>``): the children's monthly sum is a series of the region and
the quantities are computed on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from data.registry import Registry
from features.matrix import SeriesMatrix
from features.spatial import per_region_sum


def parent_positions(regions: pd.Index, registry: Registry | None) -> np.ndarray:
    """For each region, the column of its parent in ``regions``, or -1 (none / not present)."""
    positions = np.full(len(regions), -1)
    if registry is None:
        return positions
    for i, region in enumerate(regions):
        parent = registry.parent(region) if region in registry else None
        if parent is not None:
            positions[i] = regions.get_loc(parent) if parent in regions else -1
    return positions


def from_parent(quantity: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Each region's column replaced by its parent's (NaN for regions without a parent)."""
    out = np.full_like(quantity, np.nan)
    has_parent = parents >= 0
    out[:, has_parent] = quantity[:, parents[has_parent]]
    return out


def child_links(regions: pd.Index, registry: Registry | None) -> sparse.csr_array:
    """Sparse 0/1 matrix (regions × regions), 1 where ``regions[j]``'s parent is ``regions[i]``."""
    positions = parent_positions(regions, registry)
    children = np.flatnonzero(positions >= 0)
    shape = (len(regions), len(regions))
    return sparse.csr_array((np.ones(len(children)), (positions[children], children)), shape=shape)


def children_sum(series: SeriesMatrix, links: sparse.csr_array) -> SeriesMatrix:
    """The monthly sum over each region's children, as a series of the region.

    A month is unknown when any child that has started reporting is unknown that month, or
    when no child has started; children that start later join the sum from their first row
    (a region carved out of another, like Ménaka from Gao).
    """
    started_children = per_region_sum(series.started.astype(float), links)
    unknown_children = per_region_sum(
        (series.started & np.isnan(series.values)).astype(float), links
    )
    total = per_region_sum(np.nan_to_num(series.values), links)
    known = (started_children > 0) & (unknown_children == 0)
    return SeriesMatrix(np.where(known, total, np.nan), started_children > 0)
