"""Quantities of one series on the same region: the target's own history and cross-series
regressors (aid diversion, peacekeeper casualties as predictors of fatalities).

Columns are ``<series>_<quantity>`` (``fatalities_lag1``, ``aid_diversion_roll12_sum``).
"""

from __future__ import annotations

import numpy as np

from features.matrix import SeriesMatrix
from features.quantities import compute, parse_quantity


def series_quantities(matrix: SeriesMatrix, quantities: list[str]) -> dict[str, np.ndarray]:
    """Each quantity of one series, keyed by quantity name, (months × regions) each."""
    return {
        name: compute(parse_quantity(name), matrix.values, matrix.started) for name in quantities
    }


def prefixed(prefix: str, quantities: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Quantities renamed ``<prefix>_<quantity>``."""
    return {f"{prefix}_{name}": values for name, values in quantities.items()}
