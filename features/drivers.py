"""What stands out in a region now: the few interpretable inputs furthest from their usual.

The bulletin's "main drivers" must make sense to an analyst whatever model made the
forecast (the default ensemble has no coefficients to read). So a driver is an input the
models see — recent violence, its growth, violence next door, aid diversion, peacekeeper
casualties, known events — scored by how unusual its value at the origin is against the
region's own history up to the origin (a z-score). Nothing after the origin is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from data.registry import Registry
from features.build import build_features

CANDIDATES: tuple[str, ...] = (
    "{target}_roll3_sum",
    "{target}_growth3_6",
    "{target}_since_ge25",
    "nbr_{target}_roll3_sum",
    "aid_diversion_roll12_sum",
    "parent_peacekeeper_casualties_roll3_sum",
    "parent_peacekeeper_casualties_malicious_roll3_sum",
)
"""Interpretable feature columns considered as drivers (those the feature set builds)."""


def top_drivers(
    panel: pd.DataFrame,
    registry: Registry | None,
    origin: pd.Period,
    *,
    target: str = "fatalities",
    regions: Sequence[str] | None = None,
    top: int = 3,
) -> dict[str, list[tuple[str, float]]]:
    """The ``top`` most unusual inputs per region at ``origin``.

    Returns:
        region → ``[(label, value), …]``, most unusual first; the label names the feature
        and its z-score against the region's own history (e.g.
        ``"fatalities_roll3_sum (+2.1 sd)"``). Regions with too little history get none.
    """
    cut = panel[panel["month"] <= origin]
    matrix = build_features(cut, registry, target=target, regions=regions)
    columns = [c.format(target=target) for c in CANDIDATES]
    columns = [c for c in columns if c in matrix and matrix[c].notna().any()]
    drivers: dict[str, list[tuple[str, float]]] = {}
    for region, rows in matrix.groupby("region", sort=False):
        history = rows[columns]
        now = rows.loc[rows["origin"] == origin, columns]
        if now.empty:
            continue
        spread = history.std(ddof=0).replace(0.0, np.nan)
        z = ((now.iloc[0] - history.mean()) / spread).dropna()
        ranked = z.abs().sort_values(ascending=False).index[:top]
        drivers[str(region)] = [
            (f"{column} ({z[column]:+.1f} sd)", float(now.iloc[0][column])) for column in ranked
        ]
    return drivers
