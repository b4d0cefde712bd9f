"""Lags: the value ``K - 1`` months before the origin (``lag1`` is the origin month itself).

Lags count back from the first month being forecast (origin + 1), the convention of
forecasting libraries, so the default ``[1, 2, 3, 6, 12]`` starts with the freshest value.
"""

from __future__ import annotations

import numpy as np


def lag(values: np.ndarray, k: int) -> np.ndarray:
    """``values`` shifted down by ``k - 1`` rows (months); the first rows become NaN.

    Args:
        values: float matrix (months, regions).
        k: lag, ≥ 1.
    """
    shift = k - 1
    out = np.full_like(values, np.nan, dtype=float)
    if shift < len(values):
        out[shift:] = values[: len(values) - shift]
    return out


def log1p_lag(values: np.ndarray, k: int) -> np.ndarray:
    """``log1p`` of :func:`lag`: counts are heavy-tailed, models often prefer this scale."""
    return np.log1p(lag(values, k))
