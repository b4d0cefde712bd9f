"""Time since the last month with at least ``k`` events (e.g. fatalities ≥ 25).

Conflict persists, so how long a place has been calm is one of the strongest predictors
(VIEWS's ``time since`` features). A month that is unknown does not reset the clock.
"""

from __future__ import annotations

import numpy as np


def months_since_at_least(values: np.ndarray, started: np.ndarray, k: float) -> np.ndarray:
    """Months since the last month with ``value >= k``, per region.

    Args:
        values: float matrix (months, regions), NaN for unknown months.
        started: bool matrix, True from each region's first known month on.
        k: the threshold.

    Returns:
        0 where the month itself reaches ``k``; where no month has reached it yet, the months
        since the series began (a lower bound); NaN before the series began.
    """
    rows = np.arange(len(values), dtype=float)[:, None]
    hit = np.nan_to_num(values, nan=-np.inf) >= k
    last_hit = np.maximum.accumulate(np.where(hit, rows, -1.0), axis=0)
    first_known = np.argmax(started, axis=0).astype(float)[None, :]
    since_start = rows - first_known
    out = np.where(last_hit >= 0, rows - last_hit, since_start)
    return np.where(started, out, np.nan)
