"""Exponentially decayed past violence: ``sum_j y[t-j] * 2**(-j / half_life)``.

One number that remembers a massacre two years ago a little and last month's clashes a lot;
the half-life (months) says how fast memory fades.
"""

from __future__ import annotations

import numpy as np


def decayed_sum(values: np.ndarray, started: np.ndarray, half_life: float) -> np.ndarray:
    """Decayed sum along months (a causal first-order filter, all regions at once).

    Args:
        values: float matrix (months, regions); unknown months (NaN) add nothing.
        started: bool matrix, True from each region's first known month on.
        half_life: months after which a month's weight halves.

    Returns:
        Float matrix of the same shape, NaN before each series began.
    """
    keep = 2.0 ** (-1.0 / half_life)
    filled = np.nan_to_num(values, nan=0.0)
    if len(filled) == 0:
        return filled.astype(float)
    # Imported here: scipy.signal is 1.1 s of every `riskcast` start (python -X importtime),
    # and only a feature build needs it.
    from scipy.signal import lfilter

    out = lfilter([1.0], [1.0, -keep], filled, axis=0)
    return np.where(started, out, np.nan)
