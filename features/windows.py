"""Rolling windows over the last ``W`` months (origin included) and growth between windows.

A window is NaN unless every one of its ``W`` months is known: a sum over a window with a
missing month would silently understate violence (the gap policy decides whether a missing
month is known).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def rolling(values: np.ndarray, window: int, stat: str) -> np.ndarray:
    """``stat`` (sum, mean, max, std with ddof=1) over the trailing ``window`` months.

    Args:
        values: float matrix (months, regions).
        window: months in the window, origin month included.
        stat: one of ``sum``, ``mean``, ``max``, ``std``.
    """
    if stat == "std" and window == 1:
        return np.full(values.shape, np.nan)  # a sample std of one value is undefined
    # Pad the first window - 1 months with NaN, view each month's trailing window (no copy),
    # reduce it: exact (no running-sum drift) and NaN whenever a month in it is unknown.
    padded = np.concatenate([np.full((window - 1, *values.shape[1:]), np.nan), values])
    trailing = sliding_window_view(padded, window, axis=0)  # (months, regions, window)
    if stat == "std":
        return trailing.std(axis=-1, ddof=1)
    return getattr(trailing, stat)(axis=-1)


def growth(values: np.ndarray, short: int, long: int) -> np.ndarray:
    """``log1p(mean of last short) - log1p(mean of last long)``.

    On the log1p scale so a rise from 0 to 5 and from 100 to 600 both read as escalation and
    quiet places give 0, not a division by zero.
    """
    return np.log1p(rolling(values, short, "mean")) - np.log1p(rolling(values, long, "mean"))
